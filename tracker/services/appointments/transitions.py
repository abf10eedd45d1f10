"""Appointment status changes along the FHIR state machine, rescheduling, and completing an
appointment by recording its session."""
import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ...extensions import db
from ...models import (
    CANCEL_REASONS, Appointment, AppointmentStatusChange, AppointmentType, Chair, ClosedDate, Infusion, Patient,
    User, utcnow,
)
from .. import audit
from ..clinic import clinic_today, get_settings
from ..courses import open_course_for
from ..errors import RuleError
from ..in_error import reason_given
from ..infusions import record_infusion
from .bookings import APPOINTMENT_FIELDS, actor_id, book
from ...vocabulary import APPOINTMENT_STATUS, CANCEL_REASON

log = logging.getLogger(__name__)

# The labels live in the one glossary (tracker.vocabulary).
STATUS_LABELS, CANCEL_REASON_LABELS = APPOINTMENT_STATUS, CANCEL_REASON
# The FHIR Appointment state machine of DOMAIN.md; any status may become entered-in-error.
TRANSITIONS = {
    "pending": {"booked", "cancelled", "noshow", "entered-in-error"},
    "booked": {"arrived", "cancelled", "noshow", "entered-in-error"},
    "arrived": {"fulfilled", "entered-in-error"},
    "fulfilled": {"entered-in-error"},
    "cancelled": {"entered-in-error"},
    "noshow": {"entered-in-error"},
    "entered-in-error": set(),
}

def change_status(appointment: Appointment, to_status: str, *, actor, reason: str | None = None,
                  now: datetime | None = None) -> Appointment:
    """Move an appointment along the state machine, keeping who and when; RuleError if forbidden."""
    now = now or utcnow()
    from_status = appointment.status
    if to_status not in TRANSITIONS.get(from_status, set()):
        raise RuleError(f"An appointment that is {STATUS_LABELS.get(from_status, from_status)} "
                        f"cannot be marked {STATUS_LABELS.get(to_status, to_status)}.", None)
    if to_status == "cancelled":
        if reason not in CANCEL_REASONS:
            raise RuleError("Choose why the appointment is cancelled.", "reason")
        appointment.cancel_reason = reason
    if to_status == "noshow" and appointment.start_at > now:
        raise RuleError("A no-show can only be recorded once the appointment has started.", None)
    before = audit.snapshot(appointment, APPOINTMENT_FIELDS)
    appointment.status = to_status
    appointment.sequence = (appointment.sequence or 0) + 1
    db.session.add(AppointmentStatusChange(appointment_id=appointment.id, from_status=from_status,
                                           to_status=to_status, reason=(reason or None),
                                           user_id=actor_id(actor), at=now))
    db.session.flush()
    audit.record(actor, entity="appointment", entity_id=appointment.id,
                 patient_id=appointment.patient_id, action="status", before=before,
                 after=audit.snapshot(appointment, APPOINTMENT_FIELDS))
    log.info("appointment %s %s -> %s", appointment.id, from_status, to_status)
    return appointment


# What staff read after each action (UX: sentences, not status codes).
DONE_MESSAGES = {"booked": "Confirmed.", "arrived": "Marked as arrived.", "noshow": "Marked as no-show.",
                 "cancelled": "Cancelled; the chair time is free again.",
                 "entered-in-error": "Marked as entered in error; it is kept, struck through, and counts for nothing."}


def clock_problem(appointment: Appointment, to_status: str, *, now: datetime) -> str | None:
    """Why staff cannot take this step now, by the clock, or None: arrived only on the visit's
    clinic-local day and not on a closed day; a no-show only once the visit has started."""
    if to_status == "arrived":
        zone = ZoneInfo(get_settings().timezone)
        visit_day = appointment.start_at.astimezone(zone).date()
        if visit_day != now.astimezone(zone).date():
            return "A patient can be marked as arrived only on the day of the visit."
        if db.session.scalar(select(ClosedDate.id).where(ClosedDate.on == visit_day)) is not None:
            return "The clinic is closed that day: move the visit instead of marking it arrived."
    if to_status == "noshow" and appointment.start_at > now:
        return "A no-show can be recorded only once the visit has started."
    return None


