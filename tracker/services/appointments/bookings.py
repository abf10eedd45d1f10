"""Booking chair blocks, one or a series: every rule checked, then inserted and audited.

Two bookings of the same chair time cannot both win: on SQLite the write lock is taken before
the check; on PostgreSQL the exclusion constraint on the chair's time range is the last guard
(sqlstate 23P01), with patient and clinician rows locked so the patient and capacity checks
cannot race either.
"""
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from ... import booking
from ...database import is_postgres, lock_for_write
from ...extensions import db
from ...models import Appointment, AppointmentStatusChange, AppointmentType, Chair, Patient, User, utcnow
from .. import audit
from ...formatting import style_for
from ..clinic import clinic_zone, get_settings
from ..courses import MAX_SERIES_PLANNED, open_course_for
from ..errors import RuleError
from .slots import active_blocks, active_chairs, clinic_rules, day_bounds, length_of

log = logging.getLogger(__name__)

SERIES_AHEAD_DAYS = 366  # how far ahead a series may start
EXCLUSION_VIOLATION = "23P01"
DEADLOCK_DETECTED = "40P01"
APPOINTMENT_FIELDS = ("status", "start_at", "end_at", "chair_id", "appointment_type_id",
                      "clinician_id", "course_id", "cancel_reason", "rescheduled_from_id", "notes")


def new_uid() -> str:
    """A fresh iCalendar UID; it never changes for the appointment."""
    return f"{uuid.uuid4()}@appointments"


def lock_people(patient_id: int, clinician_id: int | None) -> None:
    """Serialise bookings per patient and per clinician (PostgreSQL row locks; SQLite already
    holds the database write lock)."""
    if not is_postgres(db.session):
        return
    db.session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())
    if clinician_id is not None:
        db.session.execute(select(User.id).where(User.id == clinician_id).with_for_update())


def lock_chairs(chair_ids) -> None:
    """Serialise bookings per chair, after lock_people and in id order (so two bookings never
    wait on each other in a circle). Two bookings of one chair then queue: the second checks
    the chair once the first has committed, instead of both inserting and deadlocking in the
    exclusion constraint's check. PostgreSQL only (SQLite holds the database write lock)."""
    if not is_postgres(db.session) or not chair_ids:
        return
    db.session.execute(
        select(Chair.id).where(Chair.id.in_(sorted(set(chair_ids)))).order_by(Chair.id)
        .with_for_update()
    )


def check_parts(appointment_type: AppointmentType, chair: Chair | None, clinician: User | None) -> None:
    """The chair, type and clinician are still in use; RuleError on the field otherwise."""
    if chair is not None and not chair.active:
        raise RuleError("That chair is not in use; choose another.", "chair_id")
    if not appointment_type.active:
        raise RuleError("That appointment type is no longer offered.", "appointment_type_id")
    if clinician is not None and (not clinician.active or not clinician.has_role("clinician")):
        raise RuleError("Choose an active clinician to supervise.", "clinician_id")


def book(patient: Patient, *, appointment_type: AppointmentType, chair: Chair, start_at: datetime,
         actor, clinician: User | None = None, notes: str = "",
         rescheduled_from: Appointment | None = None, now: datetime | None = None,
         confirmed: bool = False) -> Appointment:
    """Book one chair block after checking every rule; RuleError and nothing saved otherwise.

    `confirmed`: the patient agreed to the time while booking (on the phone), so it is booked
    as confirmed rather than waiting for a confirmation.
    """
    now = now or utcnow()
    check_parts(appointment_type, chair, clinician)
    clinician_id = clinician.id if clinician is not None else None
    lock_for_write(db.session)
    lock_people(patient.id, clinician_id)
    lock_chairs([chair.id])
    length = length_of(appointment_type)
    end_at = booking.block_end(start_at, length.total_min)
    local_day = booking.wall(start_at, clinic_zone()).date()
    rules = clinic_rules(local_day, local_day)
    blocks = active_blocks(start_at, end_at, chair_id=chair.id, patient_id=patient.id,
                           clinician_id=clinician_id)
    refusal = booking.check_block(chair_id=chair.id, start=start_at, length=length,
                                  patient_id=patient.id, clinician_id=clinician_id,
                                  blocks=blocks, rules=rules, now=now)
    if refusal is not None:
        raise RuleError(refusal.message, refusal.field)
    appointment = _new_appointment(patient, appointment_type, chair, clinician_id, start_at, end_at,
                                   actor, notes, rescheduled_from, confirmed)
    _insert([appointment])
    _after_create(appointment, actor)
    return appointment


def _new_appointment(patient, appointment_type, chair, clinician_id, start_at, end_at, actor,
                     notes, rescheduled_from, confirmed=False) -> Appointment:
    course = open_course_for(patient.id)
    return Appointment(
        uid=new_uid(), patient_id=patient.id, course_id=course.id if course else None,
        appointment_type_id=appointment_type.id, chair_id=chair.id, clinician_id=clinician_id,
        start_at=start_at, end_at=end_at, status="booked" if confirmed else "pending", notes=(notes or "").strip(),
        rescheduled_from_id=rescheduled_from.id if rescheduled_from is not None else None,
        created_by_id=actor_id(actor),
    )


