"""A feed's iCalendar document: the appointments of a staff member (those they supervise) or
of a chair, 60 days back and 180 ahead, with neutral titles and an ETag for conditional GETs."""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ..calendar_export import EVENT_STATUS, PRODID
from ..extensions import db
from ..models import Appointment, CalendarFeed, Chair

DAYS_BACK = 60
DAYS_AHEAD = 180


@dataclass(frozen=True)
class FeedRange:
    """The instants a feed covers: from local midnight DAYS_BACK ago to DAYS_AHEAD ahead."""

    start: datetime
    end: datetime


def feed_range(today: date, zone: ZoneInfo) -> FeedRange:
    """From DAYS_BACK days before today to the end of the day DAYS_AHEAD days after it."""
    from ..services.appointments import day_bounds

    start, end = day_bounds(
        today - timedelta(days=DAYS_BACK), today + timedelta(days=DAYS_AHEAD), zone
    )
    return FeedRange(start, end)


def _where(feed: CalendarFeed, span: FeedRange):
    owner = (
        (Appointment.clinician_id == feed.user_id)
        if feed.kind == "staff"
        else (Appointment.chair_id == feed.chair_id)
    )
    return (owner, Appointment.start_at >= span.start, Appointment.start_at < span.end)


def feed_etag(feed: CalendarFeed, span: FeedRange) -> str:
    """Changes when any appointment in the feed changes, appears or leaves the range (one query)."""
    count, latest, ids = db.session.execute(
        select(
            func.count(),
            func.max(Appointment.updated_at),
            func.sum(Appointment.id + Appointment.sequence),
        ).where(*_where(feed, span))
    ).one()
    parts = (feed.id, span.start.isoformat(), count, latest.isoformat() if latest else "", ids or 0)
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def feed_name(feed: CalendarFeed, settings) -> str:
    """The calendar's name as a calendar app shows it."""
    if feed.kind == "chair":
        chair = db.session.get(Chair, feed.chair_id)
        return f"{settings.display_name}: {chair.name if chair else 'chair'}"
    return f"{settings.display_name}: my sessions"


def feed_ics(feed: CalendarFeed, span: FeedRange, settings, *, stamp: datetime) -> bytes:
    """The feed as iCalendar: one VEVENT per appointment, UID and SEQUENCE of the appointment.

    Titles name the chair only: no patient, no appointment type, no clinical word, because a
    subscribed calendar lives on phones and in other companies' services.
    """
    from icalendar import Calendar, Event, Timezone

    zone = ZoneInfo(settings.timezone)
    chairs = {c.id: c.name for c in db.session.scalars(select(Chair))}
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", feed_name(feed, settings))
    calendar.add("x-wr-timezone", settings.timezone)
    calendar.add_component(
        Timezone.from_tzid(
            settings.timezone, first_date=span.start.date(), last_date=span.end.date()
        )
    )
    rows = db.session.execute(
        select(
            Appointment.uid,
            Appointment.sequence,
            Appointment.start_at,
            Appointment.end_at,
            Appointment.status,
            Appointment.chair_id,
            Appointment.updated_at,
        )
        .where(*_where(feed, span))
        .order_by(Appointment.start_at, Appointment.id)
    )
    for uid, sequence, start, end, status, chair_id, updated in rows:
        event = Event()
        event.add("uid", uid)
        event.add("sequence", sequence or 0)
        event.add("dtstamp", stamp)
        event.add("dtstart", start.astimezone(zone))
        event.add("dtend", end.astimezone(zone))
        event.add("summary", f"Booked: {chairs.get(chair_id, 'chair')}")
        event.add("status", EVENT_STATUS.get(status, "CONFIRMED"))
        if updated is not None:
            event.add("last-modified", updated)
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()
