"""Patient mail from the self-service pages: "your links" when a patient asks for them again
(the confirmation of a visit booked online is a notice in the outbox: reminders/notices.py).
It holds what DOMAIN.md allows: first name, dates and times, the clinic's contacts, and links."""

from __future__ import annotations

import logging
from email.message import EmailMessage, Message

from sqlalchemy import select

from ..extensions import db
from ..formatting import request_style
from ..mail import MailError, send
from ..models import ACTIVE_STATUSES, Appointment, Course, Patient
from ..reminders.messages import patient_message
from .tokens import link_url

log = logging.getLogger(__name__)


def visit_facts(appointment: Appointment) -> dict:
    """The visit's clinic-local day and time, in the words of the emails."""
    style = request_style()
    return {"day": style.day(appointment.start_at), "time": style.clock(appointment.start_at)}


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
