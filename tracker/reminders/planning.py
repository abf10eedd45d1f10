"""Planning the outbox from the current facts, at every sweep.

Each reminder the facts call for gets a row with a unique dedupe key (inserted with ON CONFLICT
DO NOTHING, so two sweeps planning at once create it once). Pending rows the facts no longer
call for are cancelled (a booking, a new anchor, a cancelled or moved appointment) or skipped
(too late to be useful after missed sweeps), each with its reason.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, func, or_, select, update

from .. import scheduling, status
from ..extensions import db
from ..models import Appointment, Course, Reminder, User, utcnow
from ..services import waitlist
from . import check_ins
from .clock import Clock
from .notices import NOTICE_KINDS, stale_notice
from .reactivation import KIND as REACTIVATION
from .reactivation import desired_reactivations, stale_reactivation

log = logging.getLogger(__name__)

WINDOW_KINDS = ("window_upcoming", "window_closing")
BOOKING_KINDS = WINDOW_KINDS + (REACTIVATION,)  # asking to book: retired once the course is booked
REMINDABLE_APPOINTMENT_STATUSES = ("pending", "booked")
CHUNK = 500


@dataclass(frozen=True)
class Planned:
    """A reminder the facts call for."""

    kind: str
    dedupe_key: str
    due_at: datetime
    patient_id: int | None = None
    user_id: int | None = None
    course_id: int | None = None
    appointment_id: int | None = None
    anchor_date: date | None = None
    waitlist_offer_id: int | None = None


@dataclass
class PlanResult:
    """What one planning pass did."""

    planned: int = 0
    retimed: int = 0
    changes: list = field(default_factory=list)  # (reminder id, new status, reason)

    def count(self, status: str) -> int:
        return sum(1 for _, new_status, _ in self.changes if new_status == status)


def window_key(kind: str, patient_id: int, anchor: date) -> str:
    return f"{kind}:p{patient_id}:{anchor.isoformat()}"


def appointment_key(appointment_id: int, start_at: datetime, moves: int = 0) -> str:
    """One reminder per visit and time; after the n-th move the key says so (`:m<n>`)."""
    return f"appointment:a{appointment_id}:{start_at:%Y%m%dT%H%MZ}{f':m{moves}' if moves else ''}"


def digest_key(user_id: int, day: date) -> str:
    return f"staff_digest:u{user_id}:{day.isoformat()}"


def window_due_on(kind: str, course, settings) -> date:
    """The clinic-local date a window reminder is due: N days before the window opens/closes."""
    if kind == "window_upcoming":
        return course.window_opens - timedelta(days=settings.window_upcoming_days)
    return course.window_closes - timedelta(days=settings.window_closing_days)


def window_target(kind: str, course) -> date:
    """The date a window reminder is about; once it is reached the reminder is too late."""
    return course.window_opens if kind == "window_upcoming" else course.window_closes


def appointment_due_at(start_at: datetime, clock: Clock, settings) -> datetime:
    """N hours before the appointment; moved earlier into the send hours when that is at night."""
    return clock.latest_send_moment(start_at - timedelta(hours=settings.appointment_hours))


def plan_ahead_days() -> int:
    return int(current_app.config["REMINDER_PLAN_AHEAD_DAYS"])


# --- booked or not -------------------------------------------------------------------------

def booked_courses(course_ids, clock: Clock, settings) -> set[int]:
    """The courses among `course_ids` that are booked (tracker.status.booked_expr, the one rule)."""
    status_clock = status.clock_for(clock.today, settings)
    booked: set[int] = set()
    ids = sorted(set(course_ids))
    for start in range(0, len(ids), CHUNK):
        booked.update(db.session.scalars(
            select(Course.id).where(Course.id.in_(ids[start:start + CHUNK]),
                                    status.booked_expr(status_clock))))
    return booked


# --- what the facts call for ---------------------------------------------------------------

def window_candidates(clock: Clock, settings, last_due: date):
    """Scheduled maintenance courses whose window opens, or closes, after today and soon enough
    for a reminder due by `last_due` (whether booked is a separate clause)."""
    today = clock.today
    in_state = status.state_on(status.clock_for(today, settings))  # a hold that has ended counts
    return and_(
        status.maintenance_scheduled(in_state), Course.anchor_date.is_not(None),
        or_(
            and_(Course.window_opens > today,
                 Course.window_opens <= last_due + timedelta(days=settings.window_upcoming_days)),
            and_(Course.window_closes > today,
                 Course.window_closes <= last_due + timedelta(days=settings.window_closing_days)),
        ),
    )


def desired_window_reminders(clock: Clock, settings) -> list[Planned]:
    """Window reminders due within the planning horizon, still relevant, for unbooked courses."""
    today = clock.today
    last_due = today + timedelta(days=plan_ahead_days())
    courses = db.session.execute(
        select(Course.id, Course.patient_id, Course.anchor_date, Course.window_opens, Course.window_closes)
        .where(window_candidates(clock, settings, last_due),
               ~status.booked_expr(status.clock_for(today, settings)))
    ).all()
    planned = []
    for course in courses:
        for kind in WINDOW_KINDS:
            due_on = window_due_on(kind, course, settings)
            if due_on <= last_due and today < window_target(kind, course):
                planned.append(Planned(kind, window_key(kind, course.patient_id, course.anchor_date),
                                       clock.at_local(due_on, settings.send_hours_start),
                                       patient_id=course.patient_id, course_id=course.id,
                                       anchor_date=course.anchor_date))
    return planned


def desired_appointment_reminders(clock: Clock, settings) -> list[Planned]:
    """A reminder N hours before each pending or booked appointment starting soon (earlier
    when that moment falls outside the send hours)."""
    lead = timedelta(hours=settings.appointment_hours)
    rows = db.session.execute(
        select(Appointment.id, Appointment.patient_id, Appointment.course_id, Appointment.start_at,
               Appointment.moves)
        .where(Appointment.status.in_(REMINDABLE_APPOINTMENT_STATUSES),
               Appointment.start_at > clock.now,
               Appointment.start_at <= clock.now + lead + timedelta(days=plan_ahead_days()))
    ).all()
    return [Planned("appointment", appointment_key(row.id, row.start_at, row.moves),
                    appointment_due_at(row.start_at, clock, settings),
                    patient_id=row.patient_id, course_id=row.course_id, appointment_id=row.id)
            for row in rows]


def desired_digests(clock: Clock, settings) -> list[Planned]:
    """Today's worklist digest for every active front-desk account."""
    user_ids = db.session.scalars(
        select(User.id).where(User.role == "frontdesk", User.active.is_(True))
    ).all()
    due_at = clock.at_local(clock.today, settings.digest_hour)
    return [Planned("staff_digest", digest_key(user_id, clock.today), due_at, user_id=user_id,
                    anchor_date=clock.today) for user_id in user_ids]


