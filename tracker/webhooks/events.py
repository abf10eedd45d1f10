"""Which events happened: appointment changes seen as they are saved, and the dates that pass
(a window opening, a patient lapsing) found by the scheduler. Each becomes one delivery per
subscribed endpoint, in the same transaction as the change (a transactional outbox).

Appointment events come from the status history every service already writes
(AppointmentStatusChange), so no booking, move or cancel path can skip them. Bodies carry
ids, statuses and times only: never names, notes or anything clinical.
"""

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..models import (
    Appointment,
    AppointmentStatusChange,
    Course,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from ..status import Clock, status_predicate

log = logging.getLogger(__name__)

PENDING_KEY = "webhook_events"
RECENT_DAYS = 7  # a date event found late (the scheduler was down) is still sent this long after
APPOINTMENT_EVENTS = {
    "cancelled": "appointment.cancelled",
    "noshow": "appointment.no_show",
    "fulfilled": "appointment.fulfilled",
}


def body_for(event_name: str, occurred_at, data: dict) -> str:
    """The JSON body: an event id, its type and time, and the ids and times it concerns."""
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "type": event_name,
            "occurred_at": occurred_at.isoformat(),
            "data": data,
        },
        sort_keys=True,
    )


def _utc(instant: datetime) -> str:
    """An instant in UTC, ISO 8601 (a just-moved visit still holds the offset it was given)."""
    return instant.astimezone(UTC).isoformat()


def _appointment_data(appointment: Appointment) -> dict:
    return {
        "appointment_id": appointment.id,
        "patient_id": appointment.patient_id,
        "course_id": appointment.course_id,
        "chair_id": appointment.chair_id,
        "start_at": _utc(appointment.start_at),
        "end_at": _utc(appointment.end_at),
        "status": appointment.status,
    }


def _event_name(change: AppointmentStatusChange, appointment: Appointment) -> str | None:
    if change.moved_from_at is not None:  # an in-place move (services/appointments/moves.py)
        return "appointment.moved"
    if change.from_status is None:
        return "appointment.moved" if appointment.rescheduled_from_id else "appointment.booked"
    return APPOINTMENT_EVENTS.get(change.to_status)


@event.listens_for(Session, "before_flush")
def _collect(session, flush_context, instances) -> None:
    """Note each new status change with the appointment it belongs to."""
    for change in [o for o in session.new if isinstance(o, AppointmentStatusChange)]:
        with session.no_autoflush:
            appointment = (
                change.appointment
                if change.appointment_id is None
                else session.get(Appointment, change.appointment_id)
            )
        if appointment is not None and _event_name(change, appointment):
            session.info.setdefault(PENDING_KEY, []).append((change, appointment))


@event.listens_for(Session, "before_commit")
def _enqueue(session) -> None:
    """Turn the noted changes into deliveries, in the committing transaction."""
    if session.in_nested_transaction():
        return  # a savepoint (the booking's clash guard on PostgreSQL): wait for the real commit
    if any(isinstance(o, AppointmentStatusChange) for o in session.new):
        session.flush()  # the history rows added since the last flush are noted now
    if not session.info.get(PENDING_KEY):
        return
    session.flush()
    noted = session.info.pop(PENDING_KEY, [])
    moved_away = {a.rescheduled_from_id for _, a in noted if a.rescheduled_from_id}
    endpoints = list(
        session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)))
    )
    for change, appointment in noted:
        name = _event_name(change, appointment)
        if name is None or (name == "appointment.cancelled" and appointment.id in moved_away):
            continue  # the move's own event says it; the cancelled half is not a separate event
        data = _appointment_data(appointment)
        if name == "appointment.moved" and change.moved_from_at is not None:
            data["previous_start_at"] = _utc(change.moved_from_at)
            data["previous_chair_id"] = change.moved_from_chair_id
        elif name == "appointment.moved":  # cancel and rebook: the new appointment's event
            data["previous_appointment_id"] = appointment.rescheduled_from_id
        if name == "appointment.cancelled":
            data["cancel_reason"] = appointment.cancel_reason
        for endpoint in endpoints:
            if name in endpoint.event_names:
                session.add(
                    WebhookDelivery(
                        endpoint_id=endpoint.id,
                        event=name,
                        dedupe_key=f"{endpoint.id}:{name}:change-{change.id}",
                        body=body_for(name, change.at or utcnow(), data),
                        next_attempt_at=utcnow(),
                    )
                )


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    """Nothing was saved: nothing to announce."""
    session.info.pop(PENDING_KEY, None)


def insert_new(session, rows: list[dict]) -> int:
    """Insert deliveries, skipping any whose dedupe_key exists (a second scheduler's, or an
    earlier sweep's); the number inserted."""
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(WebhookDelivery).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return session.execute(statement.returning(WebhookDelivery.id)).all().__len__()


def plan_date_events(session, clock: Clock) -> int:
    """Deliveries for windows that opened and patients who lapsed in the last RECENT_DAYS days,
    found with the status rule's own SQL (tracker.status); each once per endpoint."""
    endpoints = list(
        session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)))
    )
    wanted = {name for e in endpoints for name in e.event_names}
    if not wanted & {"window.opened", "patient.lapsed"}:
        return 0
    since = clock.on - timedelta(days=RECENT_DAYS)
    now, rows = utcnow(), []
    found = []
    if "window.opened" in wanted:
        opened = session.execute(
            select(Course.id, Course.patient_id, Course.window_opens, Course.window_closes).where(
                status_predicate("due", clock), Course.window_opens >= since
            )
        )
        found += [
            (
                "window.opened",
                c,
                {
                    "course_id": c.id,
                    "patient_id": c.patient_id,
                    "window_opens": c.window_opens.isoformat(),
                    "window_closes": c.window_closes.isoformat(),
                },
                c.window_opens.isoformat(),
            )
            for c in opened
        ]
    if "patient.lapsed" in wanted:
        lapsed = session.execute(
            select(Course.id, Course.patient_id, Course.window_closes).where(
                status_predicate("lapsed", clock),
                Course.window_closes >= clock.lapsed_before - timedelta(days=RECENT_DAYS),
            )
        )
        found += [
            (
                "patient.lapsed",
                c,
                {
                    "course_id": c.id,
                    "patient_id": c.patient_id,
                    "window_closes": c.window_closes.isoformat(),
                },
                c.window_closes.isoformat(),
            )
            for c in lapsed
        ]
    for name, course, data, day in found:
        for endpoint in endpoints:
            if name in endpoint.event_names:
                rows.append(
                    {
                        "endpoint_id": endpoint.id,
                        "event": name,
                        "status": "pending",
                        "dedupe_key": f"{endpoint.id}:{name}:course-{course.id}:{day}",
                        "body": body_for(name, now, data),
                        "next_attempt_at": now,
                        "attempts": 0,
                        "created_at": now,
                    }
                )
    return insert_new(session, rows)
