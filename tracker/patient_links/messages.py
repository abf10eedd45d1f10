"""Patient mail from the self-service pages: the confirmation of a visit booked online (with
its .ics and manage link), and "your links" when a patient asks for them again. Both hold what
DOMAIN.md allows: first name, date and time, the clinic's name, address and phone, and links."""

from __future__ import annotations

import logging
from email.message import EmailMessage, Message

from sqlalchemy import select

from ..calendar_export import appointment_ics
from ..extensions import db
from ..mail import Attachment, MailError, send
from ..models import ACTIVE_STATUSES, Appointment, Course, Patient
from ..reminders.messages import format_day, format_time, patient_message
from ..services.clinic import clinic_zone
from .tokens import link_url

log = logging.getLogger(__name__)


def visit_facts(appointment: Appointment) -> dict:
    """The visit's clinic-local day and time, in the words of the emails."""
    local = appointment.start_at.astimezone(clinic_zone())
    return {"day": format_day(local.date()), "time": format_time(local)}


def confirmation_message(appointment: Appointment, patient: Patient, settings) -> Message:
    """The confirmation of a visit the patient booked online."""
    facts = visit_facts(appointment)
    ics = Attachment(
        "appointment.ics",
        appointment_ics(appointment, settings),
        "text",
        "calendar",
        {"method": "PUBLISH"},
    )
    return patient_message(
        "visit_booked_online",
        patient=patient,
        settings=settings,
        subject=f"Your visit on {facts['day']} at {facts['time']}",
        attachments=[ics],
        manage_url=link_url("manage", patient.id, appointment.id),
        confirmed=appointment.status == "booked",
        **facts,
    )


def links_message(
    patient: Patient, settings, *, visits: list[Appointment], course: Course | None
) -> Message:
    """The patient's current links: one per upcoming visit, and the booking link when unbooked."""
    listed = [
        dict(visit_facts(visit), manage_url=link_url("manage", patient.id, visit.id))
        for visit in visits
    ]
    book_url = (
        link_url("book", patient.id, course.id) if course is not None and not visits else None
    )
    return patient_message(
        "patient_links",
        patient=patient,
        settings=settings,
        subject=f"Your links from {settings.display_name}",
        visits=listed,
        book_url=book_url,
    )


def upcoming_visits(patient_id: int, now) -> list[Appointment]:
    """The patient's active visits still ahead, soonest first."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.start_at > now,
            )
            .order_by(Appointment.start_at)
            .limit(5)
        )
    )


def deliver(message: Message, what: str) -> bool:
    """Send one message now (after the commit); False, logged without patient data, on failure."""
    if not isinstance(message, EmailMessage):  # mail.build_message makes EmailMessages
        raise TypeError("not an email message")
    try:
        send(message)
    except MailError as error:
        log.warning(
            "%s not sent: %s", what, "server unavailable" if error.connection else "refused"
        )
        return False
    return True
