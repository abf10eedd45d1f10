"""Appointments: find free chair time, book (one or a series), change status, complete.

Services flush, the view commits. Two bookings of the same chair time cannot both win: on
SQLite the write lock is taken before the check; on PostgreSQL the exclusion constraint on the
chair's time range is the last guard (sqlstate 23P01), with patient and clinician rows locked
so the patient and capacity checks cannot race either.
"""
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, cast, func, or_, select
from sqlalchemy.exc import IntegrityError

from .. import booking
from ..database import is_postgres, lock_for_write
from ..extensions import db
from ..models import (
    ACTIVE_STATUSES, CANCEL_REASONS, Appointment, AppointmentStatusChange, AppointmentType, Chair,
    ClosedDate, Course, Infusion, OpeningHours, Patient, User, utcnow,
)
from . import audit
from .clinic import clinic_today, clinic_zone, get_settings
from .courses import open_course_for
from .errors import RuleError
from .infusions import record_infusion

log = logging.getLogger(__name__)

SEARCH_DAYS = 42  # how far a series or open-ended search looks ahead
CHUNK_DAYS = 14  # days of blocks fetched per query while searching
SERIES_AHEAD_DAYS = 366  # how far ahead a series may start
EXCLUSION_VIOLATION = "23P01"
STATUS_LABELS = {
    "pending": "booked, not yet confirmed", "booked": "confirmed", "arrived": "arrived",
    "fulfilled": "completed", "cancelled": "cancelled", "noshow": "no-show",
    "entered-in-error": "entered in error",
}
CANCEL_REASON_LABELS = {"patient": "Patient cancelled", "clinic": "Clinic cancelled",
                        "clinical": "Clinical reason", "late-cancel": "Late cancellation"}
# The FHIR Appointment state machine of DOMAIN.md; any status may become entered-in-error.
TRANSITIONS = {
    "pending": {"booked", "cancelled", "noshow", "entered-in-error"},
    "booked": {"arrived", "cancelled", "noshow", "entered-in-error"},
    "arrived": {"fulfilled", "entered-in-error"},
    "fulfilled": {"entered-in-error"},
    "cancelled": {"entered-in-error"},
    "noshow": {"entered-in-error"},
    "entered-in-error": set(),
}
APPOINTMENT_FIELDS = ("status", "start_at", "end_at", "chair_id", "appointment_type_id",
                      "clinician_id", "course_id", "cancel_reason", "rescheduled_from_id", "notes")


def new_uid() -> str:
    """A fresh iCalendar UID; it never changes for the appointment."""
    return f"{uuid.uuid4()}@appointments"


# ---------------------------------------------------------------------------- clinic rules

def clinic_rules(first: date | None = None, last: date | None = None) -> booking.ClinicRules:
    """Hours, closed dates (between first and last when given) and capacity as pure rules."""
    settings = get_settings()
    hours = {row.weekday: (row.opens, row.closes) for row in db.session.scalars(select(OpeningHours))}
    closed_query = select(ClosedDate.on, ClosedDate.reason)
    if first is not None:
        closed_query = closed_query.where(ClosedDate.on >= first)
    if last is not None:
        closed_query = closed_query.where(ClosedDate.on <= last)
    closed = {on: reason for on, reason in db.session.execute(closed_query)}
    return booking.ClinicRules(zone=ZoneInfo(settings.timezone), hours=hours, closed=closed,
                               step_min=settings.slot_step_min,
                               max_concurrent=settings.max_concurrent_per_clinician)


def length_of(appointment_type: AppointmentType) -> booking.BlockLength:
    """The type's minutes as a pure block length."""
    return booking.BlockLength(appointment_type.prep_min, appointment_type.infusion_min,
                               appointment_type.recovery_min)


