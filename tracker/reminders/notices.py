"""Telling a patient of a change to a visit: booked, moved, or cancelled by the clinic.

Each notice is an outbox row like any reminder, planned in the same transaction as the change
(so it exists exactly when the change does) with a dedupe key, and sent by the sweep: once,
within the send hours, only to a patient who may be emailed, with the minimum of text and an
.ics that updates the patient's calendar (the appointment's UID, its current SEQUENCE; REQUEST
for a booking or a move, CANCEL for a cancellation).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from ..extensions import db
from ..models import Appointment, Patient, Reminder
from .clock import Clock

log = logging.getLogger(__name__)

NOTICE_KINDS = ("visit_booked", "visit_moved", "visit_cancelled", "visit_booked_online")
BOOKED_KINDS = ("visit_booked", "visit_booked_online")  # one "booked" notice per visit
NOTICE_LABELS = {
    "visit_booked": "Visit booked",
    "visit_booked_online": "Visit booked online",
    "visit_moved": "Visit moved",
    "visit_cancelled": "Visit cancelled",
}
SERIES_SUBJECT = "Your {count} visits, from {day}"
SUBJECTS = {
    "visit_booked": "Your visit on {day} at {time}",
    "visit_booked_online": "Your visit on {day} at {time}",
    "visit_moved": "New time for your visit: {day} at {time}",
    "visit_cancelled": "Cancelled: your visit on {day} at {time}",
}
ICS_METHODS = {
    "visit_booked": "REQUEST",
    "visit_moved": "REQUEST",
    "visit_cancelled": "CANCEL",
    "visit_booked_online": "REQUEST",
}
ACTIVE = ("pending", "booked")
CANCELLED = ("cancelled", "entered-in-error")
PATIENT_KINDS_ABOUT_A_VISIT = ("appointment", *NOTICE_KINDS)


def notice_key(kind: str, appointment_id: int, start_at: datetime, moves: int = 0) -> str:
    """One booked and one cancelled notice per visit; one moved notice per move."""
    if kind == "visit_moved":
        return (
            f"visit_moved:a{appointment_id}:{start_at:%Y%m%dT%H%MZ}{f':m{moves}' if moves else ''}"
        )
    return f"{kind}:a{appointment_id}"


def notice_due_at(now: datetime, settings) -> datetime:
    """Now inside the send hours; otherwise the start of the next send hours (clinic-local)."""
    clock = Clock.for_settings(now, settings)
    if clock.in_send_hours:
        return clock.now
    day = (
        clock.today
        if clock.local.hour < settings.send_hours_start
        else clock.today + timedelta(days=1)
    )
    return clock.at_local(day, settings.send_hours_start)


def _plan(kind: str, appointment: Appointment, *, now: datetime, settings) -> bool:
    """Insert the notice row unless it exists or the patient may not be emailed; flush."""
    from .planning import Planned, insert_planned  # planning reads this module's rules

    patient = db.session.get(Patient, appointment.patient_id)
    if patient is None or not patient.may_email:
        return False
    row = Planned(
        kind,
        notice_key(kind, appointment.id, appointment.start_at, appointment.moves),
        notice_due_at(now, settings),
        patient_id=appointment.patient_id,
        course_id=appointment.course_id,
        appointment_id=appointment.id,
    )
    created = insert_planned([row]) == 1
    if created:
        log.info("notice %s planned for appointment %s", kind, appointment.id)
    return created


def series_visits(appointment: Appointment, now: datetime) -> list[Appointment]:
    """The visits a booked notice tells of: the appointment and, when it is the first of a series
    booked at once, the rest of that series; those still booked and still to come, by time."""
    visits = [
        appointment,
        *db.session.scalars(
            select(Appointment).where(Appointment.series_first_id == appointment.id)
        ),
    ]
    return sorted(
        (visit for visit in visits if visit.status in ACTIVE and visit.start_at > now),
        key=lambda visit: (visit.start_at, visit.id),
    )


def _told_by(appointment: Appointment) -> list[int]:
    """The appointments whose booked notice tells of this one: itself and its series' first."""
    return [appointment.id] + ([appointment.series_first_id] if appointment.series_first_id else [])


def _pending(kinds: tuple[str, ...], appointment_ids: list[int]) -> bool:
    return (
        db.session.scalar(
            select(Reminder.id)
            .where(
                Reminder.appointment_id.in_(appointment_ids),
                Reminder.kind.in_(kinds),
                Reminder.status.in_(("pending", "sending")),
            )
            .limit(1)
        )
        is not None
    )


