"""The clinician's journey in a real browser: today's day sheet, an appointment, the session."""
import re
from datetime import timedelta

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.formatting import format_day
from tracker.services.clinic import clinic_today

from ..factories import make_patient, make_user
from .conftest import log_in
from .helpers import add_appointment, complete_series, local_instant, set_up_clinic


def test_clinician_records_session_from_day_sheet(journey, live_app):
    """A clinician opens today's day sheet, records an appointment's session, and sees the new
    window and the pain chart on the patient page."""
    page = journey.page
    with live_app.app_context():
        today = clinic_today()
        clinic = set_up_clinic()
        clinician = make_user(role="clinician", name="Dr Ada Okafor")
        patient = make_patient(first_name="Morgan", last_name="Ellery", mrn="MRN-CLIN-1")
        complete_series(patient, today - timedelta(days=40), pain_before=7, pain_after=3)
        add_appointment(patient, clinic["chairs"][0], clinic["maintenance"], local_instant(today, 9),
                        status="booked", clinician=clinician)
        db.session.commit()
        email = clinician.email

    log_in(page, email)
    expect(page.get_by_role("heading", name=f"Day sheet: {format_day(today)}")).to_be_visible()
    sheet = page.get_by_role("table", name="Chairs as columns, clinic time as rows")
    expect(sheet.get_by_role("columnheader", name="Chair 1")).to_be_visible()
    expect(sheet.get_by_text("Your session")).to_be_visible()
    journey.check("day sheet (today)")

    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Day sheet").get_attribute("aria-current") == "page"
    sheet.get_by_role("link", name="Morgan Ellery", exact=True).click()
    expect(page.get_by_role("heading", name="Appointment: Morgan Ellery")).to_be_visible()
    assert nav.get_by_role("link", name="Day sheet").get_attribute("aria-current") == "true"  # its area
    journey.check("appointment (booked)")

    page.get_by_role("link", name="Record the session").click()
    expect(page.get_by_role("heading", name="Record the session: Morgan Ellery")).to_be_visible()
    journey.check("record the session")
    assert page.get_by_label("Date and time (clinic time)").input_value().startswith(today.isoformat())
    page.get_by_label("Outcome").select_option(label="Completed")
    page.get_by_label("Weight (kg)").fill("72.5")
    page.get_by_label("Dose (mg/kg)").fill("0.5")
    page.get_by_label("Pain before (0-10)").fill("6")
    page.get_by_label("Pain after (0-10)").fill("2")
    page.get_by_label("Notes").fill("Tolerated well.")
    page.get_by_role("button", name="Save the session").click()
    expect(page.get_by_role("status").get_by_text("Session recorded; the appointment is completed.")).to_be_visible()
    expect(page.get_by_text("completed", exact=True)).to_be_visible()  # the status
    journey.check("appointment (completed)")

    page.get_by_role("link", name="Morgan Ellery").click()
    expect(page.get_by_role("heading", name="Morgan Ellery", exact=True)).to_be_visible()
    course = page.get_by_role("region", name="Overview")
    opens, closes = today + timedelta(days=30), today + timedelta(days=90)
    expect(course.get_by_text("Last maintenance infusion", exact=True)).to_be_visible()
    facts = course.get_by_role("definition")
    expect(facts.filter(has_text=format_day(today)).first).to_be_visible()  # the last maintenance infusion
    expect(facts.filter(has_text=format_day(opens))).to_have_count(1)
    expect(facts.filter(has_text=format_day(closes))).to_have_count(1)
    expect(course.get_by_role("img", name="Maintenance window timeline")).to_be_visible()
    infusions = page.get_by_role("table", name="Every session of this patient, newest first (clinic time)")
    expect(infusions.get_by_role("cell").filter(has_text=re.compile(r"× 72\.50? kg = 36\.25 mg"))).to_be_visible()
    pain = page.get_by_role("region", name="Sessions")
    expect(pain.get_by_role("img", name="Pain before and after each session")).to_be_visible()
    pain.get_by_text("Pain scores as a table").click()
    newest = pain.get_by_role("table").last.get_by_role("row").filter(has_text=format_day(today))
    assert [c.strip() for c in newest.get_by_role("cell").all_inner_texts()] == [format_day(today), "6", "2"]
    appointments = page.get_by_role("region", name="Appointments")
    expect(appointments.get_by_role("row").filter(has_text="Maintenance 40 min").get_by_role(
        "cell", name="completed")).to_be_visible()
    journey.check("patient page after the session")
    journey.finish("clinician-journey")