def _epoch(column):
    """Epoch seconds computed by the database: parsing thousands of datetimes in Python is
    what would make a month-long slot search slow."""
    if db.session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def active_blocks(start: datetime, end: datetime, *, chair_id=None, patient_id=None,
                  clinician_id=None) -> list[booking.Block]:
    """Active blocks overlapping [start, end), in one query; optionally only those touching a
    chair, a patient or a clinician."""
    query = (
        select(Appointment.chair_id, _epoch(Appointment.start_at), _epoch(Appointment.end_at),
               Appointment.patient_id, Appointment.clinician_id, AppointmentType.prep_min,
               AppointmentType.infusion_min)
        .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
        .where(Appointment.status.in_(ACTIVE_STATUSES), Appointment.start_at < end,
               Appointment.start_at >= start - timedelta(days=1), Appointment.end_at > start)
    )
    touching = [column == value for column, value in ((Appointment.chair_id, chair_id),
                (Appointment.patient_id, patient_id), (Appointment.clinician_id, clinician_id))
                if value is not None]
    if touching:
        query = query.where(or_(*touching))
    # Core execution on the session's connection: the same transaction, without the ORM's
    # per-row work (these are plain columns, never entities).
    rows = db.session.connection().execute(query)
    Block = booking.Block
    return [Block(chair, s, e, patient, clinician, s + prep * 60, s + (prep + infusion) * 60)
            for chair, s, e, patient, clinician, prep, infusion in rows]


def active_chairs() -> list[Chair]:
    """Chairs in use, in their display order."""
    return list(db.session.scalars(select(Chair).where(Chair.active.is_(True))
                                   .order_by(Chair.position, Chair.name)))


def active_types() -> list[AppointmentType]:
    """Appointment types in use, by name."""
    return list(db.session.scalars(select(AppointmentType).where(AppointmentType.active.is_(True))
                                   .order_by(AppointmentType.name)))


def clinicians() -> list[User]:
    """Active staff who may supervise a session (clinicians and admins)."""
    return list(db.session.scalars(select(User).where(User.active.is_(True),
                                                      User.role.in_(("clinician", "admin")))
                                   .order_by(User.name, User.email)))


def day_bounds(first: date, last: date, zone) -> tuple[datetime, datetime]:
    """UTC instants of local midnight starting `first` and ending `last`."""
    start = booking.local_instant(first, time(0), zone) or datetime.combine(first, time(1), zone)
    end = booking.local_instant(last + timedelta(days=1), time(0), zone) or \
        datetime.combine(last + timedelta(days=1), time(1), zone)
    return start, end


# ---------------------------------------------------------------------------- slot search

@dataclass
class SlotSearch:
    """What the booking page shows: the range searched, the window, and the proposals."""

    purpose: str  # maintenance | series | open
    first_day: date | None
    last_day: date | None
    window_opens: date | None = None
    window_closes: date | None = None
    window_full: bool = False  # the window has no free slot left
    window_passed: bool = False  # the window closed before today
    slots: list[booking.Slot] = field(default_factory=list)
    later_slots: list[booking.Slot] = field(default_factory=list)  # after the window closes


def default_type(course: Course | None, types: list[AppointmentType]) -> AppointmentType | None:
    """The series type during a series, else a maintenance type; any type as a last resort."""
    want_series = course is not None and course.state == "series_in_progress"
    return next((t for t in types if t.for_series == want_series), types[0] if types else None)


def search_slots(patient: Patient, appointment_type: AppointmentType, *,
                 clinician_id: int | None = None, from_day: date | None = None,
                 today: date | None = None, now: datetime | None = None,
                 limit: int = 12, per_day: int = 3) -> SlotSearch:
    """The earliest free blocks for a patient: inside the maintenance window, or from the next
    day on during a series, or from today otherwise."""
    today = today or clinic_today()
    now = now or utcnow()
    course = open_course_for(patient.id)
    if (course is not None and course.state == "maintenance" and course.mode == "scheduled"
            and course.window_opens is not None):
        search = SlotSearch("maintenance", max(course.window_opens, today, from_day or today),
                            course.window_closes, course.window_opens, course.window_closes)
        search.window_passed = today > course.window_closes
        if search.first_day <= search.last_day:
            search.slots = _find(patient, appointment_type, search.first_day, search.last_day,
                                 clinician_id, now, limit, per_day)
        if not search.slots:
            pushed_past = from_day is not None and from_day > course.window_closes
            search.window_full = not search.window_passed and not pushed_past
            after = max(course.window_closes + timedelta(days=1), today, from_day or today)
            search.later_slots = _find(patient, appointment_type, after,
                                       after + timedelta(days=SEARCH_DAYS), clinician_id, now,
                                       limit, per_day)
        return search
    if course is not None and course.state == "series_in_progress":
        first = max(today, _last_booked_day(patient.id) or today) + timedelta(days=1)
        purpose = "series"
    else:
        first, purpose = today, "open"
    first = max(first, from_day or first)
    search = SlotSearch(purpose, first, first + timedelta(days=SEARCH_DAYS))
    search.slots = _find(patient, appointment_type, search.first_day, search.last_day,
                         clinician_id, now, limit, per_day)
    return search


