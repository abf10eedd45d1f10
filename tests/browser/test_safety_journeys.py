"""Nothing lost to a slip, patients told of a closed day, duplicates caught, sessions carried
forward: each in a real browser, every new page checked by axe and screenshotted at two sizes."""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from tracker.extensions import db
from tracker.formatting import format_day
from tracker.models import Infusion, Reminder
from tracker.reminders.sending import run_sweep
from tracker.services import infusions as infusion_service
from tracker.services.clinic import clinic_today, get_settings

from ..factories import make_patient
from ..reminder_fixtures import SMTPServer
from .conftest import log_in
from .helpers import add_appointment, complete_series, local_instant, set_up_clinic

SHOTS = Path("/tmp/safety_shots")
SIZES = ((1366, 900), (390, 844))


def look(journey, label: str, name: str):
    """axe-core finds nothing at all on the page; screenshots at 1366x900 and 390x844 under /tmp."""
    found = journey.check(label)
    assert found.rules == [], found.line()
    SHOTS.mkdir(exist_ok=True)
    page = journey.page
    original = page.viewport_size
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(original)


def facts(page) -> dict:
    """The patient page's course facts as {term: definition}."""
    course = page.locator("dl.course-facts")
    terms = course.locator("dt").all_inner_texts()
    values = course.locator("dd").all_inner_texts()
    return {t.strip(): v.strip() for t, v in zip(terms, values, strict=True)}


def open_course_actions(page) -> None:
    """Open the patient page's course actions (a disclosure, closed when the page opens)."""
    page.get_by_text("Course actions: interval, mode, hold, discharge").click()


def test_infusion_entered_in_error_keeps_the_row_and_restores_the_window(journey, staff, live_app):
    """A clinician marks a booster entered in error: a confirmation page asks for the reason, the
    row stays struck through with it, and the window returns to the one before the booster."""
    page = journey.page
    with live_app.app_context():
        today = clinic_today()
        patient = make_patient(first_name="Rowan", last_name="Achebe", mrn="MRN-ERR-1")
        first = today - timedelta(days=60)
        complete_series(patient, first)
        booster_day = today - timedelta(days=10)
        course = patient.courses[0]
        infusion_service.record_infusion(
            course,
            actor="system",
            settings=get_settings(),
            today=today,
            given_at=local_instant(booster_day, 10),
            weight_kg=Decimal("70"),
            dose_mg_per_kg=Decimal("0.5"),
        )
        db.session.commit()
        patient_id = patient.id
    email, password = staff("clinician")
    log_in(page, email, password)
    page.goto(f"/patients/{patient_id}")
    assert facts(page)["Window opens"] == format_day(booster_day + timedelta(days=30))
    page.get_by_role(
        "link", name=f"Mark the session of {format_day(booster_day)} entered in error"
    ).click()
    expect(page.get_by_role("heading", name="Mark an infusion entered in error")).to_be_visible()
    look(journey, "infusion entered in error: confirm", "infusion-in-error")
    page.get_by_role("button", name="Mark entered in error").click()
    expect(page.get_by_text("Say why this was entered in error.").first).to_be_visible()
    look(journey, "infusion entered in error: no reason", "infusion-in-error-refused")
    page.get_by_label("Why was this entered in error?").fill("Recorded on the wrong patient")
    page.get_by_role("button", name="Mark entered in error").click()
    expect(
        page.get_by_role("status").get_by_text(re.compile("^Marked as entered in error"))
    ).to_be_visible()
    assert facts(page)["Window opens"] == format_day(first + timedelta(days=30))
    table = page.get_by_role("table", name=re.compile("^Every session of this patient"))
    struck = table.locator("tr.in-error")
    expect(struck).to_have_count(1)
    expect(struck).to_contain_text(format_day(booster_day))
    assert "Entered in error: Recorded on the wrong patient" in struck.inner_text()
    assert (
        struck.locator("td").first.evaluate("td => getComputedStyle(td).textDecorationLine")
        == "line-through"
    )
    with live_app.app_context():
        assert (
            db.session.scalar(select(Infusion.id).where(Infusion.entered_in_error_at.is_not(None)))
            is not None
        )
    look(journey, "patient page with an infusion in error", "patient-after-error")
    journey.finish("infusion-in-error")


