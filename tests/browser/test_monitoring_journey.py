"""A clinician's monitoring sheet and outcome measure in a real browser: baseline, a flagged
interval reading, a refused reading, the discharge, the printed sheet; then a PHQ-9."""

import os
import re
from datetime import timedelta

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.models import utcnow
from tracker.services import infusions as infusion_service
from tracker.services.clinic import clinic_today, get_settings
from tracker.services.courses import open_course_for

from ..factories import make_patient, make_user
from .conftest import log_in
from .helpers import complete_series

SHOTS = os.environ.get("TRACKER_SHOTS")  # a folder for screenshots, when a person wants to look


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def _session(app) -> tuple[int, str, str]:
    """A maintenance patient whose session began 90 minutes ago: (patient id, start, nurse email)."""
    with app.app_context():
        nurse = make_user(role="clinician", name="Dr Ines Moreau")
        patient = make_patient(first_name="Rafa", last_name="Quintero", mrn="MRN-MON-1")
        complete_series(patient, clinic_today() - timedelta(days=40))
        began = (utcnow() - timedelta(minutes=90)).replace(second=0, microsecond=0)
        infusion_service.record_infusion(
            open_course_for(patient.id),
            actor="system",
            settings=get_settings(),
            today=clinic_today(),
            given_at=began,
        )
        db.session.commit()
        from zoneinfo import ZoneInfo

        local = began.astimezone(ZoneInfo(get_settings().timezone)).replace(tzinfo=None)
        return patient.id, local.strftime("%Y-%m-%dT%H:%M"), nurse.email


def _plus(start: str, minutes: int) -> str:
    from datetime import datetime

    return (datetime.strptime(start, "%Y-%m-%dT%H:%M") + timedelta(minutes=minutes)).strftime(
        "%Y-%m-%dT%H:%M"
    )