def _last_booked_day(patient_id: int) -> date | None:
    """The clinic-local date of the patient's latest active appointment."""
    last = db.session.scalar(select(func.max(Appointment.start_at)).where(
        Appointment.patient_id == patient_id, Appointment.status.in_(ACTIVE_STATUSES)))
    return None if last is None else last.astimezone(clinic_zone()).date()


def _find(patient, appointment_type, first: date, last: date, clinician_id, now, limit, per_day):
    """The pure finder over the range, a fortnight at a time: one query of blocks per fortnight
    searched (never one per day or per candidate), stopping as soon as enough slots are found."""
    chairs = [chair.id for chair in active_chairs()]
    if not chairs:
        return []
    rules = clinic_rules(first, last)
    length = length_of(appointment_type)
    slots: list[booking.Slot] = []
    chunk_first = first
    while chunk_first <= last and len(slots) < limit:
        chunk_last = min(chunk_first + timedelta(days=CHUNK_DAYS - 1), last)
        start, end = day_bounds(chunk_first, chunk_last, rules.zone)
        days = [chunk_first + timedelta(days=n) for n in range((chunk_last - chunk_first).days + 1)]
        slots += booking.find_slots(days=days, chairs=chairs, blocks=active_blocks(start, end),
                                    rules=rules, length=length, patient_id=patient.id,
                                    clinician_id=clinician_id, now=now, limit=limit - len(slots),
                                    per_day=per_day)
        chunk_first = chunk_last + timedelta(days=1)
    return slots


# ---------------------------------------------------------------------------- booking

def _lock_people(patient_id: int, clinician_id: int | None) -> None:
    """Serialise bookings per patient and per clinician (PostgreSQL row locks; SQLite already
    holds the database write lock)."""
    if not is_postgres(db.session):
        return
    db.session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())
    if clinician_id is not None:
        db.session.execute(select(User.id).where(User.id == clinician_id).with_for_update())


def _check_parts(appointment_type: AppointmentType, chair: Chair | None, clinician: User | None) -> None:
    if chair is not None and not chair.active:
        raise RuleError("That chair is not in use; choose another.", "chair_id")
    if not appointment_type.active:
        raise RuleError("That appointment type is no longer offered.", "appointment_type_id")
    if clinician is not None and (not clinician.active or not clinician.has_role("clinician")):
        raise RuleError("Choose an active clinician to supervise.", "clinician_id")


def book(patient: Patient, *, appointment_type: AppointmentType, chair: Chair, start_at: datetime,
         actor, clinician: User | None = None, notes: str = "",
         rescheduled_from: Appointment | None = None, now: datetime | None = None) -> Appointment:
    """Book one chair block after checking every rule; RuleError and nothing saved otherwise."""
    now = now or utcnow()
    _check_parts(appointment_type, chair, clinician)
    clinician_id = clinician.id if clinician is not None else None
    lock_for_write(db.session)
    _lock_people(patient.id, clinician_id)
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
                                   actor, notes, rescheduled_from)
    _insert([appointment])
    _after_create(appointment, actor)
    return appointment


def _new_appointment(patient, appointment_type, chair, clinician_id, start_at, end_at, actor,
                     notes, rescheduled_from) -> Appointment:
    course = open_course_for(patient.id)
    return Appointment(
        uid=new_uid(), patient_id=patient.id, course_id=course.id if course else None,
        appointment_type_id=appointment_type.id, chair_id=chair.id, clinician_id=clinician_id,
        start_at=start_at, end_at=end_at, status="pending", notes=(notes or "").strip(),
        rescheduled_from_id=rescheduled_from.id if rescheduled_from is not None else None,
        created_by_id=_actor_id(actor),
    )


