"""Visits booked on a day the clinic closes: listed for moving, or cancelled together."""

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import ACTIVE_STATUSES, Appointment
from ..clinic import clinic_zone
from .slots import day_bounds
from .transitions import change_status


def visits_on(day: date) -> list[Appointment]:
    """The active visits of a clinic-local day, earliest first, with patient and chair."""
    start, end = day_bounds(day, day, clinic_zone())
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.start_at >= start,
                Appointment.start_at < end,
            )
            .options(joinedload(Appointment.patient), joinedload(Appointment.chair))
            .order_by(Appointment.start_at, Appointment.chair_id)
        )
    )


def cancel_visits_on(day: date, *, actor, now: datetime) -> list[Appointment]:
    """Cancel, as by the clinic, every visit still booked on a closed day; flush. Arrived
    patients are left alone (they are in the chair)."""
    cancelled = []
    for appointment in visits_on(day):
        if appointment.status in ("pending", "booked"):
            change_status(appointment, "cancelled", actor=actor, reason="clinic", now=now)
            cancelled.append(appointment)
    return cancelled
