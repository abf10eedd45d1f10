"""The times a patient may choose online: the staff slot search (tracker.services.appointments,
so every booking rule is the same one), on the chairs and types marked bookable online, from
the clinic's minimum notice to its horizon, leaving out times other patients hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from .. import booking
from ..extensions import db
from ..models import AppointmentType, Chair, SlotHold
from ..services import appointments as service
from ..services.clinic import clinic_zone

OFFERED = 9  # times shown on a page
PER_DAY = 3


@dataclass
class OnlineTimes:
    """What a patient's booking page offers: the window and the free times in it (or after it)."""

    window_opens: date | None
    window_closes: date | None
    window_passed: bool = False  # the window closed before today: the earliest times follow
    slots: list[booking.Slot] = field(default_factory=list)


def bookable_chairs() -> list[int]:
    """Ids of the chairs in use that patients may book online."""
    return list(
        db.session.scalars(
            select(Chair.id)
            .where(Chair.active.is_(True), Chair.bookable_online.is_(True))
            .order_by(Chair.position, Chair.name)
        )
    )


def bookable_type(course) -> AppointmentType | None:
    """The appointment type a patient books online: a maintenance type marked bookable online."""
    types = list(
        db.session.scalars(
            select(AppointmentType)
            .where(AppointmentType.active.is_(True), AppointmentType.bookable_online.is_(True))
            .order_by(AppointmentType.name)
        )
    )
    return service.default_type(course, types)


def earliest_start(now: datetime, settings) -> datetime:
    """The first instant a patient may book: the clinic's minimum notice from now."""
    return now + timedelta(hours=settings.online_min_notice_hours)


def last_day(today: date, settings) -> date:
    """The last date a patient may book online (the clinic's horizon)."""
    return today + timedelta(days=settings.online_horizon_days)


def held_by_others(
    patient_id: int, first: datetime, last: datetime, now: datetime
) -> list[SlotHold]:
    """Unexpired holds of other patients overlapping [first, last)."""
    return list(
        db.session.scalars(
            select(SlotHold).where(
                SlotHold.patient_id != patient_id,
                SlotHold.expires_at > now,
                SlotHold.start_at < last,
                SlotHold.end_at > first,
            )
        )
    )


def clashes_with_hold(slot_chair: int, start: datetime, end: datetime, holds) -> bool:
    """True when a hold on that chair overlaps the block."""
    return any(h.chair_id == slot_chair and h.start_at < end and h.end_at > start for h in holds)


def online_times(patient, appointment_type, *, now: datetime, today: date, settings) -> OnlineTimes:
    """Free times inside the patient's window (after its close: the earliest), bookable online."""
    chairs = bookable_chairs()
    notice = earliest_start(now, settings)
    course = service.open_course_for(patient.id)
    found = OnlineTimes(
        course.window_opens if course else None, course.window_closes if course else None
    )
    if not chairs or appointment_type is None:
        return found
    search = service.search_slots(
        patient,
        appointment_type,
        today=today,
        now=notice,
        from_day=booking.wall(notice, clinic_zone()).date(),
        limit=OFFERED + PER_DAY,  # a few spare for times other patients hold
        per_day=PER_DAY,
        chair_ids=chairs,
    )
    found.window_passed = search.window_passed
    candidates = search.slots or search.later_slots
    horizon = last_day(today, settings)
    zone = clinic_zone()
    candidates = [s for s in candidates if booking.wall(s.start, zone).date() <= horizon]
    if candidates:
        holds = held_by_others(patient.id, candidates[0].start, candidates[-1].end, now)
        candidates = [
            s for s in candidates if not clashes_with_hold(s.chair_id, s.start, s.end, holds)
        ]
    found.slots = candidates[:OFFERED]
    return found
