"""Appointment status changes along the FHIR state machine, rescheduling, and completing an
appointment by recording its session."""
import logging
from datetime import date, datetime

from ...extensions import db
from ...models import (
    CANCEL_REASONS, Appointment, AppointmentStatusChange, AppointmentType, Chair, Infusion, Patient, User, utcnow,
)
from .. import audit
from ..clinic import clinic_today, get_settings
from ..courses import open_course_for
from ..errors import RuleError
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


RESCHEDULABLE = ("pending", "booked")


def can_reschedule(appointment: Appointment) -> bool:
    """A booked appointment, confirmed or not, can be moved to another time."""
    return appointment.status in RESCHEDULABLE


def reschedule(appointment: Appointment, *, chair: Chair, start_at: datetime, actor, reason: str,
               appointment_type: AppointmentType | None = None, clinician: User | None = None,
               now: datetime | None = None) -> Appointment:
    """Cancel the appointment (with its reason) and book a new one linked to it."""
    if not can_reschedule(appointment):
        raise RuleError("Only a booked appointment can be rescheduled.", None)
    patient = db.session.get(Patient, appointment.patient_id)
    change_status(appointment, "cancelled", actor=actor, reason=reason, now=now)
    return book(patient, appointment_type=appointment_type or appointment.appointment_type,
                chair=chair, start_at=start_at, actor=actor, clinician=clinician,
                notes=appointment.notes, rescheduled_from=appointment, now=now)


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