def _patient_was_told(appointment: Appointment) -> bool:
    """A reminder or notice about this visit has gone out to the patient (for a visit of a
    series, the series' booked notice counts)."""
    about_it = and_(
        Reminder.appointment_id == appointment.id, Reminder.kind.in_(PATIENT_KINDS_ABOUT_A_VISIT)
    )
    if appointment.series_first_id is not None:
        about_it = or_(
            about_it,
            and_(
                Reminder.appointment_id == appointment.series_first_id,
                Reminder.kind == "visit_booked",
            ),
        )
    return (
        db.session.scalar(select(Reminder.id).where(about_it, Reminder.status == "sent").limit(1))
        is not None
    )


def visit_booked(appointment: Appointment, *, now: datetime, settings) -> bool:
    """Plan the 'visit booked' notice (with the .ics) for a new booking; flush.

    For a series booked at once, pass its first visit: the one notice lists every visit of the
    series and its calendar file holds them all (one email rather than one per visit).
    """
    return _plan("visit_booked", appointment, now=now, settings=settings)


def visit_booked_online(appointment: Appointment, *, now: datetime, settings) -> bool:
    """Plan the confirmation of a visit the patient booked from their link (with its manage
    link and the .ics); flush. Sent by the sweep like every notice: once, in the send hours."""
    return _plan("visit_booked_online", appointment, now=now, settings=settings)


def visit_moved(appointment: Appointment, *, now: datetime, settings) -> bool:
    """Plan the notice of a visit's new time; flush.

    A booked notice not yet sent carries the new time itself (it is rendered when sent), so the
    patient hears of the visit once. An earlier moved notice still waiting is retired by the
    sweep: its key names a time the visit no longer has.
    """
    if _pending(BOOKED_KINDS, _told_by(appointment)):
        return False
    return _plan("visit_moved", appointment, now=now, settings=settings)


def visit_cancelled(
    appointment: Appointment, *, now: datetime, settings, only_if_told: bool = True
) -> bool:
    """Plan the cancellation notice (METHOD:CANCEL) of a visit the patient was told of; flush.

    A visit the patient never heard of by email needs no cancellation: its waiting notices are
    retired by the sweep instead. Closing a day tells every patient (`only_if_told=False`): they
    may have booked by phone.
    """
    if only_if_told and not _patient_was_told(appointment):
        return False
    return _plan("visit_cancelled", appointment, now=now, settings=settings)


def stale_notice(reminder, *, appointment, clock: Clock) -> tuple[str, str] | None:
    """(new status, reason) when a notice must not go out any more, else None."""
    if appointment is None:
        return "cancelled", "appointment removed"
    if reminder.kind == "visit_booked" and _has_series(appointment):
        if series_visits(appointment, clock.now):
            return None
        return "cancelled", "no visit of the series still to come"
    if clock.now >= appointment.start_at:
        return "skipped", "too late: the visit has started"
    if reminder.kind == "visit_cancelled":
        if appointment.status not in CANCELLED:
            return "cancelled", "visit active again"
        return None
    if appointment.status not in ACTIVE:
        return "cancelled", "visit no longer booked"
    if (
        reminder.kind == "visit_moved"
        and notice_key("visit_moved", appointment.id, appointment.start_at, appointment.moves)
        != reminder.dedupe_key
    ):
        return "cancelled", "visit moved again"
    return None


def _has_series(appointment: Appointment) -> bool:
    return (
        db.session.scalar(
            select(Appointment.id).where(Appointment.series_first_id == appointment.id).limit(1)
        )
        is not None
    )


def notice_message(reminder, *, patient, appointment, clock: Clock, settings):
    """The notice email in the clinic's layout: the visit's day and time (every visit of a series
    booked at once), a button to manage it or book again, the clinic's phone and address, and
    the calendar update."""
    from ..calendar_export import visits_ics
    from ..formatting import style_for
    from ..mail import Attachment
    from ..patient_links.tokens import link_url
    from .messages import patient_message

    style = style_for(settings)
    visits = [appointment]
    if reminder.kind == "visit_booked":
        visits = series_visits(appointment, clock.now) or [appointment]
    first = visits[0]
    day, time = style.day(first.start_at), style.clock(first.start_at)
    method = ICS_METHODS[reminder.kind]
    ics = visits_ics(visits, settings, method=method, attendee=patient.email)
    attachments = [Attachment("appointment.ics", ics, "text", "calendar", {"method": method})]
    subject = SUBJECTS[reminder.kind].format(day=day, time=time)
    if len(visits) > 1:
        subject = SERIES_SUBJECT.format(count=len(visits), day=day)
    links = {}
    if reminder.kind == "visit_cancelled":
        if appointment.course_id is not None:
            links["book_url"] = link_url("book", patient.id, appointment.course_id)
    else:
        links["manage_url"] = link_url("manage", patient.id, first.id)
    return patient_message(
        reminder.kind,
        patient=patient,
        settings=settings,
        subject=subject,
        attachments=attachments,
        day=day,
        time=time,
        visits=[{"day": style.day(v.start_at), "time": style.clock(v.start_at)} for v in visits],
        **links,
        confirmed=appointment.status == "booked",
    )
