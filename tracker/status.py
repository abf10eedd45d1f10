"""Maintenance status of every open course, computed in SQL from the stored course facts.

tracker.scheduling.course_status is the rule for one course; `status_parts` is the same rule in
SQL, one WHERE clause per status (and per index range), and every SQL use of it is built from
those parts: the CASE (`status_expr`), the filters, the worklist's parts and the reminder
planner's candidates. "Booked" is `booked_expr`, also used by the worklist and the planner.
Threshold dates are computed here in Python and the database only compares dates, so the SQL
is the same on SQLite and PostgreSQL. tests/test_status.py proves SQL and Python agree for
random facts and dates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String, and_, case, exists, false, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from .models import ACTIVE_STATUSES, OPEN_STATES, Appointment, Course, Patient
from .models.types import UTCDateTime
from .scheduling import STATUSES


@dataclass(frozen=True)
class Clock:
    """The day `on` and the threshold dates every status comparison needs."""

    on: date
    interrupted_before: date  # a series whose last session is before this is interrupted
    lapsed_before: date  # a window that closed before this has lapsed
    zone: str  # the clinic's time zone name
    utc_offset_minutes: int  # the zone's UTC offset on `on` (SQLite has no zone data)


def _minus(day: date, days: int) -> date:
    try:
        return day - timedelta(days=days)
    except OverflowError:
        return date.min


def clock_for(on: date, settings) -> Clock:
    """Thresholds for day `on` from the clinic settings (grace, max series gap, zone)."""
    zone = ZoneInfo(settings.timezone)
    offset = zone.utcoffset(datetime.combine(on, time(12))) or timedelta(0)
    return Clock(
        on=on,
        # interrupted when (on - last).days > gap, i.e. last < on - gap
        interrupted_before=_minus(on, settings.series_max_gap_days),
        # overdue while on <= closes + grace, i.e. closes >= on - grace
        lapsed_before=_minus(on, settings.lapse_grace_days),
        zone=settings.timezone,
        utc_offset_minutes=int(offset.total_seconds() // 60),
    )


def maintenance_scheduled(in_state=None):
    """Maintenance courses in scheduled mode (the ones with a window)."""
    in_state = in_state or _stored_state
    return and_(in_state("maintenance"), Course.mode == "scheduled")


def _stored_state(state: str) -> ColumnElement[bool]:
    return Course.state == state


def hold_ended(clock: Clock, state: str) -> ColumnElement[bool]:
    """A course held in `state` whose resume date has come: it has that state's status again
    (scheduling.course_status; a hold with no recorded earlier state was of maintenance)."""
    return and_(
        Course.state == "on_hold",
        Course.resume_on <= clock.on,
        func.coalesce(Course.state_before_hold, "maintenance") == state,
    )


def state_on(clock: Clock) -> Callable[[str], ColumnElement[bool]]:
    """`in_state` for the state a course has on clock.on (scheduling.state_on): stored, or the
    state a hold whose resume date has come was held in."""
    return lambda state: or_(_stored_state(state), hold_ended(clock, state))


def status_parts(status: str, clock: Clock) -> dict[str, ColumnElement[bool]]:
    """The WHERE clauses whose union is exactly the courses with `status`, by part name.

    Each part is one range on (state, mode, window_closes, window_opens) or (state,
    last_qualifying_on) so that an index answers it. Every status has a "dated" part; "due"
    also has "undated" (scheduled maintenance with no anchor yet: nothing to wait for). The
    window columns are NULL exactly when the anchor is (services.courses.apply_facts), and a
    NULL never satisfies a comparison. Every status but on_hold also has the same parts for
    holds whose resume date has come ("resumed", and "resumed_undated" for "due").
    """
    if status == "on_hold":
        return {
            "dated": and_(
                Course.state == "on_hold",
                or_(Course.resume_on.is_(None), Course.resume_on > clock.on),
            )
        }
    parts = _state_parts(status, clock, _stored_state)
    resumed = _state_parts(status, clock, lambda state: hold_ended(clock, state))
    return {
        **parts,
        **{
            "resumed" if name == "dated" else f"resumed_{name}": part
            for name, part in resumed.items()
        },
    }


def _state_parts(status: str, clock: Clock, in_state) -> dict[str, ColumnElement[bool]]:
    """status_parts for courses whose state is read by `in_state` (stored, or held until now)."""
    on = clock.on
    scheduled = maintenance_scheduled(in_state)
    if status == "series_in_progress":
        return {
            "dated": and_(
                in_state("series_in_progress"),
                or_(
                    Course.last_qualifying_on.is_(None),
                    Course.last_qualifying_on >= clock.interrupted_before,
                ),
            )
        }
    if status == "interrupted":
        return {
            "dated": and_(
                in_state("series_in_progress"), Course.last_qualifying_on < clock.interrupted_before
            )
        }
    if status == "as_needed":
        return {"dated": and_(in_state("maintenance"), Course.mode == "as_needed")}
    if status == "not_yet_due":
        return {"dated": and_(scheduled, Course.window_opens > on)}
    if status == "due":
        return {
            "undated": and_(scheduled, Course.window_closes.is_(None)),
            "dated": and_(scheduled, Course.window_closes >= on, Course.window_opens <= on),
        }
    if status == "overdue":
        return {
            "dated": and_(
                scheduled, Course.window_closes < on, Course.window_closes >= clock.lapsed_before
            )
        }
    if status == "lapsed":
        return {"dated": and_(scheduled, Course.window_closes < clock.lapsed_before)}
    raise ValueError(f"unknown status {status!r}")


def status_predicate(status: str, clock: Clock) -> ColumnElement[bool]:
    """A WHERE clause true exactly when the course has `status` (the union of its parts)."""
    parts = list(status_parts(status, clock).values())
    return parts[0] if len(parts) == 1 else or_(*parts)


def status_expr(clock: Clock):
    """A SQL CASE giving scheduling.course_status for the course row (NULL when closed).

    Built from the predicates, which are mutually exclusive: the order of the WHENs changes
    nothing but the work, so the common maintenance statuses come first.
    """
    return case(*((status_predicate(status, clock), status) for status in CASE_ORDER), else_=None)


# Every status once (tests/test_status.py checks), the common maintenance statuses first.
CASE_ORDER = (
    "due",
    "not_yet_due",
    "overdue",
    "lapsed",
    "as_needed",
    "on_hold",
    "interrupted",
    "series_in_progress",
)


def status_filter(statuses: Iterable[str], clock: Clock):
    """A WHERE clause true when the course has any of `statuses`."""
    statuses = list(statuses)
    unknown = set(statuses) - set(STATUSES)
    if unknown:
        raise ValueError(f"unknown status {sorted(unknown)}")
    if not statuses:
        return false()
    return or_(*(status_predicate(s, clock) for s in statuses))


class day_after_starts(FunctionElement):
    """The instant the clinic-local day after a date column begins (compiled per dialect)."""

    type = UTCDateTime()
    name = "day_after_starts"
    inherit_cache = True


@compiles(day_after_starts, "postgresql")
def _day_after_starts_postgresql(element, compiler, **kw):
    day, zone, _modifier = list(element.clauses)
    return f"(({compiler.process(day, **kw)} + 1)::timestamp AT TIME ZONE {compiler.process(zone, **kw)})"


@compiles(day_after_starts, "sqlite")
def _day_after_starts_sqlite(element, compiler, **kw):
    # SQLite stores UTC instants as 'YYYY-MM-DD HH:MM:SS.ffffff' text and has no zone data:
    # shift local midnight by the zone's offset on the day asked about (clinics are closed at
    # midnight, so a daylight-saving hour of difference changes nothing in practice).
    day, _zone, modifier = list(element.clauses)
    return f"datetime({compiler.process(day, **kw)}, '+1 day', {compiler.process(modifier, **kw)})"


def after_anchor(clock: Clock, start=Appointment.start_at):
    """`start` is on a clinic-local day after the course's anchor (or last series session).

    The booked rule's date half: an active appointment whose start passes it books the course.
    """
    bound = func.coalesce(Course.anchor_date, Course.last_qualifying_on)
    modifier = f"{-clock.utc_offset_minutes:+d} minutes"
    return or_(bound.is_(None), start >= day_after_starts(bound, clock.zone, modifier))


def _active_appointment(clock: Clock):
    return and_(
        Appointment.course_id == Course.id,
        Appointment.status.in_(ACTIVE_STATUSES),
        after_anchor(clock),
    )


def booked_expr(clock: Clock):
    """EXISTS an active appointment for the course after its anchor."""
    return exists().where(_active_appointment(clock))


def next_appointment_expr(clock: Clock):
    """The start of the course's earliest active appointment after its anchor (or NULL)."""
    return (
        select(func.min(Appointment.start_at))
        .where(_active_appointment(clock))
        .correlate(Course)
        .scalar_subquery()
    )


