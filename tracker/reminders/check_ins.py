"""Check-in messages: on the clinic's days after each qualifying session of a course in
maintenance (default 7, 14, 21 and 28), the patient's signed check-in link, to patients who
consented and have not opted out.

The dedupe key names the patient, the course, the session's date and the day offset, so each
message is planned, and goes out, at most once; a newer qualifying session restarts the
schedule (the older rows are cancelled), and a message whose day has passed is skipped.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import or_, select

from .. import scheduling, status
from ..check_ins.settings import (
    CHECK_IN_STATES,
    chosen_instruments,
    get_check_in_settings,
    schedule_days,
)
from ..extensions import db
from ..models import Course, Patient
from .clock import Clock

KIND = "check_in"
# A message that could not go out on its day may still go the day after, never later.
LATE_DAYS = 1


def check_in_key(patient_id: int, course_id: int, session_on: date, day: int) -> str:
    """The one row for a patient's course, session and day offset."""
    return f"{KIND}:p{patient_id}:c{course_id}:{session_on.isoformat()}:d{day}"


def day_of(key: str) -> int | None:
    """The day offset a check-in key names."""
    tail = key.rsplit(":d", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


def turned_on() -> tuple[int, ...]:
    """The schedule's days, or () when check-ins are off or ask nothing."""
    settings = get_check_in_settings()
    if not settings.enabled or not chosen_instruments(settings):
        return ()
    return schedule_days(settings)


def desired_check_ins(clock: Clock, settings, plan_ahead_days: int) -> list:
    """The check-in messages due from today to the planning horizon, for open courses of
    patients who may be emailed."""
    from .planning import Planned  # planning calls this module

    days = turned_on()
    if not days:
        return []
    today = clock.today
    last_due = today + timedelta(days=plan_ahead_days)
    rows = db.session.execute(
        select(Course.id, Course.patient_id, Course.last_qualifying_on)
        .join(Patient, Patient.id == Course.patient_id)
        .where(
            # A hold whose resume date has come counts as the state it was held in.
            or_(
                *(
                    status.state_on(status.clock_for(today, settings))(state)
                    for state in CHECK_IN_STATES
                )
            ),
            Course.last_qualifying_on.is_not(None),
            Course.last_qualifying_on >= today - timedelta(days=max(days)),
            Course.last_qualifying_on <= last_due,
            Patient.email_consent.is_(True),
            Patient.email.is_not(None),
            Patient.email != "",
            Patient.email_opt_out_at.is_(None),
        )
    ).all()
    planned = []
    for row in rows:
        for day in days:
            due_on = row.last_qualifying_on + timedelta(days=day)
            if today <= due_on <= last_due:
                planned.append(
                    Planned(
                        KIND,
                        check_in_key(row.patient_id, row.id, row.last_qualifying_on, day),
                        clock.at_local(due_on, settings.send_hours_start),
                        patient_id=row.patient_id,
                        course_id=row.id,
                        anchor_date=row.last_qualifying_on,
                    )
                )
    return planned


def due_day(reminder) -> date | None:
    """The clinic-local day a check-in row is for."""
    day = day_of(reminder.dedupe_key)
    if day is None or reminder.anchor_date is None:
        return None
    return reminder.anchor_date + timedelta(days=day)


def stale_check_in(reminder, *, course, clock: Clock) -> tuple[str, str] | None:
    """(new status, reason) when a waiting check-in message must not go out, else None."""
    days = turned_on()
    if not days:
        return "cancelled", "check-ins turned off"
    if day_of(reminder.dedupe_key) not in days:
        return "cancelled", "day no longer in the check-in schedule"
    if course is None:
        return "cancelled", "course removed"
    state = scheduling.state_on(
        course.state, clock.today, course.resume_on, course.state_before_hold
    )
    if state not in CHECK_IN_STATES:
        return "cancelled", {
            "on_hold": "course on hold",
            "series_in_progress": "series restarted",
        }.get(state, "course finished")
    if course.last_qualifying_on != reminder.anchor_date:
        return "cancelled", "a newer session restarted the check-ins"
    day = due_day(reminder)
    if day is None or clock.today > day + timedelta(days=LATE_DAYS):
        return "skipped", "too late: the check-in day has passed"
    return None


def expected_due_at(reminder, clock: Clock, settings) -> datetime | None:
    """When a check-in row should go out under the current send hours."""
    day = due_day(reminder)
    return None if day is None else clock.at_local(day, settings.send_hours_start)


def check_in_message(reminder, *, patient, course, settings):
    """'How are you doing?': the clinic's name and the patient's check-in link only."""
    from ..patient_links.tokens import link_url
    from .messages import patient_message

    return patient_message(
        KIND,
        patient=patient,
        settings=settings,
        subject=f"A few questions from {settings.display_name}",
        check_in_url=link_url("check_in", patient.id, course.id),
    )
