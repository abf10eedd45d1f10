"""Reactivation: messages asking an overdue or lapsed patient to book again, each with their
book-my-visit link, at most the clinic's number of them (`reactivation_messages`, 0 for none)
for one window, `reactivation_interval_days` apart.

The planner plans only the next message, once the one before has gone out: its dedupe key
numbers it (the patient, the anchor date, the how-many-th row for that window), so two sweeps
planning at once create it once. A message still waiting is cancelled when the patient books,
the window moves, the course leaves maintenance, or staff stop the messages for the patient
(services/outreach.py). After the last one the patient stays on the worklist marked "no
response" (worklist: `messages_sent` in services.outreach.contact_columns).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, func, select

from .. import scheduling, status
from ..extensions import db
from ..models import Course, Patient, Reminder
from .clock import Clock

KIND = "reactivation"
WAITING = ("pending", "sending")


def reactivation_key(patient_id: int, anchor, number: int) -> str:
    """The n-th reactivation row for a patient's window."""
    return f"{KIND}:p{patient_id}:{anchor.isoformat()}:{number}"


def _same_window():
    """Reactivation rows of the course's patient for the course's current window."""
    return and_(
        Reminder.kind == KIND,
        Reminder.patient_id == Course.patient_id,
        Reminder.anchor_date == Course.anchor_date,
    )


def next_due_at(latest: datetime | None, clock: Clock, settings) -> datetime:
    """The first message: today, at the start of the send hours. A later one: the interval
    after the day the one before was due (the planned dates, not a delivery's delay), at the
    start of the send hours."""
    if latest is None:
        return clock.at_local(clock.today, settings.send_hours_start)
    day = latest.astimezone(clock.zone).date() + timedelta(days=settings.reactivation_interval_days)
    return clock.at_local(day, settings.send_hours_start)


def desired_reactivations(clock: Clock, settings) -> list:
    """The next message for every overdue or lapsed, unbooked patient who may be emailed, whose
    messages staff have not stopped and who has had fewer than the clinic's number of them
    (REACTIVATION_PER_SWEEP at most: first messages before later ones, the most recently
    overdue first)."""
    from .planning import Planned  # planning calls this module

    most = settings.reactivation_messages
    if most <= 0:
        return []
    counted = (
        select(func.count(Reminder.id))
        .where(_same_window(), Reminder.status != "cancelled")
        .correlate(Course)
        .scalar_subquery()
    )
    numbered = select(func.count(Reminder.id)).where(_same_window()).correlate(Course)
    latest = (
        select(func.max(Reminder.due_at))
        .where(_same_window(), Reminder.status != "cancelled")
        .correlate(Course)
        .scalar_subquery()
    )
    waiting = exists().where(_same_window(), Reminder.status.in_(WAITING))
    rows = db.session.execute(
        select(
            Course.id,
            Course.patient_id,
            Course.anchor_date,
            numbered.scalar_subquery().label("numbered"),
            latest.label("latest"),
        )
        .join(Patient, Patient.id == Course.patient_id)
        .where(
            status.maintenance_scheduled(status.state_on(status.clock_for(clock.today, settings))),
            Course.anchor_date.is_not(None),
            Course.window_closes < clock.today,
            Patient.email_consent.is_(True),
            Patient.email.is_not(None),
            Patient.email != "",
            Patient.email_opt_out_at.is_(None),
            Patient.reactivation_stopped_at.is_(None),
            ~status.booked_expr(status.clock_for(clock.today, settings)),
            ~waiting,
            counted < most,
        )
        .order_by(counted, Course.window_closes.desc(), Course.id)  # first messages first
        .limit(int(current_app.config["REACTIVATION_PER_SWEEP"]))
    ).all()
    return [
        Planned(
            KIND,
            reactivation_key(row.patient_id, row.anchor_date, row.numbered + 1),
            next_due_at(row.latest, clock, settings),
            patient_id=row.patient_id,
            course_id=row.id,
            anchor_date=row.anchor_date,
        )
        for row in rows
    ]


def stale_reactivation(
    reminder, *, course, booked: bool, settings, today
) -> tuple[str, str] | None:
    """(new status, reason) when a waiting reactivation message must not go out, else None."""
    if settings.reactivation_messages <= 0:
        return "cancelled", "reactivation messages turned off"
    if course is None:
        return "cancelled", "course removed"
    state = scheduling.state_on(course.state, today, course.resume_on, course.state_before_hold)
    if state != "maintenance" or course.mode != "scheduled":
        return "cancelled", "course not in scheduled maintenance"
    if course.anchor_date != reminder.anchor_date or course.window_opens is None:
        return "cancelled", "window moved: new anchor date"
    if booked:
        return "cancelled", "appointment booked"
    return None


def stopped_problem(patient) -> str | None:
    """Why a reactivation message may not go to this patient now (staff stopped them)."""
    if patient is not None and patient.reactivation_stopped_at is not None:
        return "messages stopped by staff"
    return None


def reactivation_message(reminder, *, patient, course, settings):
    """'Time to book again': the clinic's name and the patient's book-my-visit link only."""
    from ..patient_links.tokens import link_url
    from .messages import patient_message

    return patient_message(
        KIND,
        patient=patient,
        settings=settings,
        subject=f"Book your next visit with {settings.display_name}",
        book_url=link_url("book", patient.id, course.id),
    )
