"""Manage-my-visit: the page shows the visit; confirm, move, cancel and "please call me" are
POSTs from it, refused inside the cut-off, audited as the patient, and the outbox follows."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Appointment, AppointmentStatusChange, AuditEvent, Reminder, utcnow
from tracker.patient_links.messages import visit_facts
from tracker.patient_links.tokens import make_token
from tracker.services.clinic import get_settings

from .patient_link_fixtures import (
    assert_no_clinical_words,
    due_patient,
    open_clinic,
    slot_values,
    snapshot,
    visit,
)


def _visit_in(app, hours: float, status="pending", late_cancel=False):
    """A patient with a visit `hours` from now (on a bookable chair), its manage link and a
    pending reminder for it."""
    with app.app_context():
        clinic = open_clinic()
        patient, _ = due_patient()
        start = utcnow().replace(second=0, microsecond=0) + timedelta(hours=hours)
        appointment = visit(
            patient, clinic["chairs"][0], clinic["maintenance"], start, status=status
        )
        db.session.add(
            Reminder(
                dedupe_key=f"appointment:a{appointment.id}:x",
                kind="appointment",
                patient_id=patient.id,
                appointment_id=appointment.id,
                due_at=start - timedelta(hours=48),
                status="pending",
            )
        )
        get_settings().online_late_cancel = late_cancel
        db.session.commit()
        with app.test_request_context():
            token = make_token("manage", patient.id, appointment.id)
        return appointment.id, f"/my/visit/{token}"


def _appointment(app, appointment_id):
    with app.app_context():
        row = db.session.get(Appointment, appointment_id)
        db.session.expunge(row)
        return row


def test_manage_page_shows_the_visit_and_a_get_changes_nothing(app):
    """The page shows day, time, clinic and address; opening it (and the move page) writes nothing."""
    appointment_id, url = _visit_in(app, 72)
    client = app.test_client()
    with app.app_context():
        before = snapshot()
    page = client.get(url)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Northside Clinic" in body and "1 Main Street" in body and "Confirm my visit" in body
    assert "Please call me" in body and "Cancel my visit" in body
    assert client.get(url + "/move").status_code == 200
    for action in (
        "confirm",
        "cancel",
        "call",
        "move",
    ):  # a GET on an action URL does nothing either
        assert client.get(f"{url}/{action}").status_code in (200, 405)
    with app.app_context():
        assert snapshot() == before
    assert_no_clinical_words(body)


def test_confirm_is_audited_as_the_patient(app):
    """Confirm moves pending to confirmed, audited with actor 'patient'; again is harmless."""
    appointment_id, url = _visit_in(app, 72)
    client = app.test_client()
    response = client.post(url + "/confirm")
    assert response.status_code == 303
    assert "confirmed" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _appointment(app, appointment_id).status == "booked"
    assert client.post(url + "/confirm").status_code == 303
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity == "appointment", AuditEvent.entity_id == appointment_id
            )
        ).all()
        assert [(e.actor, e.action) for e in events] == [("patient", "status")]


def test_cancel_needs_a_reason_then_retires_the_reminder(app):
    """Cancel without a reason: a field error, nothing changes; with one: cancelled by the
    patient, the reason audited, and the pending reminder cancelled at once."""
    appointment_id, url = _visit_in(app, 72)
    client = app.test_client()
    missing = client.post(url + "/cancel", data={})
    assert missing.status_code == 400 and "Choose a reason." in missing.get_data(as_text=True)
    assert _appointment(app, appointment_id).status == "pending"
    assert client.post(url + "/cancel", data={"reason": "cannot_come"}).status_code == 303
    cancelled = _appointment(app, appointment_id)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "patient")
    with app.app_context():
        assert db.session.scalars(select(Reminder.status)).one() == "cancelled"
        reasons = db.session.scalars(
            select(AuditEvent.changes).where(AuditEvent.action == "cancel_reason")
        ).all()
        assert reasons == [{"before": {}, "after": {"reason": "I cannot come at that time"}}]
    page = client.get(url).get_data(as_text=True)
    assert "This visit is cancelled" in page and "Cancel my visit</button>" not in page


def test_inside_the_cutoff_move_and_cancel_are_refused_with_the_phone(app):
    """Less than 24 hours before: no move or cancel online, the page gives the phone number."""
    appointment_id, url = _visit_in(app, 10)
    client = app.test_client()
    page = client.get(url).get_data(as_text=True)
    assert "555 0199" in page and "cannot be moved or cancelled online" in page
    refused = client.post(url + "/cancel", data={"reason": "cannot_come"})
    assert refused.status_code == 409 and "555 0199" in refused.get_data(as_text=True)
    moved = client.post(url + "/move", data={"slot": "1-1796409000"})
    assert moved.status_code == 409
    assert _appointment(app, appointment_id).status == "pending"


def test_inside_the_cutoff_a_clinic_may_take_late_cancels(app):
    """With late cancels on, a cancel inside the cut-off is recorded as late-cancel."""
    appointment_id, url = _visit_in(app, 10, late_cancel=True)
    assert app.test_client().post(url + "/cancel", data={"reason": "other"}).status_code == 303
    assert _appointment(app, appointment_id).cancel_reason == "late-cancel"


def test_move_is_in_place_and_the_link_keeps_working(app):
    """Moving keeps the visit (same id and UID, SEQUENCE up, confirmed stays confirmed), records
    one move by the patient, retires the old time's reminder, plans the new time's notice, and
    the same manage link shows the new time."""
    appointment_id, url = _visit_in(app, 72, status="booked")
    before = _appointment(app, appointment_id)
    client = app.test_client()
    slot = slot_values(client.get(url + "/move").get_data(as_text=True))[0]
    assert client.post(url + "/move", data={"slot": slot}).status_code == 303
    with app.app_context():
        (moved,) = db.session.scalars(select(Appointment)).all()
        assert (moved.id, moved.uid, moved.status) == (appointment_id, before.uid, "booked")
        assert moved.sequence == (before.sequence or 0) + 1
        assert moved.start_at != before.start_at and moved.rescheduled_from_id is None
        rows = db.session.execute(select(Reminder.kind, Reminder.status, Reminder.appointment_id))
        assert sorted(rows) == sorted(
            [("appointment", "cancelled", moved.id), ("visit_moved", "pending", moved.id)]
        )
        (change,) = db.session.scalars(
            select(AppointmentStatusChange).where(AppointmentStatusChange.moved_to_at.is_not(None))
        ).all()
        assert (change.moved_from_at, change.moved_to_at) == (before.start_at, moved.start_at)
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "move")).all()
        assert (event.actor, event.entity_id) == ("patient", appointment_id)
        facts = visit_facts(moved)
    page = client.get(url).get_data(as_text=True)
    assert f"{facts['day']} at {facts['time']}" in page and "Confirmed." in page


def test_a_pending_visit_stays_pending_after_a_move(app):
    """A visit not yet confirmed is moved and still waits for confirmation (the clinic confirms
    online bookings only when it says so)."""
    appointment_id, url = _visit_in(app, 72, status="pending")
    with app.app_context():
        get_settings().online_bookings_confirmed = False
        db.session.commit()
    client = app.test_client()
    slot = slot_values(client.get(url + "/move").get_data(as_text=True))[0]
    assert client.post(url + "/move", data={"slot": slot}).status_code == 303
    assert _appointment(app, appointment_id).status == "pending"
    page = client.get(url).get_data(as_text=True)
    assert "Booked, not yet confirmed." in page and "Confirm my visit" in page


def test_a_time_another_patient_holds_is_refused_and_nothing_changes(app):
    """The time the patient picks is held by someone else: 409 with the next times, the visit as
    it was."""
    from tracker.patient_links.holds import take_hold
    from tracker.services.clinic import clinic_today

    appointment_id, url = _visit_in(app, 72, status="booked")
    client = app.test_client()
    slot = slot_values(client.get(url + "/move").get_data(as_text=True))[0]
    chair_id, stamp = (int(part) for part in slot.split("-"))
    with app.app_context():
        other, course = due_patient(first_name="Other")
        kind = db.session.get(Appointment, appointment_id).appointment_type
        take_hold(
            other,
            course=course,
            appointment_type=kind,
            chair_id=chair_id,
            start_at=datetime.fromtimestamp(stamp, UTC),
            now=utcnow(),
            today=clinic_today(),
            settings=get_settings(),
        )
        db.session.commit()
        before = snapshot()
    refused = client.post(url + "/move", data={"slot": slot})
    assert refused.status_code == 409
    assert "just been taken" in refused.get_data(as_text=True)
    with app.app_context():
        after = snapshot()
    assert after["appointments"] == before["appointments"]
    assert after["reminders"] == before["reminders"] and after["audit"] == before["audit"]


def test_please_call_me_is_recorded_for_staff(app):
    """'Please call me' records the request (actor patient) and changes no appointment."""
    appointment_id, url = _visit_in(app, 72)
    assert app.test_client().post(url + "/call").status_code == 303
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "call_me")).one()
        assert (event.actor, event.entity_id) == ("patient", appointment_id)
        assert db.session.scalar(select(db.func.count(AppointmentStatusChange.id))) == 1
    assert _appointment(app, appointment_id).status == "pending"


def test_staff_cancelled_visit_link_changes_nothing(app):
    """A visit cancelled by the clinic: the link shows it cancelled and refuses every action."""
    appointment_id, url = _visit_in(app, 72)
    with app.app_context():
        db.session.get(Appointment, appointment_id).status = "cancelled"
        db.session.commit()
        before = snapshot()
    client = app.test_client()
    assert "This visit is cancelled" in client.get(url).get_data(as_text=True)
    assert client.post(url + "/confirm").status_code == 409
    assert client.post(url + "/cancel", data={"reason": "other"}).status_code == 409
    with app.app_context():
        assert snapshot() == before


@pytest.mark.parametrize("mangle", ["forged", "other-patient"])
def test_a_link_for_someone_else_is_refused(app, mangle):
    """A forged token, or one naming another patient's appointment, changes nothing."""
    appointment_id, url = _visit_in(app, 72)
    with app.app_context():
        stranger, _ = due_patient()
        db.session.commit()
        with app.test_request_context():
            token = (
                "not-a-token"
                if mangle == "forged"
                else make_token("manage", stranger.id, appointment_id)
            )
    client = app.test_client()
    assert client.get(f"/my/visit/{token}").status_code == 400
    assert client.post(f"/my/visit/{token}/confirm").status_code == 400
    assert _appointment(app, appointment_id).status == "pending"


def test_appointment_reminder_carries_the_manage_link(app):
    """The appointment reminder email links to this visit's manage page, with no clinical word."""
    from tracker.models import Patient
    from tracker.patient_links.tokens import read_token
    from tracker.reminders.messages import appointment_message

    appointment_id, _ = _visit_in(app, 72)
    with app.app_context():
        appointment = db.session.get(Appointment, appointment_id)
        settings = get_settings()
        message = appointment_message(
            Reminder(kind="appointment"),
            patient=db.session.get(Patient, appointment.patient_id),
            appointment=appointment,
            settings=settings,
        )
        text = message.get_body(("plain",)).get_content()
        with app.test_request_context():
            link = read_token("manage", text.split("/my/visit/")[1].split()[0])
    assert link.target_id == appointment_id
    assert_no_clinical_words(text)