def _insert(appointments: list[Appointment]) -> None:
    """Add and flush; a clash caught by PostgreSQL's exclusion constraint becomes a RuleError."""
    flush_chair_guarded(lambda: db.session.add_all(appointments))


CHAIR_TAKEN = "That chair was booked by someone else a moment ago; choose another time or chair."


def flush_chair_guarded(change: Callable[[], object]) -> None:
    """Make `change` (new or moved appointments) and flush it. On PostgreSQL the exclusion
    constraint is the last guard on the chair: the change is made and flushed inside a savepoint
    (so a refusal leaves the transaction usable), and a clash with another booking, or a
    deadlock in the constraint's check, becomes a RuleError on the chair field."""
    if not is_postgres(db.session):
        change()
        db.session.flush()
        return
    try:
        with db.session.begin_nested():
            change()
            db.session.flush()
    except (IntegrityError, OperationalError) as error:
        if getattr(error.orig, "sqlstate", None) in (EXCLUSION_VIOLATION, DEADLOCK_DETECTED):
            log.info("booking refused by the chair exclusion constraint")
            raise RuleError(CHAIR_TAKEN, "chair_id") from None
        raise


def _after_create(appointment: Appointment, actor, reason: str | None = None) -> None:
    db.session.add(AppointmentStatusChange(appointment_id=appointment.id, from_status=None,
                                           to_status=appointment.status, reason=reason,
                                           user_id=actor_id(actor), at=utcnow()))
    audit.record(actor, entity="appointment", entity_id=appointment.id,
                 patient_id=appointment.patient_id, action="create",
                 after=audit.snapshot(appointment, APPOINTMENT_FIELDS))
    log.info("appointment %s booked on chair %s", appointment.id, appointment.chair_id)


def actor_id(actor) -> int | None:
    """The acting user's id; None for the system or a named job."""
    return audit.actor_fields(actor)[0]


@dataclass
class SeriesPlan:
    """The sessions a series booking made, and the closed dates it skipped."""

    appointments: list[Appointment]
    skipped: list[date]


def book_series(patient: Patient, *, appointment_type: AppointmentType, chair: Chair | None,
                first_day: date, weekdays: list[int], wall_time: time, count: int, actor,
                clinician: User | None = None, now: datetime | None = None,
                confirmed: bool = False) -> SeriesPlan:
    """Book `count` sessions on the chosen weekdays at one wall-clock time, all or nothing.

    With no chair chosen each session takes the first free chair. Closed dates are skipped;
    any other refusal names every date that cannot be booked and saves nothing. `confirmed`
    books every session as confirmed (the patient agreed to the dates), in this one action.
    """
    now = now or utcnow()
    if not 1 <= count <= MAX_SERIES_PLANNED:
        raise RuleError(f"Book between 1 and {MAX_SERIES_PLANNED} sessions.", "count")
    if not weekdays:
        raise RuleError("Choose at least one weekday.", "weekdays")
    check_parts(appointment_type, chair, clinician)
    zone = clinic_zone()
    today = booking.wall(now, zone).date()
    if first_day < today:
        raise RuleError("The first day is in the past.", "first_day")
    if first_day > today + timedelta(days=SERIES_AHEAD_DAYS):
        raise RuleError("Start the series within the next year.", "first_day")
    clinician_id = clinician.id if clinician is not None else None
    lock_for_write(db.session)
    lock_people(patient.id, clinician_id)
    # Closed dates from the first day on: series_days needs them, and check_block reads the same.
    rules = clinic_rules(first_day)
    days, skipped = booking.series_days(first_day, weekdays, count, rules.closed)
    chairs = [chair] if chair is not None else active_chairs()
    if not chairs:
        raise RuleError("No chair is in use; an admin adds chairs first.", "chair_id")
    lock_chairs([c.id for c in chairs])
    length = length_of(appointment_type)
    start, end = day_bounds(days[0], days[-1], zone)
    blocks = active_blocks(start, end)
    planned, problems = [], []
    day_label = style_for(get_settings()).day
    for day in days:
        start_at = booking.local_instant(day, wall_time, zone)
        if start_at is None:
            problems.append(f"{day_label(day)}: that time does not exist (the clocks change)")
            continue
        refusal = None
        for candidate in chairs:
            refusal = booking.check_block(chair_id=candidate.id, start=start_at, length=length,
                                          patient_id=patient.id, clinician_id=clinician_id,
                                          blocks=blocks, rules=rules, now=now)
            if refusal is None:
                end_at = booking.block_end(start_at, length.total_min)
                planned.append((candidate, start_at, end_at))
                s, e = booking.epoch(start_at), booking.epoch(end_at)
                i_start, i_end = booking.infusion_span(s, length)
                blocks.append(booking.Block(candidate.id, s, e, patient.id, clinician_id, i_start, i_end))
                break
        if refusal is not None:
            problems.append(f"{day_label(day)}: {refusal.message}")
    if problems:
        raise RuleError("Nothing was booked. " + " ".join(problems), "first_day")
    appointments = [_new_appointment(patient, appointment_type, seat, clinician_id, s, e, actor, "", None,
                                     confirmed) for seat, s, e in planned]
    _insert(appointments)
    for appointment in appointments[1:]:
        appointment.series_first_id = appointments[0].id
    db.session.flush()
    for appointment in appointments:
        _after_create(appointment, actor, reason="series")
    return SeriesPlan(appointments, skipped)
