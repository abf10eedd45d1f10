"""An appointment as an iCalendar (RFC 5545) file for the patient's own calendar.

The UID never changes for an appointment; SEQUENCE grows with every change; a cancelled
appointment keeps its UID with STATUS:CANCELLED so calendars remove it. Times are given in the
clinic's time zone with its VTIMEZONE. Like the reminder emails, the file holds the minimum:
no appointment type, no clinical words, only the clinic's display name, address and phone.
"""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from .clock import now as clock_now

PRODID = "-//Clinic appointments//Tracker//EN"
EVENT_STATUS = {
    "pending": "TENTATIVE", "booked": "CONFIRMED", "arrived": "CONFIRMED", "fulfilled": "CONFIRMED",
    "noshow": "CONFIRMED", "cancelled": "CANCELLED", "entered-in-error": "CANCELLED",
}


def summary_for(settings) -> str:
    """The event title: neutral, the clinic's display name only."""
    return f"Appointment at {settings.display_name}"


def appointment_ics(appointment, settings, *, stamp: datetime | None = None, method: str = "PUBLISH",
                    attendee: str | None = None, organizer: str | None = None) -> bytes:
    """The .ics bytes for one appointment (needs its uid, sequence, status and times).

    An iTIP `method` of REQUEST (booked or moved) or CANCEL goes to the patient's `attendee`
    address, from the clinic as organizer, so a calendar updates or removes its copy.
    """
    return visits_ics([appointment], settings, stamp=stamp, method=method, attendee=attendee,
                      organizer=organizer)


def visits_ics(appointments, settings, *, stamp: datetime | None = None, method: str = "PUBLISH",
               attendee: str | None = None, organizer: str | None = None) -> bytes:
    """One .ics holding an event per appointment (a series booked at once), as appointment_ics."""
    from icalendar import Calendar, Timezone  # imported here: slow, and rarely needed

    zone = ZoneInfo(settings.timezone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    years = [appointment.start_at.astimezone(zone).year for appointment in appointments]
    calendar.add_component(Timezone.from_tzid(settings.timezone, first_date=date(min(years) - 1, 1, 1),
                                              last_date=date(max(years) + 1, 12, 31)))
    stamp = (stamp or clock_now()).astimezone(timezone.utc)
    for appointment in appointments:
        calendar.add_component(_event(appointment, settings, zone, stamp, method, attendee, organizer))
    return calendar.to_ical()


def _event(appointment, settings, zone, stamp, method, attendee, organizer):
    """The VEVENT of one appointment."""
    from icalendar import Event

    start = appointment.start_at.astimezone(zone)
    event = Event()
    event.add("uid", appointment.uid)
    event.add("sequence", appointment.sequence or 0)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", appointment.end_at.astimezone(zone))
    event.add("summary", summary_for(settings))
    event.add("status", EVENT_STATUS.get(appointment.status, "CONFIRMED"))
    if settings.address:
        event.add("location", settings.address)
    lines = []
    if appointment.status in ("cancelled", "entered-in-error"):
        lines.append("This appointment is cancelled.")
    if settings.phone:
        lines.append(f"To confirm, cancel or change this appointment, call {settings.phone}.")
    if lines:
        event.add("description", " ".join(lines))
    if appointment.updated_at is not None:
        event.add("last-modified", appointment.updated_at.astimezone(timezone.utc))
    event.add("transp", "OPAQUE")
    if method != "PUBLISH":
        from flask import current_app
        from icalendar import vCalAddress

        sender = vCalAddress(f"mailto:{organizer or current_app.config.get('MAIL_FROM_ADDRESS')}")
        sender.params["cn"] = settings.display_name
        event.add("organizer", sender)
        if attendee:
            guest = vCalAddress(f"mailto:{attendee}")
            guest.params["role"] = "REQ-PARTICIPANT"
            guest.params["rsvp"] = "FALSE"
            event.add("attendee", guest)
    return event




def filename_for(appointment) -> str:
    """A neutral download name."""
    return f"appointment-{appointment.id}.ics"
