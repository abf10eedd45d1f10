"""What the schedule's views share: typed clinic times, the clinic's zone per request, the
template helpers, and loading an appointment (locked or not). Saving goes through
tracker.saving like every other view."""

from datetime import datetime

from flask import g
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..database import lock_for_write
from ..extensions import db
from ..models import Appointment
from ..services import appointments as service
from ..services.clinic import clinic_zone, local_to_utc
from .blueprint import bp


def clinic_instant(naive: datetime, field: str) -> datetime:
    """A typed clinic wall-clock time as UTC; a skipped DST time or an absurd year is refused."""
    return local_to_utc(naive, field=field)


def request_zone():
    """The clinic's zone, read once per request (the settings row is not kept between reads)."""
    if "schedule_clinic_zone" not in g:
        g.schedule_clinic_zone = clinic_zone()
    return g.schedule_clinic_zone


@bp.app_template_global()
def patient_appointments(patient_id: int, limit: int = 50) -> list[Appointment]:
    """A patient's appointments, latest first, with type, chair and clinician: one query."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient_id)
            .options(
                joinedload(Appointment.appointment_type),
                joinedload(Appointment.chair),
                joinedload(Appointment.clinician),
            )
            .order_by(Appointment.start_at.desc(), Appointment.id.desc())
            .limit(limit)
        )
    )


@bp.app_template_global()
def appointment_status_label(status: str) -> str:
    """The front desk's words for a FHIR appointment status."""
    return service.STATUS_LABELS.get(status, status)


@bp.app_template_global()
def may_record_session(appointment: Appointment) -> bool:
    """Whether the logged-in person may record this visit's session now (clinicians, on a
    confirmed or arrived visit); the day sheet and the appointment page offer it alike."""
    return service.can_complete(appointment) and current_user.has_role("clinician")


def load_appointment(appointment_id: int) -> Appointment:
    """The appointment with its patient, type, chair, clinician and history; 404 if unknown."""
    return db.one_or_404(
        select(Appointment)
        .where(Appointment.id == appointment_id)
        .options(
            joinedload(Appointment.patient),
            joinedload(Appointment.appointment_type),
            joinedload(Appointment.chair),
            joinedload(Appointment.clinician),
            selectinload(Appointment.history),
        )
    )


def locked_appointment(appointment_id: int) -> Appointment:
    """The appointment, locked for this transaction so two changes cannot cross."""
    lock_for_write(db.session)
    return db.one_or_404(
        select(Appointment)
        .where(Appointment.id == appointment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
