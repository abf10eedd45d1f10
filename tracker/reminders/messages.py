"""Turning an outbox row into an email, holding only what DOMAIN.md allows patient mail to say."""
from __future__ import annotations

from email.message import Message

from flask import current_app

from ..calendar_export import appointment_ics
from ..formatting import style_for
from ..mail import Attachment, build_message, render_pair
from ..patient_links.tokens import link_url
from ..services.checklist import items_for
from .unsubscribe import unsubscribe_url

SUBJECTS = {
    "window_upcoming": "Time to book your next visit",
    "window_closing": "Please book your next visit",
}


def clinic_context(settings) -> dict:
    """What patient mail may say about the clinic: neutral display name, phone, address."""
    return {"display_name": settings.display_name, "phone": settings.phone, "address": settings.address}


def patient_message(kind: str, *, patient, settings, subject: str, attachments=(), **context) -> Message:
    """A patient email: first name only, the clinic's contact details, a signed unsubscribe link."""
    link = unsubscribe_url(patient.id, patient.email)
    text, html = render_pair(kind, first_name=patient.first_name, clinic=clinic_context(settings),
                             unsubscribe_url=link, clinic_style=style_for(settings), **context)
    return build_message(
        to=patient.email, subject=subject, text=text, html=html, sender_name=settings.display_name,
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        attachments=attachments,
    )


def window_message(reminder, *, patient, course, settings) -> Message:
    """window_upcoming / window_closing: the dates to book between and how to book."""
    return patient_message(reminder.kind, patient=patient, settings=settings,
                           subject=SUBJECTS[reminder.kind],
                           opens=course.window_opens, closes=course.window_closes,
                           book_url=link_url("book", patient.id, course.id))


def appointment_message(reminder, *, patient, appointment, settings) -> Message:
    """The appointment's local date and time, how to confirm or cancel, and the .ics."""
    style = style_for(settings)
    attachments = [Attachment("appointment.ics", appointment_ics(appointment, settings), "text", "calendar",
                              {"method": "PUBLISH"})]
    return patient_message("appointment", patient=patient, settings=settings,
                           subject=f"Reminder: your visit on {style.day(appointment.start_at)} at "
                                   f"{style.clock(appointment.start_at)}",
                           attachments=attachments, start_at=appointment.start_at,
                           manage_url=link_url("manage", patient.id, appointment.id),
                           checklist_url=_checklist_url(patient, appointment))


def _checklist_url(patient, appointment) -> str | None:
    """The before-your-visit questions' link, when the clinic asks any for this kind of visit."""
    if not items_for(appointment.appointment_type_id):
        return None
    return link_url("manage", patient.id, appointment.id, endpoint="patient_links.checklist_page")


def digest_message(*, user, digest, settings) -> Message:
    """The staff digest: unbooked due, overdue and lapsed patients, with a link to the worklist."""
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    worklist_url = base + current_app.url_map.bind("localhost").build("worklist.index", {})
    style = style_for(settings)
    text, html = render_pair("staff_digest", user=user, digest=digest, clinic=clinic_context(settings),
                             worklist_url=worklist_url, clinic_style=style)
    subject = f"Worklist for {style.day(digest.on)}: {digest.total} unbooked"
    return build_message(to=user.email, subject=subject, text=text, html=html,
                         sender_name=settings.display_name)
