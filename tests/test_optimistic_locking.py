"""Two staff on one record: the second save from a page opened before the first is refused (409),
told what changed, and nothing is overwritten; saving again after checking goes through."""

import re
from datetime import date

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from tracker.extensions import db
from tracker.models import Appointment, Course, Infusion, Patient
from tracker.saving import commit, refused_status
from tracker.services.clinic import get_settings
from tracker.services.infusions import record_infusion

from .conftest import login
from .factories import local_noon, make_course, make_patient, make_user
from .schedule_fixtures import add_appointment, at, frozen_clock, maintenance_patient, setup_clinic  # noqa: F401

TODAY = date(2026, 11, 26)
STALE = "Someone else changed this"


@pytest.fixture(autouse=True)
def frozen_today(freeze_clock):
    """The clinic's today is fixed for every test here (the clock stops at its noon)."""
    freeze_clock(local_noon(TODAY))


def _version(html: str, name: str = "version") -> str:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html).group(0)
    return re.search(r'value="(\d+)"', tag).group(1)


def _two_staff(app, role="frontdesk"):
    """Two logged-in browsers of two staff members of one role."""
    clients = []
    for _ in range(2):
        with app.app_context():
            user = make_user(role=role)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        client = app.test_client()
        login(client, user)
        clients.append(client)
    return clients


PATIENT = {
    "mrn": "L-1",
    "first_name": "Ada",
    "last_name": "Moss",
    "date_of_birth": "1970-01-02",
    "email": "ada@example.org",
    "phone": "555-0101",
    "email_consent": "y",
}


def test_a_stale_patient_form_is_refused_and_shows_what_was_saved(app):
    """B opened the form before A saved a new email; B's phone change is refused with 409 and
    the email A saved is shown on its field; after checking, B saves and both changes stand."""
    with app.app_context():
        patient_id = make_patient(
            **{**PATIENT, "date_of_birth": date(1970, 1, 2), "email_consent": True}
        ).id
        db.session.commit()
    a, b = _two_staff(app)
    version_a = _version(a.get(f"/patients/{patient_id}/edit").text)
    version_b = _version(b.get(f"/patients/{patient_id}/edit").text)
    saved = a.post(
        f"/patients/{patient_id}/edit",
        data={**PATIENT, "email": "ada.new@example.org", "version": version_a},
    )
    assert saved.status_code == 303
    refused = b.post(
        f"/patients/{patient_id}/edit", data={**PATIENT, "phone": "555-0199", "version": version_b}
    )
    assert refused.status_code == 409
    assert (
        f"{STALE} patient" in refused.text
        and "Saved meanwhile: ada.new@example.org." in refused.text
    )
    with app.app_context():
        stored = db.session.get(Patient, patient_id)
        assert (stored.email, stored.phone) == ("ada.new@example.org", "555-0101")
    again = b.post(
        f"/patients/{patient_id}/edit",
        data={
            **PATIENT,
            "email": "ada.new@example.org",
            "phone": "555-0199",
            "version": _version(refused.text),
        },
    )
    assert again.status_code == 303
    with app.app_context():
        stored = db.session.get(Patient, patient_id)
        assert (stored.email, stored.phone, stored.version) == (
            "ada.new@example.org",
            "555-0199",
            3,
        )


def test_a_stale_course_action_is_refused(app):
    """A clinician's interval change from a page opened before a colleague held the course: 409,
    the interval stays, the page says why."""
    with app.app_context():
        patient = make_patient()
        course = make_course(patient, series_planned=1, opened_on=date(2026, 3, 1))
        record_infusion(
            course,
            actor="test",
            settings=get_settings(),
            today=TODAY,
            given_at=local_noon(date(2026, 3, 2)),
        )
        db.session.commit()
        patient_id, course_id = patient.id, course.id
    a, b = _two_staff(app, role="clinician")
    page_b = b.get(f"/patients/{patient_id}").text
    held = a.post(
        f"/patients/{patient_id}/courses/{course_id}/hold",
        data={
            "hold-reason": "Travelling",
            "hold-version": _version(a.get(f"/patients/{patient_id}").text, "hold-version"),
        },
    )
    assert held.status_code == 303
    refused = b.post(
        f"/patients/{patient_id}/courses/{course_id}/interval",
        data={
            "interval-min_days": "20",
            "interval-max_days": "60",
            "interval-version": _version(page_b, "interval-version"),
        },
    )
    assert refused.status_code == 409 and f"{STALE} course" in refused.text
    with app.app_context():
        stored = db.session.get(Course, course_id)
        assert (stored.state, stored.min_days, stored.max_days) == ("on_hold", 30, 90)


def test_a_stale_appointment_action_is_refused(app, frozen_clock):  # noqa: F811
    """Cancelling from a page opened before a colleague marked the patient arrived: 409 and the
    appointment stays arrived."""
    with app.app_context():
        setup = setup_clinic()
        patient, _ = maintenance_patient(date(2026, 12, 15))
        appointment = add_appointment(
            patient, setup["chairs"][0], setup["maintenance"], at(date(2027, 1, 4), 9)
        )  # today's visit: arrival is offered only on the day
        db.session.commit()
        appointment_id = appointment.id
    a, b = _two_staff(app)
    url = f"/schedule/appointments/{appointment_id}"
    version_b = _version(b.get(url).text)
    arrived = a.post(
        f"{url}/status", data={"action": "arrived", "version": _version(a.get(url).text)}
    )
    assert arrived.status_code == 303
    refused = b.post(
        f"{url}/status", data={"action": "cancel", "reason": "patient", "version": version_b}
    )
    assert refused.status_code == 409 and f"{STALE} appointment" in refused.text
    with app.app_context():
        assert db.session.get(Appointment, appointment_id).status == "arrived"


def test_entered_in_error_on_an_infusion_changed_meanwhile_is_refused(app):
    """The entered-in-error page of an infusion changed since it was shown: 409, nothing marked."""
    with app.app_context():
        patient = make_patient()
        course = make_course(patient)
        infusion = record_infusion(
            course,
            actor="test",
            settings=get_settings(),
            today=TODAY,
            given_at=local_noon(date(2026, 11, 2)),
        )
        db.session.commit()
        patient_id, infusion_id, shown = patient.id, infusion.id, infusion.version
        db.session.execute(
            update(Infusion)
            .where(Infusion.id == infusion_id)
            .values(notes="corrected", version=Infusion.version + 1)
        )
        db.session.commit()
    (clinician, _) = _two_staff(app, role="clinician")
    response = clinician.post(
        f"/patients/{patient_id}/infusions/{infusion_id}/entered-in-error",
        data={"version": shown, "reason": "recorded twice"},
    )
    assert response.status_code == 409 and f"{STALE} infusion" in response.text
    with app.app_context():
        assert db.session.get(Infusion, infusion_id).entered_in_error_at is None


def test_a_write_that_crosses_another_is_refused_by_the_database(app):
    """Read at version 1, the row moved on before the UPDATE: the database check stops the write
    (StaleDataError) and the form gets the 409 refusal, not a 500."""
    with app.test_request_context("/", method="POST"):
        patient = make_patient(first_name="Ann")
        db.session.commit()
        patient = db.session.scalar(select(Patient))
        set_committed_value(patient, "version", patient.version - 1)  # what an earlier read saw
        form = FlaskForm(meta={"csrf": False})

        def change():
            patient.first_name = "Anne"
            db.session.flush()

        assert commit(form, change) is None
        assert refused_status(form) == 409 and "nothing was saved" in form.form_errors[0]
        assert db.session.scalar(select(Patient.first_name)) == "Ann"
