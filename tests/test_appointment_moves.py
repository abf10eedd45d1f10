"""Moving a visit in place: one history row and one audit event, the calendar UID kept, the
sequence raised, confirmed when the patient agreed, and nothing changed when it is refused."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tracker import calendar_export
from tracker.extensions import db
from tracker.models import Appointment, AppointmentStatusChange, AuditEvent
from tracker.services import appointments as service
from tracker.services.clinic import get_settings
from tracker.services.errors import RuleError

from .factories import make_patient, make_user
from .schedule_fixtures import (  # noqa: F401
    MONDAY,
    NOW,
    add_appointment,
    at,
    frozen_clock,
    maintenance_patient,
    setup_clinic,
)

WEDNESDAY = MONDAY + timedelta(days=2)
pytestmark = pytest.mark.usefixtures("frozen_clock")


def _move(appointment, clinic, start, chair=0, **kw):
    return service.move_appointment(
        appointment,
        chair=clinic["chairs"][chair],
        start_at=start,
        actor=kw.pop("actor", "test"),
        reason=kw.pop("reason", "patient"),
        patient_agreed=kw.pop("patient_agreed", True),
        now=NOW,
        **kw,
    )


def _history(appointment_id):
    return db.session.scalars(
        select(AppointmentStatusChange)
        .where(AppointmentStatusChange.appointment_id == appointment_id)
        .order_by(AppointmentStatusChange.id)
    ).all()


def test_move_later_the_same_day_onto_its_own_old_time(app_ctx):
    """09:00 to 09:30 on the same chair overlaps the visit's own block: allowed, moved in place,
    UID kept, SEQUENCE raised, still confirmed, one history row and one audit event."""
    clinic = setup_clinic()
    clerk = make_user("frontdesk")
    patient = make_patient()
    visit = add_appointment(patient, clinic["chairs"][0], clinic["maintenance"], at(WEDNESDAY, 9))
    uid, sequence = visit.uid, visit.sequence
    moved = _move(visit, clinic, at(WEDNESDAY, 9, 30), actor=clerk)
    db.session.commit()
    stored = db.session.get(Appointment, visit.id)
    assert (stored.start_at, stored.end_at) == (at(WEDNESDAY, 9, 30), at(WEDNESDAY, 11, 10))
    assert stored.uid == uid and stored.sequence == sequence + 1 and stored.status == "booked"
    assert moved.from_start == at(WEDNESDAY, 9) and moved.kept_confirmed
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
    change = _history(visit.id)[-1]
    assert (change.from_status, change.to_status, change.reason, change.user_id) == (
        "booked",
        "booked",
        "patient",
        clerk.id,
    )
    assert (change.moved_from_at, change.moved_to_at) == (at(WEDNESDAY, 9), at(WEDNESDAY, 9, 30))
    assert change.moved_from_chair_id == change.moved_to_chair_id == clinic["chairs"][0].id
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "move")).all()
    assert event.entity_id == visit.id and event.user_id == clerk.id
    assert event.changes["before"]["start_at"] == at(WEDNESDAY, 9).isoformat()
    assert event.changes["after"]["start_at"] == at(WEDNESDAY, 9, 30).isoformat()
    ics = calendar_export.appointment_ics(stored, get_settings()).decode()
    assert f"UID:{uid}" in ics and f"SEQUENCE:{sequence + 1}" in ics


def test_move_without_the_patients_agreement_waits_for_confirmation(app_ctx):
    """Not agreed yet: the visit moves and is 'booked, not yet confirmed' until confirmed."""
    clinic = setup_clinic()
    visit = add_appointment(
        make_patient(), clinic["chairs"][0], clinic["maintenance"], at(WEDNESDAY, 9)
    )
    moved = _move(visit, clinic, at(WEDNESDAY, 14), chair=1, reason="clinic", patient_agreed=False)
    assert (
        visit.status == "pending"
        and not moved.kept_confirmed
        and visit.chair_id == clinic["chairs"][1].id
    )


@pytest.mark.parametrize(
    "start, chair, message",
    [
        (at(WEDNESDAY, 10), 1, "chair is already booked"),
        (at(WEDNESDAY, 17), 0, "outside opening hours"),
        (at(MONDAY - timedelta(days=3), 9), 0, "in the past"),
        (at(WEDNESDAY, 9), 0, "the time it already has"),
    ],
)
def test_refused_move_leaves_the_visit_untouched(app_ctx, start, chair, message):
    """Onto a taken chair, outside hours, into the past or onto itself: RuleError, and after the
    view's rollback the visit, its history and the audit trail are as they were."""
    clinic = setup_clinic()
    visit = add_appointment(
        make_patient(), clinic["chairs"][0], clinic["maintenance"], at(WEDNESDAY, 9)
    )
    add_appointment(
        make_patient(), clinic["chairs"][1], clinic["maintenance"], at(WEDNESDAY, 9, 30)
    )
    db.session.commit()
    history = len(_history(visit.id))
    with pytest.raises(RuleError, match=message):
        _move(visit, clinic, start, chair=chair)
    db.session.rollback()
    stored = db.session.get(Appointment, visit.id)
    assert (stored.start_at, stored.chair_id, stored.status, stored.sequence) == (
        at(WEDNESDAY, 9),
        clinic["chairs"][0].id,
        "booked",
        0,
    )
    assert len(_history(visit.id)) == history
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "move")
        )
        == 0
    )


