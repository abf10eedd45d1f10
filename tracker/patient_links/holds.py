"""Holding a chosen time for a patient, and booking it: the online rules (notice, horizon,
window) on top of the staff booking service's rules.

Taking a hold and booking one are serialised per chair: SQLite takes the database write lock,
PostgreSQL locks the chair's row, so two patients choosing the same time at once cannot both
get it, and the second one is told the time was taken.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from .. import booking
from ..database import is_postgres, lock_for_write
from ..extensions import db
from ..models import Appointment, AppointmentType, Chair, Course, Patient, SlotHold
from ..services import appointments as service
from ..services.clinic import clinic_zone
from ..services.errors import RuleError
from .times import clashes_with_hold, earliest_start, held_by_others, last_day

log = logging.getLogger(__name__)

PATIENT = "patient"  # the audit trail's actor for everything done from a patient link
BOOKED_ONLINE = "Booked online"
TAKEN = "Sorry, that time has just been taken. Please choose another one."


def hold_length() -> timedelta:
    """How long a chosen time is kept for the patient (PATIENT_HOLD_MINUTES)."""
    return timedelta(minutes=int(current_app.config["PATIENT_HOLD_MINUTES"]))


def serialise_chair(chair_id: int) -> None:
    """Let one patient at a time take or book time on this chair (see the module docstring)."""
    lock_for_write(db.session)
    if is_postgres(db.session):
        db.session.execute(select(Chair.id).where(Chair.id == chair_id).with_for_update())


def check_online_rules(
    start_at: datetime, *, course: Course | None, now: datetime, today: date, settings
) -> None:
    """Online limits: not sooner than the minimum notice, not past the horizon, inside the
    window while it is open or ahead; RuleError otherwise."""
    if start_at < earliest_start(now, settings):
        raise RuleError("That time is too soon to book online; please choose a later one.", "slot")
    local_day = booking.wall(start_at, clinic_zone()).date()
    if local_day > last_day(today, settings):
        raise RuleError(
            "That time is too far ahead to book online; please choose an earlier one.", "slot"
        )
    if (
        course is not None
        and course.window_opens is not None
        and course.window_closes is not None
        and today <= course.window_closes
        and not course.window_opens <= local_day <= course.window_closes
    ):
        raise RuleError("Please choose a time between the dates shown.", "slot")


def check_not_held(
    patient: Patient,
    chair: Chair,
    appointment_type: AppointmentType,
    start_at: datetime,
    now: datetime,
) -> None:
    """The chair and type are bookable online and no other patient holds the time; else RuleError."""
    if not (
        chair.active
        and chair.bookable_online
        and appointment_type.active
        and appointment_type.bookable_online
    ):
        raise RuleError(TAKEN, "slot")
    end_at = booking.block_end(start_at, service.length_of(appointment_type).total_min)
    if clashes_with_hold(
        chair.id, start_at, end_at, held_by_others(patient.id, start_at, end_at, now)
    ):
        raise RuleError(TAKEN, "slot")


def check_free(
    patient: Patient,
    chair: Chair,
    appointment_type: AppointmentType,
    start_at: datetime,
    now: datetime,
) -> None:
    """Not held by another patient, and the staff booking rules (hours, closed dates, the chair,
    the patient's own visits); RuleError in the patient's words when the time is not free."""
    check_not_held(patient, chair, appointment_type, start_at, now)
    length = service.length_of(appointment_type)
    end_at = booking.block_end(start_at, length.total_min)
    local_day = booking.wall(start_at, clinic_zone()).date()
    refusal = booking.check_block(
        chair_id=chair.id,
        start=start_at,
        length=length,
        patient_id=patient.id,
        clinician_id=None,
        blocks=service.active_blocks(start_at, end_at, chair_id=chair.id, patient_id=patient.id),
        rules=service.clinic_rules(local_day, local_day),
        now=now,
    )
    if refusal is not None:
        raise RuleError(TAKEN, "slot")


def take_hold(
    patient: Patient,
    *,
    course: Course,
    appointment_type: AppointmentType,
    chair_id: int,
    start_at: datetime,
    now: datetime,
    today: date,
    settings,
) -> SlotHold:
    """Keep a free time for the patient for a few minutes (their earlier hold goes); flush."""
    chair = db.session.get(Chair, chair_id)
    if chair is None:
        raise RuleError(TAKEN, "slot")
    check_online_rules(start_at, course=course, now=now, today=today, settings=settings)
    serialise_chair(chair.id)
    db.session.execute(
        delete(SlotHold).where((SlotHold.expires_at <= now) | (SlotHold.patient_id == patient.id))
    )
    check_free(patient, chair, appointment_type, start_at, now)
    hold = SlotHold(
        patient_id=patient.id,
        course_id=course.id,
        chair_id=chair.id,
        appointment_type_id=appointment_type.id,
        start_at=start_at,
        end_at=booking.block_end(start_at, service.length_of(appointment_type).total_min),
        expires_at=now + hold_length(),
        created_at=now,
    )
    db.session.add(hold)
    db.session.flush()
    log.info("hold %s taken on chair %s", hold.id, chair.id)
    return hold


def live_hold(hold_id: int, patient_id: int, now: datetime) -> SlotHold | None:
    """The patient's unexpired hold with that id, read fresh; None when gone or run out."""
    hold = db.session.scalar(
        select(SlotHold).where(SlotHold.id == hold_id).execution_options(populate_existing=True)
    )
    if hold is None or hold.patient_id != patient_id or hold.expires_at <= now:
        return None
    return hold


def book_hold(patient: Patient, hold_id: int, *, now: datetime, settings) -> Appointment:
    """Book the held time (pending, or confirmed when the clinic says so), audited as the
    patient, and let the hold go; flush. RuleError when the hold ran out or the time was taken."""
    hold = live_hold(hold_id, patient.id, now)
    if hold is None:
        raise RuleError(
            "Your chosen time was kept for you for a few minutes only, and that has "
            "run out. Please choose a time again.",
            "slot",
        )
    serialise_chair(hold.chair_id)
    hold = live_hold(hold_id, patient.id, now)
    if hold is None:
        raise RuleError(TAKEN, "slot")
    chair = db.session.get(Chair, hold.chair_id)
    appointment_type = db.session.get(AppointmentType, hold.appointment_type_id)
    if chair is None or appointment_type is None:
        raise RuleError(TAKEN, "slot")
    try:
        appointment = service.book(
            patient,
            appointment_type=appointment_type,
            chair=chair,
            start_at=hold.start_at,
            actor=PATIENT,
            notes=BOOKED_ONLINE,
            now=now,
            confirmed=settings.online_bookings_confirmed,
        )
    except RuleError:
        raise RuleError(TAKEN, "slot") from None
    db.session.delete(hold)
    db.session.flush()
    log.info("appointment %s booked online", appointment.id)
    return appointment
