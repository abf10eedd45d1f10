"""The audit trail in words: field labels, values in words, clinic times, moves, no unchanged fields."""

from datetime import UTC, datetime

from tracker.extensions import db
from tracker.models import Appointment, AppointmentType, Chair
from tracker.services import audit

from .factories import make_patient, make_user


def _appointment(patient, chair, kind, start: datetime, **kw) -> Appointment:
    appointment = Appointment(
        patient_id=patient.id,
        chair_id=chair.id,
        appointment_type_id=kind.id,
        uid=f"move-{start:%H%M}",
        start_at=start,
        end_at=start.replace(hour=start.hour + 2),
        status="cancelled",
        **kw,
    )
    db.session.add(appointment)
    db.session.flush()
    return appointment


def test_a_move_reads_moved_from_to_and_codes_become_words(client, login_as, app):
    """A rescheduled appointment's event says 'Moved from ... to ...' in clinic time; the chair is
    named, the status is a word, an unchanged field is not listed, and no raw dict is shown."""
    with app.app_context():
        patient, desk = make_patient(mrn="MRN-MOVE"), make_user(role="frontdesk")
        chair, kind = (
            Chair(name="Chair Blue", position=1),
            AppointmentType(name="Booster", infusion_min=40),
        )
        db.session.add_all([chair, kind])
        db.session.flush()
        old = _appointment(patient, chair, kind, datetime(2026, 12, 2, 14, 0, tzinfo=UTC))
        audit.record(
            desk,
            entity="appointment",
            entity_id=old.id + 1,
            patient_id=patient.id,
            action="create",
            after={
                "start_at": "2026-12-03T15:30:00+00:00",
                "status": "pending",
                "chair_id": chair.id,
                "rescheduled_from_id": old.id,
            },
        )
        audit.record(
            desk,
            entity="appointment",
            entity_id=old.id,
            patient_id=patient.id,
            action="status",
            before={"status": "booked", "chair_id": chair.id},
            after={"status": "noshow", "chair_id": chair.id},
        )
        audit.record(
            desk,
            entity="opening_hours",
            entity_id=None,
            patient_id=None,
            action="update",
            before={"0": ["08:00:00", "17:00:00"]},
            after={"0": ["09:00:00", "17:00:00"]},
        )
        audit.record(
            desk,
            entity="patient",
            entity_id=patient.id,
            patient_id=patient.id,
            action="update",
            before={"email_consent": False, "date_of_birth": "1980-05-17"},
            after={"email_consent": True, "date_of_birth": "1980-05-18"},
        )
        db.session.commit()
    login_as("admin")
    body = client.get("/admin/audit").get_data(as_text=True)
    assert "Moved from Wed 2 Dec 2026, 09:00 to Thu 3 Dec 2026, 10:30" in body  # New York time
    assert '<span class="change-field">Chair</span>: Chair Blue' in body
    assert '<span class="change-field">Status</span>: confirmed → no-show' in body
    assert "Chair Blue → Chair Blue" not in body  # unchanged: left out
    assert "Monday</span>: 08:00 to 17:00 → 09:00 to 17:00" in body
    assert "Email consent</span>: No → Yes" in body and "Sat 17 May 1980 → Sun 18 May 1980" in body
    assert (
        "rescheduled_from_id" not in body
        and "noshow" not in body
        and "{" not in body.split("<main")[1]
    )


def test_patient_page_links_to_that_patients_history(client, login_as, app):
    """An admin on a patient page has a link to the audit trail filtered to that patient."""
    with app.app_context():
        patient = make_patient(mrn="MRN-HIST")
        db.session.commit()
        patient_id = patient.id
    login_as("admin")
    body = client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "/admin/audit?patient=MRN-HIST" in body
    history = client.get("/admin/audit?patient=MRN-HIST")
    assert history.status_code == 200
