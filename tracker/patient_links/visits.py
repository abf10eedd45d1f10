"""What a patient may do with a booked visit from its manage link: confirm, move (in place, as
staff move a visit), cancel (with a reason), or ask to be called. Each is audited with the actor
"patient"; the reminders of a cancelled visit or of a moved visit's old time are retired at once
(the sweep would do it too, later), and the patient's calendar is updated by the usual notices
(reminders/notices.py)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import select

from .. import booking
from ..extensions import db
from ..models import Appointment, Chair, Reminder, User
from ..reminders import notices
from ..reminders.planning import appointment_key, close_pending
from ..services import appointments as service
from ..services import audit, waitlist
from ..services.clinic import clinic_zone
from ..services.errors import RuleError
from .holds import PATIENT, TAKEN, check_not_held, check_online_rules, serialise_chair

log = logging.getLogger(__name__)

# What a patient may say when cancelling (the stored cancel reason is "patient" or "late-cancel").
CANCEL_CHOICES = {
    "cannot_come": "I cannot come at that time",
    "book_later": "I will book another time",
    "not_needed": "I do not need this visit any more",
    "other": "Another reason",
}
CHANGEABLE = ("pending", "booked")
MAX_MOVES_FOLLOWED = 50


def current_visit(appointment: Appointment) -> Appointment:
    """The visit a manage link now stands for: after a move, the new time (followed along the
    chain of moves); otherwise the appointment itself."""
    seen = 0
    while appointment.status == "cancelled" and seen < MAX_MOVES_FOLLOWED:
        successor = db.session.scalar(
            select(Appointment)
            .where(Appointment.rescheduled_from_id == appointment.id)
            .order_by(Appointment.id.desc())
            .limit(1)
        )
        if successor is None:
            break
        appointment, seen = successor, seen + 1
    return appointment


def inside_cutoff(appointment: Appointment, now: datetime, settings) -> bool:
    """True from the clinic's cut-off before the visit on: no online move or cancel then."""
    return now >= appointment.start_at - timedelta(hours=settings.online_cutoff_hours)


def refused_inside_cutoff(settings) -> RuleError:
    """Why a change inside the cut-off is refused, with the number to call."""
    phone = f" on {settings.phone}" if settings.phone else ""
    return RuleError(
        f"Your visit is less than {settings.online_cutoff_hours} hours away, so it "
        f"cannot be changed online. Please call us{phone}.",
        None,
    )


def _changeable(appointment: Appointment) -> None:
    if appointment.status not in CHANGEABLE:
        raise RuleError("This visit can no longer be changed online.", None)


def retire_reminders(appointment: Appointment, reason: str) -> int:
    """Cancel the pending reminders of an appointment that was cancelled or moved; how many."""
    ids = db.session.scalars(
        select(Reminder.id).where(
            Reminder.appointment_id == appointment.id, Reminder.status == "pending"
        )
    ).all()
    return sum(1 for reminder_id in ids if close_pending(reminder_id, "cancelled", reason))


def confirm(appointment: Appointment, *, now: datetime) -> bool:
    """Confirm a pending visit; False when it was already confirmed (nothing changes)."""
    _changeable(appointment)
    if appointment.status == "booked":
        return False
    service.change_status(appointment, "booked", actor=PATIENT, now=now)
    return True


def cancel(appointment: Appointment, choice: str, *, now: datetime, settings) -> str:
    """Cancel the visit with the patient's reason; inside the cut-off only when the clinic
    records such cancels as late. Returns the stored cancel reason."""
    _changeable(appointment)
    if choice not in CANCEL_CHOICES:
        raise RuleError("Choose a reason.", "reason")
    late = inside_cutoff(appointment, now, settings)
    if late and not settings.online_late_cancel:
        raise refused_inside_cutoff(settings)
    code = "late-cancel" if late else "patient"
    service.change_status(appointment, "cancelled", actor=PATIENT, reason=code, now=now)
    audit.record(
        PATIENT,
        entity="appointment",
        entity_id=appointment.id,
        patient_id=appointment.patient_id,
        action="cancel_reason",
        after={"reason": CANCEL_CHOICES[choice]},
    )
    retire_reminders(appointment, "appointment cancelled by the patient")
    notices.visit_cancelled(appointment, now=now, settings=settings)  # their calendar updates
    waitlist.offer_freed_block(
        appointment.chair_id,
        appointment.start_at,
        freed_by=appointment.patient_id,
        now=now,
        today=booking.wall(now, clinic_zone()).date(),
        settings=settings,
    )
    db.session.flush()
    return code


def retire_old_time(appointment: Appointment, reason: str) -> int:
    """Cancel the pending reminder and moved notice of the time a visit moved away from (their
    keys name the old time); a booked notice not yet sent stays, as it renders the new time."""
    current = (
        appointment_key(appointment.id, appointment.start_at, appointment.moves),
        notices.notice_key("visit_moved", appointment.id, appointment.start_at, appointment.moves),
    )
    ids = db.session.scalars(
        select(Reminder.id).where(
            Reminder.appointment_id == appointment.id,
            Reminder.status == "pending",
            Reminder.kind.in_(("appointment", "visit_moved")),
            Reminder.dedupe_key.not_in(current),
        )
    ).all()
    return sum(1 for reminder_id in ids if close_pending(reminder_id, "cancelled", reason))


def move(
    appointment: Appointment,
    *,
    chair_id: int,
    start_at: datetime,
    now: datetime,
    today: date,
    settings,
) -> service.Move:
    """Move the visit to a free time in place, as staff do (services/appointments/moves.py): the
    same appointment, id and calendar UID, its SEQUENCE up; a confirmed visit stays confirmed.
    The old time's reminder is cancelled, the new time's notice planned, the old time offered to
    the waitlist; flush."""
    _changeable(appointment)
    if inside_cutoff(appointment, now, settings):
        raise refused_inside_cutoff(settings)
    check_online_rules(start_at, course=appointment.course, now=now, today=today, settings=settings)
    chair = db.session.get(Chair, chair_id)
    if chair is None:
        raise RuleError(TAKEN, "slot")
    serialise_chair(chair.id)
    check_not_held(appointment.patient, chair, appointment.appointment_type, start_at, now)
    clinician = db.session.get(User, appointment.clinician_id) if appointment.clinician_id else None
    try:
        moved = service.move_appointment(
            appointment,
            chair=chair,
            start_at=start_at,
            actor=PATIENT,
            reason="patient",
            patient_agreed=appointment.status == "booked" or settings.online_bookings_confirmed,
            clinician=clinician,
            now=now,
        )
    except RuleError:
        raise RuleError(TAKEN, "slot") from None
    retire_old_time(appointment, "appointment moved by the patient")
    notices.visit_moved(appointment, now=now, settings=settings)
    waitlist.offer_freed_block(
        moved.from_chair_id,
        moved.from_start,
        freed_by=appointment.patient_id,
        now=now,
        today=today,
        settings=settings,
    )
    db.session.flush()
    log.info("appointment %s moved online", appointment.id)
    return moved


def call_me(appointment: Appointment) -> None:
    """Record the patient's request to be called about this visit (staff see it); flush."""
    audit.record(
        PATIENT,
        entity="appointment",
        entity_id=appointment.id,
        patient_id=appointment.patient_id,
        action="call_me",
        after={"request": "please call me"},
    )
    db.session.flush()