def open_courses(clock: Clock, statuses: Iterable[str] | None = None, *, booked: bool = True):
    """One row per open course: patient, facts, status, next appointment (and booked)."""
    columns = [
        Course.id.label("course_id"),
        Course.patient_id,
        Patient.mrn,
        Patient.first_name,
        Patient.last_name,
        status_expr(clock).label("status"),
        Course.anchor_date,
        Course.window_opens,
        Course.window_closes,
        Course.last_qualifying_on,
        next_appointment_expr(clock).label("next_appointment"),
    ]
    if booked:
        columns.append(booked_expr(clock).label("booked"))
    stmt = (
        select(*columns)
        .join(Patient, Patient.id == Course.patient_id)
        .where(Course.state.in_(OPEN_STATES))
    )
    if statuses is not None:
        stmt = stmt.where(status_filter(statuses, clock))
    return stmt


class iso_date(FunctionElement):
    """A date column as 'YYYY-MM-DD' text, made by the database (compiled per dialect).

    The `due` command prints dates as ISO text: reading them as text skips turning every
    date into a Python date and back.
    """

    type = String()
    name = "iso_date"
    inherit_cache = True


@compiles(iso_date, "postgresql")
def _iso_date_postgresql(element, compiler, **kw):
    day = list(element.clauses)[0]
    return f"to_char({compiler.process(day, **kw)}, 'YYYY-MM-DD')"


@compiles(iso_date)
def _iso_date_default(element, compiler, **kw):
    # SQLite stores dates as 'YYYY-MM-DD' text already.
    return compiler.process(list(element.clauses)[0], **kw)


def due_list(clock: Clock):
    """Every open course's MRN, status, window and next appointment, by MRN (the `due` command).

    The anchor and window dates come back as ISO text (see iso_date).
    """
    return (
        select(
            Patient.mrn,
            status_expr(clock).label("status"),
            iso_date(Course.anchor_date).label("anchor_date"),
            iso_date(Course.window_opens).label("window_opens"),
            iso_date(Course.window_closes).label("window_closes"),
            next_appointment_expr(clock).label("next_appointment"),
        )
        .join(Patient, Patient.id == Course.patient_id)
        .where(Course.state.in_(OPEN_STATES))
        .order_by(Patient.mrn)
    )


def stream(session, stmt, batch: int = 2000) -> Iterator:
    """Execute and yield rows in batches, without loading the whole result."""
    result = session.execute(stmt.execution_options(yield_per=batch, stream_results=True))
    try:
        yield from result
    finally:
        result.close()