def insert_planned(rows: list[Planned]) -> int:
    """Insert the rows that do not exist yet; returns how many were new.

    Keys already in the outbox are filtered out first (the usual case at every sweep); the rest
    go in with ON CONFLICT DO NOTHING, so a concurrent sweep planning the same row is harmless.
    """
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database: {dialect}")
    keys = sorted({row.dedupe_key for row in rows})
    existing = set()
    for start in range(0, len(keys), CHUNK):
        existing.update(db.session.scalars(
            select(Reminder.dedupe_key).where(Reminder.dedupe_key.in_(keys[start:start + CHUNK]))))
    # Sorted keys: concurrent planners take the unique-key locks in the same order (no deadlock).
    new_rows = sorted((row for row in rows if row.dedupe_key not in existing), key=lambda row: row.dedupe_key)
    if not new_rows:
        return 0
    now = utcnow()
    values = [dict(kind=r.kind, dedupe_key=r.dedupe_key, due_at=r.due_at, patient_id=r.patient_id,
                   user_id=r.user_id, course_id=r.course_id, appointment_id=r.appointment_id,
                   anchor_date=r.anchor_date, waitlist_offer_id=r.waitlist_offer_id, status="pending", channel="email", attempts=0,
                   created_at=now, updated_at=now)
              for r in new_rows]
    stmt = insert(Reminder.__table__).on_conflict_do_nothing(
        index_elements=["dedupe_key"]).returning(Reminder.__table__.c.id)
    created = 0
    for start in range(0, len(values), CHUNK):
        created += len(db.session.execute(stmt, values[start:start + CHUNK]).all())
    return created