def mark(appointment: Appointment, to_status: str, *, actor, now: datetime, reason: str | None = None) -> Appointment:
    """A staff member's status step: the clock rules, a reason for entered in error, then the
    state machine (change_status). Flushes."""
    problem = clock_problem(appointment, to_status, now=now)
    if problem:
        raise RuleError(problem, None)
    if to_status == "entered-in-error":
        reason = reason_given(reason, "appointment")
    return change_status(appointment, to_status, actor=actor, reason=reason, now=now)


def actions_now(appointment: Appointment, *, now: datetime) -> list[str]:
    """The statuses staff may move this appointment to at `now` (state machine and clock)."""
    return [to for to in sorted(TRANSITIONS.get(appointment.status, set()))
            if to != "fulfilled" and clock_problem(appointment, to, now=now) is None]


RESCHEDULABLE = ("pending", "booked")


def can_reschedule(appointment: Appointment) -> bool:
    """A booked appointment, confirmed or not, can be moved to another time."""
    return appointment.status in RESCHEDULABLE


def reschedule(appointment: Appointment, *, chair: Chair, start_at: datetime, actor, reason: str,
               appointment_type: AppointmentType | None = None, clinician: User | None = None,
               now: datetime | None = None, confirmed: bool = False) -> Appointment:
    """Cancel the appointment (with its reason) and book a new one linked to it (`confirmed`:
    booked as confirmed, as book() does)."""
    if not can_reschedule(appointment):
        raise RuleError("Only a booked appointment can be rescheduled.", None)
    patient = db.session.get(Patient, appointment.patient_id)
    change_status(appointment, "cancelled", actor=actor, reason=reason, now=now)
    return book(patient, appointment_type=appointment_type or appointment.appointment_type,
                chair=chair, start_at=start_at, actor=actor, clinician=clinician,
                notes=appointment.notes, rescheduled_from=appointment, now=now, confirmed=confirmed)


COMPLETABLE = ("booked", "arrived")


def can_complete(appointment: Appointment) -> bool:
    """A confirmed or arrived appointment can be completed by recording its session."""
    return appointment.status in COMPLETABLE


def not_completable(appointment: Appointment) -> RuleError:
    """Why an appointment in a closed or unconfirmed state cannot be completed."""
    advice = " Confirm it first." if appointment.status == "pending" else ""
    return RuleError(f"An appointment that is {STATUS_LABELS[appointment.status]} cannot be "
                     f"completed.{advice}", None)


def fulfil_from_infusion(appointment: Appointment, infusion: Infusion, actor) -> Appointment:
    """Link a recorded infusion to its appointment and mark the appointment fulfilled.

    A confirmed appointment passes through arrived first, so its history shows both steps and
    who took them. Whatever the session's outcome (not_started too), the appointment is fulfilled.
    """
    if infusion.patient_id != appointment.patient_id:
        raise RuleError("That session belongs to another patient.", None)
    if not can_complete(appointment):
        raise not_completable(appointment)
    if appointment.status == "booked":
        change_status(appointment, "arrived", actor=actor)
    infusion.appointment_id = appointment.id
    change_status(appointment, "fulfilled", actor=actor)
    return appointment


def complete(appointment: Appointment, *, actor, given_at: datetime, values: dict,
             today: date | None = None) -> Infusion:
    """Record the appointment's infusion (re-anchoring the window when it qualifies) and
    fulfil the appointment."""
    if not can_complete(appointment):
        raise not_completable(appointment)
    course = appointment.course if appointment.course is not None and appointment.course.is_open \
        else open_course_for(appointment.patient_id)
    if course is None:
        raise RuleError("This patient has no open course; open one on the patient page first.", None)
    infusion = record_infusion(course, actor=actor, settings=get_settings(),
                               today=today or clinic_today(), given_at=given_at,
                               appointment_id=appointment.id, **values)
    fulfil_from_infusion(appointment, infusion, actor)
    return infusion