def test_monitoring_sheet_baseline_flagged_reading_discharge_and_print(journey, live_app):
    """From the patient page a clinician opens today's sheet, records the baseline and a reading
    the clinic's ranges flag (said in words), is refused a reading before the start and an SpO2
    over 100 (nothing saved), records the discharge, and prints the sheet without its forms."""
    patient_id, start, email = _session(live_app)
    page = journey.page
    log_in(page, email)
    page.goto(f"/patients/{patient_id}")
    sessions = page.get_by_role(
        "table", name="Every session of this patient, newest first (clinic time)"
    )
    sessions.get_by_role("link", name=re.compile("^Monitoring sheet of the session")).first.click()
    expect(page.get_by_role("heading", name="Monitoring sheet: Rafa Quintero")).to_be_visible()
    expect(page.get_by_text("Start with the baseline reading.")).to_be_visible()
    journey.check("monitoring sheet (empty)")

    form = page.locator("form", has=page.get_by_role("button", name="Save reading"))
    expect(form.get_by_label("Reading")).to_have_value("baseline")
    form.get_by_label("Time taken (clinic time)").fill(start)
    form.get_by_label("Systolic blood pressure (mmHg)").fill("126")
    form.get_by_label("Diastolic blood pressure (mmHg)").fill("80")
    form.get_by_label("Heart rate (bpm)").fill("74")
    form.get_by_label("SpO2 (%)").fill("98")
    form.get_by_label("Sedation (MOAA/S)").fill("5")
    form.get_by_role("button", name="Save reading").click()
    expect(page.get_by_role("status").get_by_text("Reading saved.")).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"^An interval reading was due at \d"))
    ).to_be_visible()  # 75 min ago

    form = page.locator("form", has=page.get_by_role("button", name="Save reading"))
    expect(form.get_by_label("Reading")).to_have_value("interval")
    form.get_by_label("Time taken (clinic time)").fill(_plus(start, -10))
    form.get_by_label("Heart rate (bpm)").fill("80")
    form.get_by_role("button", name="Save reading").click()
    expect(
        page.get_by_role("alert").filter(has_text="before the session started").first
    ).to_be_visible()
    form = page.locator("form", has=page.get_by_role("button", name="Save reading"))
    form.get_by_label("Time taken (clinic time)").fill(_plus(start, 15))
    form.get_by_label("SpO2 (%)").fill("101")
    form.get_by_role("button", name="Save reading").click()
    expect(page.get_by_text("Enter a number from 50 to 100.").first).to_be_visible()
    expect(page.get_by_label("Heart rate (bpm)")).to_have_value("80")  # what was typed is kept
    journey.check("monitoring sheet (refused reading)")

    form = page.locator("form", has=page.get_by_role("button", name="Save reading"))
    form.get_by_label("SpO2 (%)").fill("95")
    form.get_by_label("Systolic blood pressure (mmHg)").fill("174")
    form.get_by_label("Diastolic blood pressure (mmHg)").fill("98")
    form.get_by_label("Dissociation (CADSS-6)").fill("9")
    form.get_by_label("Notes").fill("Feels floaty, calm")
    form.get_by_role("button", name="Save reading").click()
    expect(
        page.get_by_text("Reading saved. Flagged: Systolic blood pressure high.")
    ).to_be_visible()
    readings = page.get_by_role("table", name=re.compile("^Readings of this session"))
    interval = readings.get_by_role("row").filter(has_text="Interval")
    expect(interval.get_by_role("cell", name="174 High / 98")).to_be_visible()
    expect(interval.get_by_role("cell", name="Systolic blood pressure high")).to_be_visible()
    expect(readings.get_by_role("row")).to_have_count(
        3
    )  # the header, baseline, interval: nothing else saved

    form = page.locator("form", has=page.get_by_role("button", name="Save reading"))
    form.get_by_label("Reading").select_option(label="Discharge")
    form.get_by_label("Time taken (clinic time)").fill(_plus(start, 75))
    form.get_by_label("Systolic blood pressure (mmHg)").fill("130")
    form.get_by_label("Diastolic blood pressure (mmHg)").fill("82")
    form.get_by_role("button", name="Save reading").click()
    expect(page.get_by_role("status").get_by_text("Reading saved.")).to_be_visible()

    release = page.locator("form", has=page.get_by_role("button", name="Record discharge"))
    release.get_by_label("Ready to leave (clinic time)").fill(_plus(start, 78))
    release.get_by_label("Discharged (clinic time)").fill(_plus(start, 80))
    assert release.get_by_label("Released by").input_value() != ""
    release.get_by_label("Left with").fill("Marta Quintero (sister)")
    release.get_by_role("button", name="Record discharge").click()
    expect(page.get_by_role("status").get_by_text("Discharge recorded.")).to_be_visible()
    facts = page.get_by_role("region", name="Session")
    expect(facts.get_by_text("Marta Quintero (sister)")).to_be_visible()
    expect(facts.get_by_text("Dr Ines Moreau")).to_be_visible()
    expect(facts.get_by_text("(80 minutes of monitoring)")).to_be_visible()
    journey.check("monitoring sheet (discharged)")
    _shot(page, "sheet-1366")

    page.emulate_media(media="print")
    expect(readings).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    assert [b.inner_text() for b in page.get_by_role("button").all() if b.is_visible()] == []
    expect(page.get_by_label("Time taken (clinic time)")).to_be_hidden()
    expect(
        page.get_by_text("Systolic blood pressure: low below 90, high above 160")
    ).to_be_visible()
    assert page.pdf(format="A4").startswith(b"%PDF")
    page.emulate_media(media="screen")
    page.goto(f"/patients/{patient_id}")
    expect(page.get_by_text("3 readings, 1 flagged; discharged")).to_be_visible()
    journey.finish("monitoring-sheet")


def test_clinician_records_a_phq9_and_sees_it_charted(journey, live_app):
    """A clinician records a PHQ-9 from the patient page; the page charts it by date with the
    band, and the table says the same in words."""
    patient_id, _, email = _session(live_app)
    page = journey.page
    log_in(page, email)
    page.goto(f"/patients/{patient_id}")
    outcomes = page.get_by_role("region", name="Outcomes")
    expect(outcomes.get_by_text("No outcome measures recorded.")).to_be_visible()
    outcomes.get_by_role("link", name="PHQ-9").click()
    expect(
        page.get_by_role("heading", name="Record PHQ-9 (depression): Rafa Quintero")
    ).to_be_visible()
    journey.check("record a PHQ-9")
    answers = ["2: More than half the days"] * 5 + ["1: Several days"] * 3 + ["0: Not at all"]
    for number, answer in enumerate(answers, start=1):
        page.get_by_label(re.compile(rf"^{number}\. ")).select_option(label=answer)
    page.get_by_role("button", name="Save PHQ-9").click()
    expect(page.get_by_text("PHQ-9 (depression) saved: score 13 (Moderate).")).to_be_visible()
    outcomes = page.get_by_role("region", name="Outcomes")
    expect(outcomes.get_by_role("img", name="PHQ-9 (depression) scores over time")).to_be_visible()
    outcomes.get_by_text("PHQ-9 scores as a table").click()
    row = outcomes.get_by_role("table").get_by_role("row").nth(1)
    assert [c.strip() for c in row.get_by_role("cell").all_inner_texts()][1:4] == [
        "13 of 27",
        "Moderate",
        "Asked in the clinic",
    ]
    journey.check("patient page with a PHQ-9")
    _shot(page, "patient-outcomes-1366")
    journey.finish("phq9")