# --- what the facts no longer call for -----------------------------------------------------

def stale_reason(reminder: Reminder, *, course, appointment, user, booked: bool, clock: Clock,
                 settings) -> tuple[str, str] | None:
    """(new status, reason) when a reminder should not go out any more, else None."""
    if reminder.kind in WINDOW_KINDS:
        if course is None:
            return "cancelled", "course removed"
        state = scheduling.state_on(course.state, clock.today, course.resume_on,
                                    course.state_before_hold)
        if state != "maintenance":
            return "cancelled", {"on_hold": "course on hold"}.get(state, "course not in maintenance")
        if course.mode != "scheduled":
            return "cancelled", "maintenance is as needed: no window"
        if course.anchor_date != reminder.anchor_date or course.window_opens is None:
            return "cancelled", "window moved: new anchor date"
        if booked:
            return "cancelled", "appointment booked"
        if clock.today >= window_target(reminder.kind, course):
            return "skipped", ("too late: the window is already open" if reminder.kind == "window_upcoming"
                               else "too late: the window has closed")
        return None
    if reminder.kind == "appointment":
        if appointment is None:
            return "cancelled", "appointment removed"
        if appointment.status not in REMINDABLE_APPOINTMENT_STATUSES:
            return "cancelled", f"appointment {appointment.status}"
        if appointment_key(appointment.id, appointment.start_at, appointment.moves) != reminder.dedupe_key:
            return "cancelled", "appointment moved"
        if clock.now >= appointment.start_at:
            return "skipped", "too late: the appointment has started"
        return None
    if reminder.kind in NOTICE_KINDS:
        return stale_notice(reminder, appointment=appointment, clock=clock)
    if reminder.kind == "waitlist_offer":
        return None  # the offer itself is checked when it is sent (reminders/facts.py)
    if reminder.kind == check_ins.KIND:
        return check_ins.stale_check_in(reminder, course=course, clock=clock)
    if reminder.kind == REACTIVATION:
        return stale_reactivation(reminder, course=course, booked=booked, settings=settings,
                                  today=clock.today)
    if reminder.kind == "staff_digest":
        if user is None or not user.active or user.role != "frontdesk":
            return "cancelled", "staff account inactive or no longer front desk"
        if reminder.anchor_date is not None and reminder.anchor_date < clock.today:
            return "skipped", "replaced by a newer digest"
        return None
    return "cancelled", "unknown kind"


def expected_due_at(reminder: Reminder, *, course, appointment, clock: Clock, settings) -> datetime | None:
    """When a still-relevant reminder should go out under the current settings and facts."""
    if reminder.kind in WINDOW_KINDS and course is not None and course.window_opens is not None:
        return clock.at_local(window_due_on(reminder.kind, course, settings), settings.send_hours_start)
    if reminder.kind == "appointment" and appointment is not None:
        return appointment_due_at(appointment.start_at, clock, settings)
    if reminder.kind == "staff_digest" and reminder.anchor_date is not None:
        return clock.at_local(reminder.anchor_date, settings.digest_hour)
    if reminder.kind == check_ins.KIND:
        return check_ins.expected_due_at(reminder, clock, settings)
    return None


