"""FHIR Slot per chair: the free chair blocks the booking rules find (services.appointments,
the same finder the booking page and /api/v1 use) and the booked blocks as busy Slots."""

import re
from datetime import datetime, timedelta

from flask import request
from sqlalchemy import select

from .. import booking
from ..extensions import db
from ..models import ACTIVE_STATUSES, Appointment, AppointmentType, Chair, utcnow
from ..services.appointments import active_types, chair_slots, day_bounds, default_type
from ..services.clinic import clinic_today, clinic_zone
from . import bp
from .outcomes import FhirError
from .params import date_range, paging, reference_id, tokens
from .resources import BUSY_PREFIX, busy_slot_resource, free_slot_id, free_slot_resource, searchset
from .views import fhir_json, page_links

DEFAULT_DAYS = 7  # a search without an end looks this many days ahead
MAX_DAYS = 31  # one search covers at most a month
SLOTS_PER_DAY = (
    24  # free starts listed per chair and day (an hour apart, as the finder spaces them)
)
_FREE_ID = re.compile(r"^free-(\d{1,10})-(\d{1,10})-(\d{1,12})$")
_BUSY_ID = re.compile(rf"^{BUSY_PREFIX}(\d{{1,10}})$")


def _kind(raw: str) -> AppointmentType | None:
    """The appointment type a `service-type` code names, or the default one (maintenance)."""
    codes = tokens(raw)
    if not codes:
        return default_type(None, active_types())
    kind = db.session.get(AppointmentType, int(codes[0])) if codes[0].isdigit() else None
    if kind is None or not kind.active or len(codes) > 1:
        raise FhirError(
            400, "Give service-type as the code of one appointment type in use.", "service-type"
        )
    return kind


def _chair_ids(raw_values: list[str]) -> list[int] | None:
    """The chairs of the `schedule` references (comma-separated or repeated), None for all."""
    ids = [
        reference_id(part, "Schedule", "schedule")
        for raw in raw_values
        for part in raw.split(",")
        if part.strip()
    ]
    return sorted(set(ids)) if ids else None


def _busy(chair_ids, start: datetime, end: datetime, limit: int) -> list[Appointment]:
    statement = select(Appointment).where(
        Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.start_at >= start,
        Appointment.start_at < end,
    )
    if chair_ids is not None:
        statement = statement.where(Appointment.chair_id.in_(chair_ids))
    return list(
        db.session.scalars(
            statement.order_by(Appointment.start_at, Appointment.chair_id).limit(limit)
        )
    )


@bp.get("/Slot")
def slots():
    """Slots of the chairs' Schedules: `schedule` (Schedule/<chair id>; every chair when
    absent), `start` (eq, ge, gt, le, lt; default the next 7 days, at most 31), `status`
    (free, busy), `service-type` (the appointment type whose block length a free Slot has;
    default the maintenance type), `_count`, `_offset`. By start time."""
    count, offset = paging(request.args)
    zone = clinic_zone()
    today = clinic_today()
    instants = date_range(request.args.getlist("start"), "start", zone)
    first, last = instants.days(zone)
    if first is None:  # from today, or the week before an end already past
        first = today if last is None or last >= today else last - timedelta(DEFAULT_DAYS - 1)
    last = last or first + timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise FhirError(400, "The start range ends before it begins.", "start")
    if (last - first).days >= MAX_DAYS:
        raise FhirError(400, f"Search at most {MAX_DAYS} days of slots at a time.", "start")
    start, end = day_bounds(first, last, zone)
    start = max(start, instants.start or start)
    end = min(end, instants.end or end)
    statuses = set(tokens(request.args.get("status", ""))) or {"free", "busy"}
    kind = _kind(request.args.get("service-type", ""))
    chair_ids = _chair_ids(request.args.getlist("schedule"))
    wanted = offset + count + 1  # one more than the page: is there a next page?
    found: list[tuple[datetime, int, dict]] = []
    if "free" in statuses and kind is not None and last >= today:
        chairs = chair_ids or [
            c for c in db.session.scalars(select(Chair.id).where(Chair.active.is_(True)))
        ]
        not_before = max(utcnow(), start)
        for chair_id in chairs:  # one chair at a time: each Schedule's own free time
            for slot in chair_slots(
                kind,
                max(first, today),
                last,
                chair_ids=[chair_id],
                now=not_before,
                limit=wanted,
                per_day=SLOTS_PER_DAY,
            ):
                if slot.start < end:
                    found.append((slot.start, slot.chair_id, free_slot_resource(slot, kind, zone)))
    if "busy" in statuses:
        found += [
            (a.start_at, a.chair_id, busy_slot_resource(a, zone))
            for a in _busy(chair_ids, start, end, wanted)
        ]
    found.sort(key=lambda item: (item[0], item[1], item[2]["id"]))
    page = [resource for _, _, resource in found[offset : offset + count]]
    return fhir_json(
        searchset(
            page,
            total=None,  # free time is found page by page, never counted in full
            links=page_links(
                "fhir.slots", count=count, offset=offset, more=len(found) > offset + count
            ),
        )
    )


@bp.get("/Slot/<resource_id>")
def slot(resource_id: str):
    """One Slot: a booked block (`busy-<appointment id>`) while it is booked, or a free one
    (`free-<chair>-<type>-<start>`) while the booking rules still find it free."""
    zone = clinic_zone()
    busy = _BUSY_ID.match(resource_id)
    if busy is not None:
        visit = db.session.get(Appointment, int(busy.group(1)))
        if visit is None or visit.status not in ACTIVE_STATUSES:
            raise FhirError(404, "There is no booked block with this id.")
        return fhir_json(busy_slot_resource(visit, zone))
    free = _FREE_ID.match(resource_id)
    if free is None:
        raise FhirError(404, "There is no slot with this id.")
    chair_id, kind_id, seconds = (int(part) for part in free.groups())
    kind = db.session.get(AppointmentType, kind_id) if kind_id <= 2**31 - 1 else None
    try:
        starts = booking.from_epoch(seconds)
    except (OverflowError, OSError, ValueError):
        starts = None
    if kind is None or not kind.active or starts is None:
        raise FhirError(404, "There is no slot with this id.")
    day = booking.wall(starts, zone).date()
    still_free = [
        s
        for s in chair_slots(
            kind, day, day, chair_ids=[chair_id], limit=SLOTS_PER_DAY, per_day=SLOTS_PER_DAY
        )
        if free_slot_id(s.chair_id, kind.id, s.start) == resource_id
    ]
    if not still_free:
        raise FhirError(404, "This slot is no longer free.")
    return fhir_json(free_slot_resource(still_free[0], kind, zone))
