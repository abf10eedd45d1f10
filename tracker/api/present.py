"""Models as the API's documents: dates ISO 8601, instants in clinic time with their offset,
clinical fields only for the roles allowed them."""

import hashlib
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import request, url_for

from .. import scheduling
from ..models import Appointment, Course, Patient
from ..services import protocols as protocol_service
from .schemas import CLINICAL_COURSE_FIELDS


def instant(value, zone: ZoneInfo) -> str | None:
    """An aware instant in the clinic's zone, ISO 8601 with its offset."""
    return value.astimezone(zone).isoformat() if value is not None else None


def patient_document(patient: Patient) -> dict:
    """A patient's demographics and consent."""
    return {
        "id": patient.id,
        "mrn": patient.mrn,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "email": patient.email,
        "phone": patient.phone,
        "email_consent": bool(patient.email_consent),
        "email_opted_out": patient.email_opt_out_at is not None,
    }


def course_document(course: Course, settings, today: date, *, clinical: bool) -> dict:
    """A course with its status derived on `today` (scheduling.course_status, the one rule)."""
    status = None
    if course.is_open:
        status = scheduling.status_of(course, settings, today)
    document = {
        "id": course.id,
        "patient_id": course.patient_id,
        "state": course.state,
        "mode": course.mode,
        "status": status,
        "series_planned": course.series_planned,
        "qualifying_count": course.qualifying_count,
        "min_days": course.min_days,
        "max_days": course.max_days,
        "opened_on": course.opened_on.isoformat(),
        "closed_on": _iso(course.closed_on),
        "anchor_date": _iso(course.anchor_date),
        "window_opens": _iso(course.window_opens),
        "window_closes": _iso(course.window_closes),
    }
    if clinical:
        document.update({name: getattr(course, name) for name in CLINICAL_COURSE_FIELDS})
        # A protocol's name may name the treatment: clinical, as on the patient page.
        phase = protocol_service.phase_summary(course, today)
        document.update(
            protocol=phase.protocol_name,
            phase=phase.phase_name,
            phase_position=phase.position,
            phases=phase.phases,
            phase_started_on=_iso(course.phase_started_on),
            missed_dose_proposal=phase.proposal_name,
        )
    return document


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def etag_of(appointment: Appointment) -> str:
    """A strong validator: changes whenever the appointment's status, time, chair or anything
    else saved changes (updated_at and the calendar SEQUENCE move with every write)."""
    parts = (
        appointment.id,
        appointment.sequence,
        appointment.status,
        appointment.chair_id,
        appointment.start_at.isoformat(),
        appointment.end_at.isoformat(),
        appointment.updated_at.isoformat() if appointment.updated_at else "",
    )
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def appointment_document(appointment: Appointment, zone: ZoneInfo) -> dict:
    """An appointment; start and end in clinic time."""
    return {
        "id": appointment.id,
        "patient_id": appointment.patient_id,
        "course_id": appointment.course_id,
        "appointment_type_id": appointment.appointment_type_id,
        "chair_id": appointment.chair_id,
        "clinician_id": appointment.clinician_id,
        "start_at": instant(appointment.start_at, zone),
        "end_at": instant(appointment.end_at, zone),
        "status": appointment.status,
        "cancel_reason": appointment.cancel_reason,
        "rescheduled_from_id": appointment.rescheduled_from_id,
        "notes": appointment.notes or "",
        "etag": etag_of(appointment),
    }


def page_document(items: list, *, page: int, per_page: int, total: int) -> dict:
    """Items and the page's place: page, size, total, and the next page's URL (or null)."""
    pages = max(1, -(-total // per_page))
    following = None
    if page < pages:
        args: dict[str, Any] = {
            **request.args.to_dict(),
            **(request.view_args or {}),
            "page": page + 1,
            "per_page": per_page,
        }
        following = url_for(request.endpoint or "", **args)
    return {
        "items": items,
        "meta": {
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": pages,
            "next": following,
        },
    }