def _insert(appointments: list[Appointment]) -> None:
    """Add and flush; a clash caught by PostgreSQL's exclusion constraint becomes a RuleError."""
    if not is_postgres(db.session):
        db.session.add_all(appointments)
        db.session.flush()
        return
    try:
        with db.session.begin_nested():
            db.session.add_all(appointments)
    except IntegrityError as error:
        if getattr(error.orig, "sqlstate", None) == EXCLUSION_VIOLATION:
            log.info("booking refused by the chair exclusion constraint")
            raise RuleError("That chair was booked by someone else a moment ago; "
                            "choose another time or chair.", "chair_id") from None
        raise


def _after_create(appointment: Appointment, actor, reason: str | None = None) -> None:
    db.session.add(AppointmentStatusChange(appointment_id=appointment.id, from_status=None,
                                           to_status=appointment.status, reason=reason,
                                           user_id=_actor_id(actor), at=utcnow()))
    audit.record(actor, entity="appointment", entity_id=appointment.id,
                 patient_id=appointment.patient_id, action="create",
                 after=audit.snapshot(appointment, APPOINTMENT_FIELDS))
    log.info("appointment %s booked on chair %s", appointment.id, appointment.chair_id)


def _actor_id(actor) -> int | None:
    return None if actor is None or isinstance(actor, str) else actor.id


@dataclass
class SeriesPlan:
    """The sessions a series booking made, and the closed dates it skipped."""

    appointments: list[Appointment]
    skipped: list[date]


def book_series(patient: Patient, *, appointment_type: AppointmentType, chair: Chair | None,
                first_day: date, weekdays: list[int], wall_time: time, count: int, actor,
                clinician: User | None = None, now: datetime | None = None) -> SeriesPlan:
    """Book `count` sessions on the chosen weekdays at one wall-clock time, all or nothing.

    With no chair chosen each session takes the first free chair. Closed dates are skipped;
    any other refusal names every date that cannot be booked and saves nothing.
    """
    now = now or utcnow()
    if not 1 <= count <= 30:
        raise RuleError("Book between 1 and 30 sessions.", "count")
    if not weekdays:
        raise RuleError("Choose at least one weekday.", "weekdays")
    _check_parts(appointment_type, chair, clinician)
    zone = clinic_zone()
    today = booking.wall(now, zone).date()
    if first_day < today:
        raise RuleError("The first day is in the past.", "first_day")
    if first_day > today + timedelta(days=SERIES_AHEAD_DAYS):
        raise RuleError("Start the series within the next year.", "first_day")
    clinician_id = clinician.id if clinician is not None else None
    lock_for_write(db.session)
    _lock_people(patient.id, clinician_id)
    closed = clinic_rules(first_day).closed
    days, skipped = booking.series_days(first_day, weekdays, count, closed)
    rules = clinic_rules(days[0], days[-1])
    chairs = [chair] if chair is not None else active_chairs()
    if not chairs:
        raise RuleError("No chair is in use; an admin adds chairs first.", "chair_id")
    length = length_of(appointment_type)
    start, end = day_bounds(days[0], days[-1], zone)
    blocks = active_blocks(start, end)
    planned, problems = [], []
    for day in days:
        start_at = booking.local_instant(day, wall_time, zone)
        if start_at is None:
            problems.append(f"{day.isoformat()}: that time does not exist (the clocks change)")
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
            problems.append(f"{day.isoformat()}: {refusal.message}")
    if problems:
        raise RuleError("Nothing was booked. " + " ".join(problems), "first_day")
    appointments = [_new_appointment(patient, appointment_type, seat, clinician_id, s, e, actor, "", None)
                    for seat, s, e in planned]
    _insert(appointments)
    for appointment in appointments:
        _after_create(appointment, actor, reason="series")
    return SeriesPlan(appointments, skipped)


# ---------------------------------------------------------------------------- status changes