def test_only_a_booked_visit_moves(app_ctx):
    """A cancelled or fulfilled appointment cannot be moved; an unknown reason is refused."""
    clinic = setup_clinic()
    for status in ("cancelled", "fulfilled"):
        visit = add_appointment(
            make_patient(),
            clinic["chairs"][0],
            clinic["maintenance"],
            at(WEDNESDAY, 9),
            status=status,
        )
        with pytest.raises(RuleError, match="Only a booked appointment"):
            _move(visit, clinic, at(WEDNESDAY, 14))
    visit = add_appointment(
        make_patient(), clinic["chairs"][2], clinic["maintenance"], at(WEDNESDAY, 9)
    )
    with pytest.raises(RuleError, match="who asked"):
        _move(visit, clinic, at(WEDNESDAY, 14), reason="whim")


def test_finder_keeps_the_moved_visits_own_day(app_ctx):
    """The day of the visit being moved is not hidden: its later starts are offered, also on
    its own chair overlapping its own block; for anyone else that block stays taken."""
    clinic = setup_clinic(chairs=1)
    patient, _ = maintenance_patient(date(2026, 12, 1))
    visit = add_appointment(patient, clinic["chairs"][0], clinic["maintenance"], at(WEDNESDAY, 9))
    own = service.day_starts(
        patient, clinic["maintenance"], WEDNESDAY, exclude_id=visit.id, now=NOW
    )
    assert at(WEDNESDAY, 9, 30) in [s.start for s in own.starts]
    without = service.day_starts(patient, clinic["maintenance"], WEDNESDAY, now=NOW)
    assert at(WEDNESDAY, 9, 30) not in [s.start for s in without.starts]
    search = service.search_slots(
        patient,
        clinic["maintenance"],
        from_day=WEDNESDAY,
        today=MONDAY,
        now=NOW,
        exclude_id=visit.id,
    )
    assert search.slots[0].start.date() == WEDNESDAY


def test_day_starts_group_and_point_to_nearby_days(app_ctx):
    """Morning and afternoon starts of the day, and the nearest earlier and later open days
    (the weekend skipped)."""
    clinic = setup_clinic()
    patient = make_patient()
    friday = MONDAY + timedelta(days=4)
    starts = service.day_starts(patient, clinic["maintenance"], friday, not_before=MONDAY, now=NOW)
    assert starts.morning[0].start == at(friday, 8) and starts.afternoon[0].start == at(friday, 12)
    assert starts.earlier == friday - timedelta(days=1) and starts.later == friday + timedelta(
        days=3
    )
    first = service.day_starts(patient, clinic["maintenance"], MONDAY, not_before=MONDAY, now=NOW)
    assert first.earlier is None


def test_move_page_three_steps(app, client, login_as):
    """From the appointment: open Move (1), pick a later start the same day (2), submit (3):
    the same appointment, still confirmed, with 'Moved from ... to ...' in its history."""
    with app.app_context():
        clinic = setup_clinic()
        visit = add_appointment(
            make_patient(first_name="Ari", last_name="Moss"),
            clinic["chairs"][0],
            clinic["maintenance"],
            at(WEDNESDAY, 9),
        )
        db.session.commit()
        visit_id, chair_id = visit.id, clinic["chairs"][0].id
    login_as("frontdesk")
    page = client.get(f"/schedule/appointments/{visit_id}").get_data(as_text=True)
    assert f'href="/schedule/appointments/{visit_id}/move"' in page
    page = client.get(f"/schedule/appointments/{visit_id}/move").get_data(as_text=True)
    assert "on Wed 6 Jan 2027" in page and "09:30 to 11:10" in page
    assert re.search(
        r'<input [^>]*checked id="patient_agreed" name="patient_agreed" type="checkbox"', page
    )
    start = at(WEDNESDAY, 14).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/schedule/appointments/{visit_id}/move",
        data={
            "appointment_type_id": clinic_type_id(app, visit_id),
            "slot": f"{chair_id}|{start}",
            "reason": "patient",
            "patient_agreed": "y",
            "day": "2027-01-06",
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/appointments/{visit_id}"
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "Moved from Wed 6 Jan 2027, 09:00 to Wed 6 Jan 2027, 14:00 on Chair 1 (still confirmed)."
        in page
    )
    assert (
        "Moved from Wed 6 Jan 2027, 09:00, Chair 1" in page
        and "The patient asked; the patient agreed" in page
    )


def test_move_onto_a_time_taken_meanwhile_is_shown_and_changes_nothing(app, client, login_as):
    """The chosen start was booked by someone else: the refusal stands beside the day's free
    starts (400), and the visit keeps its time."""
    with app.app_context():
        clinic = setup_clinic(chairs=1)
        visit = add_appointment(
            make_patient(), clinic["chairs"][0], clinic["maintenance"], at(WEDNESDAY, 9)
        )
        add_appointment(
            make_patient(), clinic["chairs"][0], clinic["maintenance"], at(WEDNESDAY, 14)
        )
        db.session.commit()
        visit_id, chair_id = visit.id, clinic["chairs"][0].id
    login_as("frontdesk")
    start = at(WEDNESDAY, 14).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/schedule/appointments/{visit_id}/move",
        data={
            "appointment_type_id": clinic_type_id(app, visit_id),
            "slot": f"{chair_id}|{start}",
            "reason": "patient",
            "patient_agreed": "y",
            "day": "2027-01-06",
        },
    )
    html = response.get_data(as_text=True)
    assert (
        response.status_code == 400 and "That chair is already booked from 14:00 to 15:40." in html
    )
    assert 'id="slot-error"' in html and "on Wed 6 Jan 2027" in html and "10:45 to 12:25" in html
    with app.app_context():
        assert db.session.get(Appointment, visit_id).start_at == at(WEDNESDAY, 9)


def clinic_type_id(app, appointment_id):
    """The appointment type of an appointment."""
    with app.app_context():
        return db.session.get(Appointment, appointment_id).appointment_type_id