def test_discharge_is_confirmed_on_its_own_page(journey, staff, live_app):
    """Discharge opens a confirmation page with the reason; keeping the course changes nothing."""
    page = journey.page
    with live_app.app_context():
        patient = make_patient(first_name="Noor", last_name="Haddad", mrn="MRN-DIS-1")
        complete_series(patient, clinic_today() - timedelta(days=20))
        db.session.commit()
        patient_id = patient.id
    email, password = staff("clinician")
    log_in(page, email, password)
    page.goto(f"/patients/{patient_id}")
    open_course_actions(page)
    page.get_by_role("link", name="Discharge…").click()
    expect(page.get_by_role("heading", name="Discharge Noor Haddad?")).to_be_visible()
    look(journey, "discharge: confirm", "discharge")
    page.get_by_role("link", name="Keep the course open").click()
    assert "Status" in facts(page)
    open_course_actions(page)
    page.get_by_role("link", name="Discharge…").click()
    page.get_by_label("Reason for discharge").fill("Moved away")
    page.get_by_role("button", name="Discharge").click()
    expect(page.get_by_role("status").get_by_text(re.compile("^Discharged"))).to_be_visible()
    expect(page.get_by_role("table", name="Earlier courses")).to_be_visible()
    journey.finish("discharge")


def test_closing_a_booked_day_lists_and_notifies(journey, staff, live_app):
    """An admin closes a day holding two visits: the page lists them with a reschedule action each;
    cancelling them with 'email' ticked sends the consenting patient one cancellation (METHOD:CANCEL)
    through a real SMTP server; the day sheet says the day is closed."""
    page = journey.page
    smtp = SMTPServer().start()
    try:
        live_app.config.update(smtp.config())
        with live_app.app_context():
            clinic = set_up_clinic()
            day = clinic_today() + timedelta(days=5)
            told = make_patient(first_name="Ines", last_name="Moreau", mrn="MRN-CL-1")
            quiet = make_patient(
                first_name="Tom", last_name="Becker", mrn="MRN-CL-2", email_consent=False
            )
            first = add_appointment(
                told, clinic["chairs"][0], clinic["maintenance"], local_instant(day, 9)
            )
            add_appointment(
                quiet, clinic["chairs"][1], clinic["maintenance"], local_instant(day, 11)
            )
            db.session.commit()
            uid = first.uid
            settings = get_settings()
            settings.send_hours_start, settings.send_hours_end = 0, 24  # whatever hour CI runs at
            db.session.commit()
        email, password = staff("admin")
        log_in(page, email, password)
        page.goto("/schedule/closed-dates")
        page.get_by_label("Date").fill(day.isoformat())
        page.get_by_label("Reason (e.g. public holiday)").fill("Burst pipe")
        page.get_by_role("button", name="Close on this date").click()
        expect(page.get_by_text("2 visits are still booked that day.")).to_be_visible()
        visits = page.get_by_role("table", name="Visits still booked on the closed day")
        expect(visits.get_by_role("link", name=re.compile("^Reschedule "))).to_have_count(2)
        expect(
            page.get_by_label("Email each patient that their visit is cancelled")
        ).to_be_checked()
        look(journey, "closed day with visits", "closed-day")
        page.goto(f"/schedule/day?date={day.isoformat()}")
        closed_note = page.locator("p.closed-day")
        expect(closed_note).to_be_visible()
        assert " ".join(closed_note.inner_text().split()) == (
            "Closed: Burst pipe. 2 visits are still booked: move or cancel them."
        )
        page.get_by_role("link", name="move or cancel them").click()
        page.get_by_role("button", name="Cancel 2 visits (clinic closed)").click()
        expect(
            page.get_by_role("status").get_by_text(
                "Cancelled 2 visits. A cancellation email goes to 1 of them. The others cannot be emailed "
                "(no consent or no address): call them."
            )
        ).to_be_visible()
        expect(page.get_by_text("No visits are booked that day.")).to_be_visible()
        look(journey, "closed day, visits cancelled", "closed-day-done")
        with live_app.app_context():
            assert run_sweep(manual=True).sent == 1
            assert run_sweep(manual=True).sent == 0
            kinds = db.session.scalars(select(Reminder.kind).where(Reminder.status == "sent")).all()
            assert kinds == ["visit_cancelled"]
        (message,) = smtp.messages
        assert (
            message["To"].startswith("patient") and "Cancelled: your visit on" in message["Subject"]
        )
        (ics,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        calendar = Calendar.from_ical(ics.get_content())
        event = calendar.walk("VEVENT")[0]
        assert (
            calendar["METHOD"] == "CANCEL"
            and str(event["UID"]) == uid
            and event["STATUS"] == "CANCELLED"
        )
        journey.finish("closed-day")
    finally:
        smtp.stop()


def test_possible_duplicate_patient_is_flagged(journey, staff, live_app):
    """Adding a patient with the same name and date of birth as one on file shows a warning with a
    link to that record; only a deliberate 'add anyway' adds the second one."""
    page = journey.page
    with live_app.app_context():
        existing = make_patient(
            first_name="Casey",
            last_name="Nguyen",
            mrn="MRN-DUP-1",
            date_of_birth=clinic_today().replace(year=1984, month=7, day=9),
        )
        db.session.commit()
        existing_id = existing.id
    email, password = staff("frontdesk")
    log_in(page, email, password)
    page.goto("/patients/new")
    page.get_by_label("MRN").fill("MRN-DUP-2")
    page.get_by_label("First name").fill("casey")
    page.get_by_label("Last name").fill("Nguyen")
    page.get_by_label("Date of birth").fill("1984-07-09")
    page.get_by_label("Phone").fill("555-0142")
    page.get_by_role("button", name="Add patient").click()
    warning = page.get_by_role("alert").filter(has_text="This may be a patient already on file")
    expect(warning).to_be_visible()
    assert (
        warning.get_by_role("link", name="Casey Nguyen").get_attribute("href")
        == f"/patients/{existing_id}"
    )
    look(journey, "add patient: possible duplicate", "duplicate-warning")
    page.get_by_label("Add anyway: this is a different person").check()
    page.get_by_role("button", name="Add patient").click()
    expect(page.get_by_role("status").get_by_text("Patient added.")).to_be_visible()
    expect(page.get_by_role("heading", name="casey Nguyen")).to_be_visible()
    journey.finish("duplicate")


def test_session_form_carries_forward_and_helps(journey, staff, live_app):
    """The session form opens with the last weight and dose, shows the total as it is typed, warns
    of a large dose change, shows 'counts toward the series' only for a session stopped early,
    and after saving shows the new window. (Vitals are on the monitoring sheet, whose refusals
    test_monitoring_journey.py covers.)"""
    page = journey.page
    with live_app.app_context():
        today = clinic_today()
        patient = make_patient(first_name="Sam", last_name="Okoro", mrn="MRN-SES-1")
        complete_series(patient, today - timedelta(days=45))  # 70 kg, 0.5 mg/kg
        db.session.commit()
        patient_id = patient.id
    email, password = staff("clinician")
    log_in(page, email, password)
    page.goto(f"/patients/{patient_id}")
    page.get_by_role("link", name="Record session").click()
    expect(page.get_by_label("Weight (kg)")).to_have_value("70.00")
    expect(page.get_by_label("Dose (mg/kg)")).to_have_value("0.500")
    total = page.locator("#total-mg")
    expect(total).to_have_text("35.00 mg")  # written by the deferred script: wait for it
    counts = page.get_by_label("Stopped early, but counts toward the series")
    expect(counts).to_be_hidden()
    page.get_by_label("Outcome").select_option(label="Stopped early")
    expect(counts).to_be_visible()
    page.get_by_label("Outcome").select_option(label="Completed")
    page.get_by_label("Dose (mg/kg)").fill("0.8")
    expect(total).to_have_text("56.00 mg")
    warning = page.locator("#dose-change-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("differs from the last (0.5 mg/kg) by 60%")
    look(journey, "session form: carried forward, dose warning", "session-form")
    page.get_by_role("button", name="Save infusion").click()
    opens = today + timedelta(days=30)
    shown = page.get_by_role("status").get_by_text(
        re.compile(r"^Infusion recorded\. Total dose 56\.00 mg\. Next window: ")
    )
    expect(shown).to_be_visible()
    expect(shown).to_contain_text(f"{opens:%a} {opens.day} {opens:%b %Y}")
    expect(
        page.get_by_role("status").get_by_text(re.compile("^Check the dose: 0.800 mg/kg"))
    ).to_be_visible()
    journey.finish("session-form")
