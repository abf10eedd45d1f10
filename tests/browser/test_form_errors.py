"""Errors are announced next to their field: a screen reader hears which field and why."""
from datetime import timedelta

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.services.clinic import clinic_today

from ..factories import make_patient
from .conftest import log_in
from .helpers import add_appointment, complete_series, local_instant, set_up_clinic


def test_add_patient_errors_sit_on_their_fields(journey, staff):
    """An empty Add patient form marks each required field invalid, described by its error."""
    page = journey.page
    log_in(page, *staff("frontdesk"))
    page.goto("/patients/new")
    page.get_by_label("Email", exact=True).fill("not an address")
    page.get_by_role("button", name="Add patient").click()

    expect(page.get_by_role("alert").filter(has_text="Please correct the")).to_be_visible()
    for label, message in (("MRN", "Enter the MRN."), ("First name", "Enter the first name."),
                           ("Last name", "Enter the last name.")):
        control = page.get_by_label(label)
        expect(control).to_have_attribute("aria-invalid", "true")
        expect(control).to_have_accessible_description(message)
        expect(page.get_by_role("alert").filter(has_text=message).last).to_be_visible()  # the field's own, after the summary
    email = page.get_by_label("Email", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    assert "email" in email.evaluate(
        "el => document.getElementById(el.getAttribute('aria-describedby')).innerText").lower()
    date_of_birth = page.get_by_label("Date of birth")
    expect(date_of_birth).to_have_attribute("aria-invalid", "true")
    expect(date_of_birth).to_have_accessible_description("YYYY-MM-DD Enter the date of birth as YYYY-MM-DD.")
    journey.check("add patient with errors")


def test_cancel_without_reason_is_announced_on_the_reason(journey, staff, live_app):
    """Cancelling without a reason keeps the appointment and says so on the reason field."""
    page = journey.page
    with live_app.app_context():
        today = clinic_today()
        clinic = set_up_clinic()
        patient = make_patient(first_name="Sam", last_name="Okoro")
        complete_series(patient, today - timedelta(days=40))
        appointment = add_appointment(patient, clinic["chairs"][0], clinic["maintenance"],
                                      local_instant(today + timedelta(days=2), 9))
        db.session.commit()
        appointment_id = appointment.id
    log_in(page, *staff("frontdesk"))
    page.goto(f"/schedule/appointments/{appointment_id}")
    page.get_by_role("button", name="Cancel appointment").click()
    reason = page.get_by_label("Reason for cancelling")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description("Choose why the appointment is cancelled.")
    expect(page.get_by_role("button", name="Cancel appointment")).to_be_visible()
    journey.check("appointment with a cancel error")
