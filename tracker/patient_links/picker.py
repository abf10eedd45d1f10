"""The one time picker of the patient pages: booking from the book link and moving a visit
from the manage link offer the same free times (times.online_times) as the same buttons, and
read the chosen one the same way. (The staff picker, tracker/schedule/slot_picker.py, is a
different page: every start of a chosen day, radio buttons, a typed time.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .. import booking
from ..formatting import request_style
from ..services.clinic import clinic_zone
from .forms import SlotForm, parse_slot, slot_value
from .times import OnlineTimes, online_times


@dataclass(frozen=True)
class Picked:
    """The chair and UTC start a patient chose."""

    chair_id: int
    start_at: datetime


@dataclass
class Offer:
    """What a picker page shows: the window facts, and the free times as the buttons list them."""

    found: OnlineTimes
    times: list[dict]


def time_buttons(slots, zone) -> list[dict]:
    """The times as the page lists them: value for the button, day and time in words."""
    listed, style = [], request_style()
    for slot in slots:
        local = booking.wall(slot.start, zone)
        listed.append(
            {
                "value": slot_value(slot.chair_id, booking.epoch(slot.start)),
                "day": style.day(local),
                "time": style.clock(local),
                "date": local.date(),
            }
        )
    return listed


def offer(patient, appointment_type, *, now: datetime, today: date, settings) -> Offer:
    """The free times a patient may choose now, ready for the page."""
    found = online_times(patient, appointment_type, now=now, today=today, settings=settings)
    return Offer(found, time_buttons(found.slots, clinic_zone()))


def picked_time(form: SlotForm) -> Picked | None:
    """The time a posted picker form chose; None (the errors on the form) when it is not one."""
    if not form.validate():
        return None
    parsed = parse_slot(form.slot.data)
    if parsed is None:  # the form's validator refuses it first; kept for the type checker
        return None
    chair_id, seconds = parsed
    return Picked(chair_id, booking.from_epoch(seconds))