def change_status(appointment: Appointment, to_status: str, *, actor, reason: str | None = None,
                  now: datetime | None = None) -> Appointment:
    """Move an appointment along the state machine, keeping who and when; RuleError if forbidden."""
    now = now or utcnow()
    from_status = appointment.status
    if to_status not in TRANSITIONS.get(from_status, set()):
        raise RuleError(f"An appointment that is {STATUS_LABELS.get(from_status, from_status)} "
                        f"cannot be marked {STATUS_LABELS.get(to_status, to_status)}.", None)
    if to_status == "cancelled":
        if reason not in CANCEL_REASONS:
            raise RuleError("Choose why the appointment is cancelled.", "reason")
        appointment.cancel_reason = reason
    if to_status == "noshow" and appointment.start_at > now:
        raise RuleError("A no-show can only be recorded once the appointment has started.", None)
    before = audit.snapshot(appointment, APPOINTMENT_FIELDS)
    appointment.status = to_status
    appointment.sequence = (appointment.sequence or 0) + 1
    db.session.add(AppointmentStatusChange(appointment_id=appointment.id, from_status=from_status,
                                           to_status=to_status, reason=(reason or None),
                                           user_id=_actor_id(actor), at=now))
    db.session.flush()
    audit.record(actor, entity="appointment", entity_id=appointment.id,
                 patient_id=appointment.patient_id, action="status", before=before,
                 after=audit.snapshot(appointment, APPOINTMENT_FIELDS))
    log.info("appointment %s %s -> %s", appointment.id, from_status, to_status)
    return appointment


def reschedule(appointment: Appointment, *, chair: Chair, start_at: datetime, actor, reason: str,
               appointment_type: AppointmentType | None = None, clinician: User | None = None,
               now: datetime | None = None) -> Appointment:
    """Cancel the appointment (with its reason) and book a new one linked to it."""
    if appointment.status not in ("pending", "booked"):
        raise RuleError("Only a booked appointment can be rescheduled.", None)
    patient = db.session.get(Patient, appointment.patient_id)
    change_status(appointment, "cancelled", actor=actor, reason=reason, now=now)
    return book(patient, appointment_type=appointment_type or appointment.appointment_type,
                chair=chair, start_at=start_at, actor=actor, clinician=clinician,
                notes=appointment.notes, rescheduled_from=appointment, now=now)


COMPLETABLE = ("booked", "arrived")


def can_complete(appointment: Appointment) -> bool:
    """A confirmed or arrived appointment can be completed by recording its session."""
    return appointment.status in COMPLETABLE


def not_completable(appointment: Appointment) -> RuleError:
    """Why an appointment in a closed or unconfirmed state cannot be completed."""
    advice = " Confirm it first." if appointment.status == "pending" else ""
    return RuleError(f"An appointment that is {STATUS_LABELS[appointment.status]} cannot be "
                     f"completed.{advice}", None)


def fulfil_from_infusion(appointment: Appointment, infusion: Infusion, actor) -> Appointment:
    """Link a recorded infusion to its appointment and mark the appointment fulfilled.

    A confirmed appointment passes through arrived first, so its history shows both steps and
    who took them. Whatever the session's outcome (not_started too), the appointment is fulfilled.
    """
    if infusion.patient_id != appointment.patient_id:
        raise RuleError("That session belongs to another patient.", None)
    if not can_complete(appointment):
        raise not_completable(appointment)
    if appointment.status == "booked":
        change_status(appointment, "arrived", actor=actor)
    infusion.appointment_id = appointment.id
    change_status(appointment, "fulfilled", actor=actor)
    return appointment


def complete(appointment: Appointment, *, actor, given_at: datetime, values: dict,
             today: date | None = None) -> Infusion:
    """Record the appointment's infusion (re-anchoring the window when it qualifies) and
    fulfil the appointment."""
    if not can_complete(appointment):
        raise not_completable(appointment)
    course = appointment.course if appointment.course is not None and appointment.course.is_open \
        else open_course_for(appointment.patient_id)
    if course is None:
        raise RuleError("This patient has no open course; open one on the patient page first.", None)
    infusion = record_infusion(course, actor=actor, settings=get_settings(),
                               today=today or clinic_today(), given_at=given_at,
                               appointment_id=appointment.id, **values)
    fulfil_from_infusion(appointment, infusion, actor)
    return infusion
