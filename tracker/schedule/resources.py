"""The clinic's bookable resources: chairs, opening hours, closed dates, appointment types and
clinician capacity. Operations flush; the view commits. Each change is audited."""
import logging
from datetime import date, time

from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    ACTIVE_STATUSES, Appointment, AppointmentType, Chair, ClosedDate, OpeningHours,
)
from ..services import audit, checklist
from ..services.clinic import update_settings
from ..services.errors import RuleError

log = logging.getLogger(__name__)

TYPE_FIELDS = ("name", "prep_min", "infusion_min", "recovery_min", "for_series", "active", "bookable_online")


def _name_taken(model, name: str, own_id: int | None) -> bool:
    query = select(model.id).where(func.lower(model.name) == name.lower())
    if own_id is not None:
        query = query.where(model.id != own_id)
    return db.session.scalar(query) is not None


def save_chair(chair: Chair | None, *, name: str, position: int | None, actor,
               bookable_online: bool = False) -> Chair:
    """Add a chair, in use (None), or rename and reorder one; say whether patients book it online."""
    name = name.strip()
    if not name:
        raise RuleError("Enter a name.", "name")
    if _name_taken(Chair, name, chair.id if chair else None):
        raise RuleError("A chair with this name already exists.", "name")
    before = {"name": chair.name, "position": chair.position,
              "bookable_online": chair.bookable_online} if chair else None
    if chair is None:
        chair = Chair(name=name, position=position or 0, active=True, bookable_online=bool(bookable_online))
        db.session.add(chair)
    else:
        chair.name, chair.position = name, position or 0
        chair.bookable_online = bool(bookable_online)
    db.session.flush()
    audit.record(actor, entity="chair", entity_id=chair.id, patient_id=None,
                 action="update" if before else "create", before=before,
                 after={"name": chair.name, "position": chair.position,
                        "bookable_online": chair.bookable_online})
    return chair


def set_chair_active(chair: Chair, *, active: bool, actor) -> int:
    """Take a chair out of use (or back); returns how many active bookings it still holds."""
    before = {"active": chair.active}
    chair.active = active
    db.session.flush()
    audit.record(actor, entity="chair", entity_id=chair.id, patient_id=None, action="update",
                 before=before, after={"active": active})
    return db.session.scalar(select(func.count(Appointment.id)).where(
        Appointment.chair_id == chair.id, Appointment.status.in_(ACTIVE_STATUSES))) or 0


def set_opening_hours(week: dict[int, tuple[time, time] | None], *, actor) -> None:
    """Replace the week's opening hours; a weekday mapped to None is closed."""
    existing = {row.weekday: row for row in db.session.scalars(select(OpeningHours))}
    before = {str(day): [row.opens.isoformat(), row.closes.isoformat()] for day, row in existing.items()}
    for weekday in range(7):
        hours = week.get(weekday)
        row = existing.get(weekday)
        if hours is None:
            if row is not None:
                db.session.delete(row)
            continue
        opens, closes = hours
        if opens >= closes:
            raise RuleError("Closing must be after opening.", "days")
        if row is None:
            db.session.add(OpeningHours(weekday=weekday, opens=opens, closes=closes))
        else:
            row.opens, row.closes = opens, closes
    db.session.flush()
    after = {str(day): [hours[0].isoformat(), hours[1].isoformat()] for day, hours in week.items() if hours}
    audit.record(actor, entity="opening_hours", entity_id=None, patient_id=None, action="update",
                 before={"week": before}, after={"week": after})


def add_closed_date(*, on: date, reason: str, actor, today: date) -> tuple[ClosedDate, int]:
    """Close the clinic on a date from `today` on; returns it and the number of active bookings
    that day. A past date is refused: closing it would change nothing but the record."""
    if on < today:
        raise RuleError("That date has passed: choose today or a later date.", "on")
    if db.session.scalar(select(ClosedDate.id).where(ClosedDate.on == on)) is not None:
        raise RuleError("That date is already closed.", "on")
    closed = ClosedDate(on=on, reason=reason.strip())
    db.session.add(closed)
    db.session.flush()
    audit.record(actor, entity="closed_date", entity_id=closed.id, patient_id=None,
                 action="create", after={"on": on.isoformat(), "reason": closed.reason})
    from ..services.appointments import day_bounds
    from ..services.clinic import clinic_zone

    start, end = day_bounds(on, on, clinic_zone())
    booked = db.session.scalar(select(func.count(Appointment.id)).where(
        Appointment.status.in_(ACTIVE_STATUSES), Appointment.start_at >= start,
        Appointment.start_at < end)) or 0
    return closed, booked


def remove_closed_date(closed: ClosedDate, *, actor) -> None:
    """Open the clinic again on a date."""
    audit.record(actor, entity="closed_date", entity_id=closed.id, patient_id=None,
                 action="delete", before={"on": closed.on.isoformat(), "reason": closed.reason})
    db.session.delete(closed)
    db.session.flush()


def save_appointment_type(appointment_type: AppointmentType | None, values: dict, *, actor) -> AppointmentType:
    """Add a type (None) or change one; minutes must add up to a block."""
    values = dict(values, name=values["name"].strip())
    if not values["name"]:
        raise RuleError("Enter a name.", "name")
    if _name_taken(AppointmentType, values["name"], appointment_type.id if appointment_type else None):
        raise RuleError("An appointment type with this name already exists.", "name")
    if values["infusion_min"] is None or values["infusion_min"] < 1:
        raise RuleError("The infusion takes at least one minute.", "infusion_min")
    if values["prep_min"] + values["infusion_min"] + values["recovery_min"] > 24 * 60:
        raise RuleError("A chair block must fit in one day.", "infusion_min")
    before = audit.snapshot(appointment_type, TYPE_FIELDS) if appointment_type else None
    if appointment_type is None:
        appointment_type = AppointmentType(**values)
        db.session.add(appointment_type)
        db.session.flush()
        checklist.seed_defaults(appointment_type)  # a new type asks the default questions
    else:
        for name, value in values.items():
            setattr(appointment_type, name, value)
    db.session.flush()
    audit.record(actor, entity="appointment_type", entity_id=appointment_type.id, patient_id=None,
                 action="update" if before else "create", before=before,
                 after=audit.snapshot(appointment_type, TYPE_FIELDS))
    return appointment_type


def set_capacity(*, max_concurrent: int, step_min: int, actor) -> None:
    """The maximum concurrent infusions per clinician and the slot finder's step (checked and
    audited by the one writer of the clinic settings)."""
    update_settings(actor, {"max_concurrent_per_clinician": max_concurrent, "slot_step_min": step_min})
