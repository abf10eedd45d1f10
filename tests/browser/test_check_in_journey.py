"""Check-ins in Chromium, against a real SMTP server: on day 7 after a session the sweep sends
the check-in link, the patient answers the questions (no script needed), and the patient is on
the worklist as clinically due; a clinician accepts one entry (due now) and dismisses another
(a reason is required). Pages are checked by axe and photographed at 1366 and 390 px."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tracker.check_ins import service as check_ins
from tracker.extensions import db
from tracker.models import ClinicallyDue, OutcomeMeasure, utcnow
from tracker.services.clinic import clinic_today, get_settings

from ..check_in_fixtures import check_in_patient
from ..patient_link_fixtures import assert_no_clinical_words
from ..reminder_fixtures import SMTPServer
from .conftest import log_in
from .helpers import SHOT_SIZES as SIZES
from .helpers import shoot as shoot_sizes
from .helpers import wait_for

SHOTS = Path(os.environ.get("TRACKER_SHOTS_DIR", "/tmp/shots-checkin"))


@pytest.fixture
def smtp(live_app):
    """A real SMTP server; the live app sends through it."""
    server = SMTPServer().start()
    live_app.config.update(server.config())
    yield server
    server.stop()


def shoot(page, name: str) -> None:
    """Screenshots at 1366 and 390 px into SHOTS."""
    shoot_sizes(page, SHOTS, name)


def test_patient_checks_in_and_a_clinician_accepts_and_dismisses(
    journey, live_app, smtp, staff, playwright_browser
):
    """Day 7: the check-in email -> the questions -> an answer off the list is impossible, a
    blank form is a message -> answered (relief worn off) -> thank you; the clinician sees the
    patient as clinically due, accepts (due now); a second patient's entry is dismissed, first
    without a reason (a field error), then with one."""
    page = journey.page
    with live_app.app_context():
        settings = get_settings()
        settings.send_hours_start, settings.send_hours_end = 0, 24  # the sweep runs at any hour
        patient, course = check_in_patient(days_since_session=7, last_name="Vale")
        other, other_course = check_in_patient(
            days_since_session=12, first_name="Sam", last_name="Okafor", email_consent=False
        )
        check_ins.record_check_in(
            other,
            other_course,
            answers={},
            relief_worn_off="yes",
            visit_requested=False,
            now=utcnow(),
            today=clinic_today(),
        )
        db.session.commit()
        patient_id, address = patient.id, patient.email
    result = live_app.test_cli_runner().invoke(args=["reminders", "run"])
    assert result.exit_code == 0, result.output
    wait_for(lambda: len(smtp.messages) == 1, page)
    (message,) = smtp.messages
    assert message["To"] == address
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert_no_clinical_words(text)
    link = re.search(r"https?://\S+/my/check-in/\S+", text).group(0)

    page.goto(link)
    expect(page.get_by_role("heading", name="Hello Robin, how have you been?")).to_be_visible()
    assert "Vale" not in page.content()
    journey.check("check-in: questions")
    shoot(page, "check-in")
    page.get_by_role("button", name="Send my answers").click()
    expect(
        page.get_by_role("alert").filter(has_text="Please answer at least one question.")
    ).to_be_visible()
    journey.check("check-in: nothing answered")
    page.get_by_role("group", name=re.compile("^Pain right now")).get_by_label(
        "6", exact=True
    ).check()
    phq = page.get_by_role("group", name="Little interest or pleasure in doing things")
    phq.get_by_label("More than half the days").check()
    page.get_by_role("group", name="Has your relief worn off?").get_by_label("Yes").check()
    page.get_by_role("button", name="Send my answers").click()
    expect(
        page.get_by_role("status").filter(has_text="Thank you: your answers are with us")
    ).to_be_visible()
    journey.check("check-in: thank you")
    shoot(page, "check-in-thanks")
    with live_app.app_context():
        measures = db.session.scalars(
            select(OutcomeMeasure)
            .where(OutcomeMeasure.patient_id == patient_id)
            .order_by(OutcomeMeasure.instrument)
        ).all()
        assert [(m.instrument, m.complete, m.source) for m in measures] == [
            ("pain_nrs", True, "check_in_link"),
            ("phq9", False, "check_in_link"),
        ]

    clinician = playwright_browser.new_context(base_url=journey.origin, viewport=SIZES["wide"])
    staff_page = clinician.new_page()
    log_in(staff_page, *staff("clinician"))
    staff_page.goto("/worklist/")
    section = staff_page.locator("#clinically-due")
    vale = section.locator("tr", has=staff_page.get_by_role("link", name="Vale, Robin"))
    okafor = section.locator("tr", has=staff_page.get_by_role("link", name="Okafor, Sam"))
    expect(vale).to_contain_text("Says their relief has worn off")
    expect(okafor).to_contain_text("Waiting for a clinician")
    shoot(staff_page, "worklist-clinically-due")
    vale.get_by_role("button", name="Accept: Vale, Robin is due now").click()
    expect(
        staff_page.get_by_text("Robin Vale is due now, until their next session.")
    ).to_be_visible()
    expect(vale).to_contain_text("Due now")
    expect(vale.get_by_role("link", name="Book")).to_be_visible()
    okafor.get_by_role("link", name="Dismiss for Okafor, Sam").click()
    staff_page.get_by_role("button", name="Dismiss").click()
    expect(
        staff_page.get_by_role("alert").filter(has_text="Say why this entry is dismissed.").first
    ).to_be_visible()
    shoot(staff_page, "dismiss-error")
    staff_page.get_by_label("Why dismiss it?").fill(
        "Spoke to Sam: the booked visit is soon enough."
    )
    staff_page.get_by_role("button", name="Dismiss").click()
    expect(
        staff_page.get_by_text("Dismissed for Sam Okafor; their window is unchanged.")
    ).to_be_visible()
    expect(
        section.locator("tr", has=staff_page.get_by_role("link", name="Okafor, Sam"))
    ).to_have_count(0)
    staff_page.goto(f"/patients/{patient_id}")
    expect(staff_page.locator("#clinically-due")).to_contain_text("Due now")
    shoot(staff_page, "patient-page-clinically-due")
    with live_app.app_context():
        states = sorted(e.state for e in db.session.scalars(select(ClinicallyDue)))
        assert states == ["accepted", "dismissed"]
    clinician.close()
    journey.finish("check-in")


def test_admin_sets_the_check_in_schedule(journey, live_app, staff):
    """The settings page: a bad day is refused on its field; good values are saved."""
    page = journey.page
    log_in(page, *staff("admin"))
    page.goto("/admin/")
    page.get_by_role("link", name="Patient check-ins").click()
    expect(page.get_by_role("heading", name="Patient check-ins")).to_be_visible()
    journey.check("check-in settings")
    page.get_by_label("Days after each session").fill("7, 200")
    page.get_by_role("button", name="Save check-in settings").click()
    expect(page.get_by_text("Each day must be from 1 to 180.").first).to_be_visible()
    shoot(page, "check-in-settings-error")
    page.get_by_label("Send check-in links to patients who consented to email").check()
    page.get_by_label("Days after each session").fill("7, 14, 28")
    page.get_by_label("GAD-7 (anxiety)").check()
    page.get_by_role("button", name="Save check-in settings").click()
    expect(page.get_by_text("Check-in settings saved.")).to_be_visible()
    expect(page.get_by_label("Days after each session")).to_have_value("7, 14, 28")
    shoot(page, "check-in-settings")
    journey.finish("check-in-settings")
