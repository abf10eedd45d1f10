"""A clinician's REMS monitoring form in a real browser: turn REMS forms on for the course, see
the session due on the REMS list, fill the form from the monitoring sheet (a refusal under 120
minutes first), mark it filed, and print it without its forms."""

import os
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.models import User, utcnow
from tracker.monitoring import service as monitoring
from tracker.rems import rules
from tracker.services import infusions as infusion_service
from tracker.services.clinic import clinic_today, get_settings
from tracker.services.courses import open_course_for

from ..factories import make_patient, make_user
from .conftest import log_in
from .helpers import complete_series

SHOTS = os.environ.get("TRACKER_SHOTS")  # a folder for screenshots, when a person wants to look


def _shots(page, name: str) -> None:
    """Full-page screenshots at 1366 and 390 px wide, when asked for."""
    if not SHOTS:
        return
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def _session(app) -> tuple[int, str, str]:
    """A session that began 130 minutes ago, its sheet holding a baseline, a reading at 42
    minutes and the discharge at 125 minutes: (patient id, nurse email, its deadline in words)."""
    with app.app_context():
        nurse = make_user(role="clinician", name="Dr Ines Moreau")
        patient = make_patient(first_name="Rafa", last_name="Quintero", mrn="MRN-REMS-1")
        complete_series(patient, clinic_today() - timedelta(days=40))
        began = (utcnow() - timedelta(minutes=130)).replace(second=0, microsecond=0)
        infusion = infusion_service.record_infusion(
            open_course_for(patient.id),
            actor="system",
            settings=get_settings(),
            today=clinic_today(),
            given_at=began,
        )
        ranges = monitoring.ranges_of(monitoring.get_monitoring_settings())
        for kind, minute, systolic, diastolic in (
            ("baseline", 0, 128, 82),
            ("interval", 42, 146, 92),
            ("discharge", 125, 124, 78),
        ):
            monitoring.record_reading(
                infusion,
                actor=nurse,
                kind=kind,
                taken_at=began + timedelta(minutes=minute),
                values={"bp_systolic": systolic, "bp_diastolic": diastolic},
                ranges=ranges,
            )
        monitoring.release(
            infusion,
            actor=nurse,
            ready_to_leave_at=None,
            released_at=began + timedelta(minutes=125),
            released_by=db.session.get(User, nurse.id),
            released_to="Sam Lee (partner)",
        )
        db.session.commit()
        zone = ZoneInfo(get_settings().timezone)
        return patient.id, nurse.email, rules.due_words(rules.due_on(began, zone), clinic_today())


def test_rems_form_from_the_sheet_due_on_the_list_filed_and_printed(journey, live_app):
    """REMS forms turned on from the patient page; the session is due on the REMS list; the form
    opens with the sheet's times and pressures; under 120 minutes is refused on the field; saved,
    then marked filed (day and who), it leaves the list; printed, only the answers remain."""
    patient_id, email, deadline = _session(live_app)
    page = journey.page
    log_in(page, email)
    page.goto(f"/patients/{patient_id}")
    page.locator("summary", has_text="Course actions").click()
    page.get_by_role("link", name="REMS forms…").click()
    page.get_by_role("button", name="Turn REMS forms on").click()
    expect(page.get_by_text("REMS forms turned on for this course.")).to_be_visible()
    journey.check("REMS course (on)")
    _shots(page, "rems-course")

    page.get_by_role("link", name="REMS forms", exact=True).first.click()
    expect(page.get_by_role("heading", name="REMS monitoring forms")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Rafa Quintero"))
    expect(row.get_by_text(deadline)).to_be_visible()
    expect(row.get_by_text("Not written")).to_be_visible()
    journey.check("REMS forms (due)")
    _shots(page, "rems-worklist")

    row.get_by_role("link", name=re.compile("^Fill in form")).click()
    expect(
        page.get_by_role("heading", name="REMS patient monitoring form: Rafa Quintero")
    ).to_be_visible()
    form = page.locator("form", has=page.get_by_role("button", name="Save REMS form"))
    expect(form.get_by_label("Systolic at about 40 minutes (mmHg)")).to_have_value("146")
    expect(
        page.get_by_text(re.compile("From the sheet: 146/92 at .*42 min after the start"))
    ).to_be_visible()
    expect(form.get_by_label("Systolic before dosing (mmHg)")).to_have_value("128")
    expect(form.get_by_label("Diastolic at the end of monitoring (mmHg)")).to_have_value("78")
    ended = form.get_by_label("Monitoring ended (clinic time)").input_value()
    started = form.get_by_label("Monitoring started (clinic time)").input_value()
    assert ended and started
    journey.check("REMS form (empty)")
    _shots(page, "rems-form-empty")

    form.get_by_label("Dose given (mg)").fill("56")
    form.get_by_label("Number of devices (28 mg each)").select_option("2")
    form.get_by_label("Lot number").fill("LOT-4471")
    for question, answer in (
        ("Sedation", "No"),
        ("Dissociation", "Yes"),
        ("Respiratory depression", "No"),
        ("Serious adverse event", "No"),
    ):
        form.get_by_role("group", name=question, exact=True).get_by_label(answer).check()
    # 90 minutes of monitoring: refused on the field, nothing saved
    early_end = datetime.strptime(started, "%Y-%m-%dT%H:%M") + timedelta(minutes=90)
    form.get_by_label("Monitoring ended (clinic time)").fill(early_end.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name="Save REMS form").click()
    expect(page.get_by_text(re.compile("Monitoring lasted 90 minutes")).first).to_be_visible()
    journey.check("REMS form (refused)")
    _shots(page, "rems-form-refused")

    form = page.locator("form", has=page.get_by_role("button", name="Save REMS form"))
    form.get_by_label("Monitoring ended (clinic time)").fill(ended)
    form.get_by_role("button", name="Save REMS form").click()
    expect(page.get_by_text("REMS form saved.")).to_be_visible()
    expect(page.get_by_text("LOT-4471")).to_be_visible()

    page.get_by_role("button", name="Mark filed").click()
    expect(page.get_by_text("Marked filed.")).to_be_visible()
    expect(page.get_by_text(re.compile("Filed on .* by Dr Ines Moreau"))).to_be_visible()
    journey.check("REMS form (filed)")
    _shots(page, "rems-form-filed")

    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.get_by_text("LOT-4471")).to_be_visible()
    expect(page.get_by_text("146 / 92 mmHg")).to_be_visible()
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "rems-form-print.png"), full_page=True)
    page.emulate_media(media="screen")

    page.goto("/rems")
    expect(page.get_by_text("Every REMS form is filed.")).to_be_visible()
    expect(page.get_by_text(re.compile("filed on .* by Dr Ines Moreau"))).to_be_visible()
    journey.finish("rems-form")
