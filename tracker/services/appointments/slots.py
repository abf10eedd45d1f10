"""Free chair time: the clinic's rules and booked blocks read from the database, and the
earliest free slots for a patient (the pure rules live in tracker.booking)."""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, cast, func, or_, select

from ... import booking
from ...extensions import db
from ...models import (
    ACTIVE_STATUSES, Appointment, AppointmentType, Chair, ClosedDate, Course, OpeningHours, Patient, User, utcnow,
)
from ..clinic import clinic_today, clinic_zone, get_settings
from ..courses import open_course_for

SEARCH_DAYS = 42  # how far a series or open-ended search looks ahead
CHUNK_DAYS = 14  # days of blocks fetched per query while searching


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
                               max_concurrent=settings.max_concurrent_per_clinician,
                               date_style=settings.date_style, time_style=settings.time_style)


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
                  clinician_id=None, exclude_id: int | None = None) -> list[booking.Block]:
    """Active blocks overlapping [start, end), in one query; optionally only those touching a
    chair, a patient or a clinician, and without one appointment (the visit being moved)."""
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
    if exclude_id is not None:
        query = query.where(Appointment.id != exclude_id)
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
                 limit: int = 12, per_day: int = 3, chair_ids: list[int] | None = None,
                 exclude_id: int | None = None) -> SlotSearch:
    """The earliest free blocks for a patient: inside the maintenance window, or from the next
    day on during a series, or from today otherwise; on `chair_ids` only, when given.
    `exclude_id`: a visit being moved, whose own block (and day) is free for it."""
    today = today or clinic_today()
    now = now or utcnow()
    course = open_course_for(patient.id)
    if (course is not None and course.state == "maintenance" and course.mode == "scheduled"
            and course.window_opens is not None):
        search = SlotSearch("maintenance", max(course.window_opens, today, from_day or today),
                            course.window_closes, course.window_opens, course.window_closes)
        search.window_passed = today > course.window_closes
        if search.first_day <= search.last_day:
            search.slots = _find(patient.id, appointment_type, search.first_day, search.last_day,
                                 clinician_id, now, limit, per_day, chair_ids, exclude_id)
        if not search.slots:
            pushed_past = from_day is not None and from_day > course.window_closes
            search.window_full = not search.window_passed and not pushed_past
            after = max(course.window_closes + timedelta(days=1), today, from_day or today)
            search.later_slots = _find(patient.id, appointment_type, after,
                                       after + timedelta(days=SEARCH_DAYS), clinician_id, now,
                                       limit, per_day, chair_ids, exclude_id)
        return search
    if course is not None and course.state == "series_in_progress":
        first = max(today, _last_booked_day(patient.id) or today) + timedelta(days=1)
        purpose = "series"
    else:
        first, purpose = today, "open"
    first = max(first, from_day or first)
    search = SlotSearch(purpose, first, first + timedelta(days=SEARCH_DAYS))
    search.slots = _find(patient.id, appointment_type, search.first_day, search.last_day,
                         clinician_id, now, limit, per_day, chair_ids, exclude_id)
    return search


def free_slots(patient: Patient, appointment_type: AppointmentType, first: date, last: date, *,
               clinician_id: int | None = None, now: datetime | None = None, limit: int = 12,
               per_day: int = 3, not_before: datetime | None = None) -> list[booking.Slot]:
    """The earliest free blocks for a patient between two clinic-local dates (both included),
    none starting before `not_before` (a cursor: where the page before stopped)."""
    now = now or utcnow()
    if not_before is not None:
        now = max(now, not_before)
    return _find(patient.id, appointment_type, first, last, clinician_id, now, limit, per_day)


def chair_slots(appointment_type: AppointmentType, first: date, last: date, *,
                chair_ids: list[int] | None = None, now: datetime | None = None, limit: int = 12,
                per_day: int = 3) -> list[booking.Slot]:
    """The earliest free blocks on the chairs (every chair in use when None) between two
    clinic-local dates, for no patient in particular (a calendar's free time, FHIR Slot)."""
    return _find(None, appointment_type, first, last, None, now or utcnow(), limit, per_day,
                 chair_ids)


def _last_booked_day(patient_id: int) -> date | None:
    """The clinic-local date of the patient's latest active appointment."""
    last = db.session.scalar(select(func.max(Appointment.start_at)).where(
        Appointment.patient_id == patient_id, Appointment.status.in_(ACTIVE_STATUSES)))
    return None if last is None else last.astimezone(clinic_zone()).date()


def _find(patient_id: int | None, appointment_type, first: date, last: date, clinician_id, now,
          limit, per_day, chair_ids=None, exclude_id=None):
    """The pure finder over the range, a fortnight at a time: one query of blocks per fortnight
    searched (never one per day or per candidate), stopping as soon as enough slots are found."""
    chairs = [chair.id for chair in active_chairs() if chair_ids is None or chair.id in chair_ids]
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
        slots += booking.find_slots(days=days, chairs=chairs,
                                    blocks=active_blocks(start, end, exclude_id=exclude_id),
                                    rules=rules, length=length, patient_id=patient_id,
                                    clinician_id=clinician_id, now=now, limit=limit - len(slots),
                                    per_day=per_day)
        chunk_first = chunk_last + timedelta(days=1)
    return slots


# ---------------------------------------------------------------------------- one day's starts

NEARBY_DAYS = 14  # how far the earlier / later day links look for a day with free time
NOON = time(12)


@dataclass
class DayStarts:
    """Every free start of one chosen day, and the nearest days before and after with any."""

    day: date
    morning: list[booking.Slot] = field(default_factory=list)
    afternoon: list[booking.Slot] = field(default_factory=list)
    earlier: date | None = None
    later: date | None = None

    @property
    def starts(self) -> list[booking.Slot]:
        return self.morning + self.afternoon


def day_starts(patient: Patient, appointment_type: AppointmentType, day: date, *,
               clinician_id: int | None = None, exclude_id: int | None = None,
               not_before: date | None = None, now: datetime | None = None,
               prefer_chair: int | None = None) -> DayStarts:
    """The free starts of `day` grouped morning / afternoon, and the nearest earlier (not before
    `not_before`) and later days that have free starts: one query of blocks per fortnight."""
    now = now or utcnow()
    chairs = [chair.id for chair in active_chairs()]
    first = max(day - timedelta(days=NEARBY_DAYS), not_before or day)
    last = day + timedelta(days=NEARBY_DAYS)
    rules = clinic_rules(first, last)
    length = length_of(appointment_type)
    start, end = day_bounds(first, last, rules.zone)
    blocks = active_blocks(start, end, exclude_id=exclude_id)

    def starts_on(on: date) -> list[booking.Slot]:
        return booking.day_starts(day=on, chairs=chairs, blocks=blocks, rules=rules, length=length,
                                  patient_id=patient.id, clinician_id=clinician_id, now=now,
                                  prefer_chair=prefer_chair)

    chosen = DayStarts(day)
    for slot in starts_on(day):
        morning = booking.wall(slot.start, rules.zone).time() < NOON
        (chosen.morning if morning else chosen.afternoon).append(slot)
    chosen.earlier = next((day - timedelta(days=n) for n in range(1, (day - first).days + 1)
                           if starts_on(day - timedelta(days=n))), None)
    chosen.later = next((day + timedelta(days=n) for n in range(1, NEARBY_DAYS + 1)
                         if starts_on(day + timedelta(days=n))), None)
    return chosen