def reconcile(clock: Clock, settings, result: PlanResult) -> None:
    """Cancel, skip or re-time pending rows whose facts changed since they were planned."""
    # Columns, not ORM objects: tens of thousands of rows are only read here.
    pending = db.session.execute(
        select(Reminder.id, Reminder.kind, Reminder.dedupe_key, Reminder.patient_id, Reminder.user_id,
               Reminder.course_id, Reminder.appointment_id, Reminder.anchor_date, Reminder.due_at)
        .where(Reminder.status == "pending").order_by(Reminder.id)
    ).all()
    if not pending:
        return
    courses = by_id(Course, {r.course_id for r in pending if r.course_id},
                    columns=("state", "mode", "anchor_date", "window_opens", "window_closes",
                             "last_qualifying_on", "resume_on", "state_before_hold"))
    appointments = by_id(Appointment, {r.appointment_id for r in pending if r.appointment_id},
                         columns=("status", "start_at", "moves"))
    users = by_id(User, {r.user_id for r in pending if r.user_id}, columns=("active", "role"))
    booked = booked_courses(
        [r.course_id for r in pending if r.kind in BOOKING_KINDS and r.course_id], clock, settings)
    for reminder in pending:
        course = courses.get(reminder.course_id)
        appointment = appointments.get(reminder.appointment_id)
        verdict = stale_reason(reminder, course=course, appointment=appointment,
                               user=users.get(reminder.user_id), booked=reminder.course_id in booked,
                               clock=clock, settings=settings)
        if verdict is not None:
            status, reason = verdict
            if close_pending(reminder.id, status, reason):
                result.changes.append((reminder.id, status, reason))
                log.info("reminder %s %s: %s", reminder.id, status, reason)
            continue
        due_at = expected_due_at(reminder, course=course, appointment=appointment, clock=clock,
                                 settings=settings)
        if due_at is not None and due_at != reminder.due_at:
            retimed = db.session.execute(
                update(Reminder).where(Reminder.id == reminder.id, Reminder.status == "pending")
                .values(due_at=due_at).execution_options(synchronize_session=False)
            ).rowcount
            result.retimed += retimed


def by_id(model, ids, columns: tuple[str, ...] | None = None) -> dict:
    """Rows of `model` with these ids, by id (chunked IN queries): ORM objects, or with `columns`
    read-only rows holding the id and those columns (much cheaper for thousands of rows)."""
    found = {}
    ids = sorted(ids)
    for start in range(0, len(ids), CHUNK):
        chunk = model.id.in_(ids[start:start + CHUNK])
        if columns:
            rows = db.session.execute(
                select(model.id, *(getattr(model, name) for name in columns)).where(chunk))
        else:
            rows = db.session.scalars(select(model).where(chunk))
        for row in rows:
            found[row.id] = row
    return found


_CLOSE_PENDING = None


def close_pending(reminder_id: int, status: str, reason: str) -> bool:
    """Move a row from pending to cancelled or skipped; False if someone else moved it first."""
    global _CLOSE_PENDING
    if _CLOSE_PENDING is None:  # built once, reused for every row (SQLAlchemy caches it compiled)
        table = Reminder.__table__
        _CLOSE_PENDING = (
            update(table).where(table.c.id == bindparam("rid"), table.c.status == "pending")
            .values({table.c.status: bindparam("v_status", type_=table.c.status.type),
                     table.c.skip_reason: bindparam("v_reason", type_=table.c.skip_reason.type),
                     table.c.lease_until: None, table.c.claimed_by: None})
        )
    return db.session.connection().execute(
        _CLOSE_PENDING, {"rid": reminder_id, "v_status": status, "v_reason": reason[:120]}
    ).rowcount == 1


def count_patients_swept() -> int:
    """Patients whose reminders the sweep considers: scheduled maintenance with a window."""
    return db.session.scalar(
        select(func.count(func.distinct(Course.patient_id))).where(
            status.maintenance_scheduled(), Course.anchor_date.is_not(None))
    ) or 0


def plan(clock: Clock, settings, *, include_digests: bool = True) -> PlanResult:
    """Insert what the facts call for, then retire what they no longer do; flush, no commit."""
    result = PlanResult()
    wanted = desired_window_reminders(clock, settings) + desired_appointment_reminders(clock, settings)
    wanted += desired_reactivations(clock, settings)
    wanted += check_ins.desired_check_ins(clock, settings, plan_ahead_days())
    if include_digests:
        wanted += desired_digests(clock, settings)
    result.planned = insert_planned(wanted)
    result.planned += len(waitlist.pass_on_expired(now=clock.now, today=clock.today, settings=settings))
    reconcile(clock, settings, result)
    db.session.flush()
    return result
