"""Our rows as FHIR R4 resources (JSON dicts): Patient, Appointment, Location, Schedule, Slot,
and searchset Bundles. Statuses are the stored FHIR codes; instants are in clinic time with
their offset; clinical values (the indication, visit notes) only where `clinical` says so."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import url_for

from .. import booking
from ..models import Appointment, AppointmentType, Chair, Course, Patient
from ..services.appointments import CANCEL_REASON_LABELS

MRN_SYSTEM = "urn:infusion-tracker:mrn"
UID_SYSTEM = "urn:infusion-tracker:calendar-uid"
TYPE_SYSTEM = "urn:infusion-tracker:appointment-type"
CANCEL_SYSTEM = "urn:infusion-tracker:cancel-reason"
WINDOW_PREFIX = "window-"
FREE_PREFIX = "free-"
BUSY_PREFIX = "busy-"


def instant(value: datetime, zone: ZoneInfo) -> str:
    """A FHIR instant: clinic time, whole seconds, with its offset."""
    return value.astimezone(zone).isoformat(timespec="seconds")


def reference(resource_type: str, resource_id: int | str, display: str | None = None) -> dict:
    """A relative reference, with a display text when one is given."""
    found = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        found["display"] = display
    return found


def service_type(kind: AppointmentType) -> dict:
    """An appointment type as a serviceType concept (our code, its name)."""
    return {"coding": [{"system": TYPE_SYSTEM, "code": str(kind.id), "display": kind.name}]}


def patient_resource(patient: Patient) -> dict:
    """A patient's demographics: MRN, name, birth date, phone and email."""
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    resource = {
        "resourceType": "Patient",
        "id": str(patient.id),
        "identifier": [{"system": MRN_SYSTEM, "value": patient.mrn}],
        "active": True,
        "name": [{"family": patient.last_name, "given": [patient.first_name]}],
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if telecom:
        resource["telecom"] = telecom
    return resource


def appointment_resource(
    appointment: Appointment, zone: ZoneInfo, *, clinical: bool, indication: str | None = None
) -> dict:
    """A stored visit: its status code as stored, the patient and the chair (a Location) as
    participants, the chair block's start and end."""
    kind = appointment.appointment_type
    patient_status = "needs-action" if appointment.status == "pending" else "accepted"
    resource: dict = {
        "resourceType": "Appointment",
        "id": str(appointment.id),
        "meta": {"versionId": str(appointment.version)},
        "identifier": [{"system": UID_SYSTEM, "value": appointment.uid}],
        "status": appointment.status,
        "serviceType": [service_type(kind)],
        "start": instant(appointment.start_at, zone),
        "end": instant(appointment.end_at, zone),
        "minutesDuration": kind.block_minutes,
        "created": instant(appointment.created_at, zone),
        "participant": [
            {"actor": reference("Patient", appointment.patient_id), "status": patient_status},
            {
                "actor": reference("Location", appointment.chair_id, appointment.chair.name),
                "status": "accepted",
            },
        ],
    }
    if appointment.updated_at is not None:
        resource["meta"]["lastUpdated"] = instant(appointment.updated_at, zone)
    if appointment.status == "cancelled" and appointment.cancel_reason:
        resource["cancelationReason"] = {
            "coding": [{"system": CANCEL_SYSTEM, "code": appointment.cancel_reason}],
            "text": CANCEL_REASON_LABELS.get(appointment.cancel_reason, appointment.cancel_reason),
        }
    if clinical and indication:
        resource["reasonCode"] = [{"text": indication}]
    if clinical and appointment.notes:
        resource["comment"] = appointment.notes
    return resource


def window_id(course: Course) -> str:
    """The proposed Appointment's id: the course and the day its window opens (a new window
    after a booster is a new proposal)."""
    assert course.window_opens is not None
    return f"{WINDOW_PREFIX}{course.id}-{course.window_opens:%Y%m%d}"


def window_resource(course: Course, *, clinical: bool) -> dict:
    """An unbooked maintenance window as a proposed Appointment: requestedPeriod = the window."""
    assert course.window_opens is not None and course.window_closes is not None
    resource: dict = {
        "resourceType": "Appointment",
        "id": window_id(course),
        "status": "proposed",
        "description": "Next visit: to be booked inside this window",
        "requestedPeriod": [
            {"start": course.window_opens.isoformat(), "end": course.window_closes.isoformat()}
        ],
        "participant": [
            {"actor": reference("Patient", course.patient_id), "status": "needs-action"}
        ],
    }
    if clinical and course.indication:
        resource["reasonCode"] = [{"text": course.indication}]
    return resource


def location_resource(chair: Chair) -> dict:
    """A chair as a Location (an instance, active while the chair is in use)."""
    return {
        "resourceType": "Location",
        "id": str(chair.id),
        "status": "active" if chair.active else "inactive",
        "name": chair.name,
        "mode": "instance",
    }


def schedule_resource(chair: Chair, kinds: list[AppointmentType]) -> dict:
    """A chair's Schedule: its Location as the actor, the appointment types in use."""
    return {
        "resourceType": "Schedule",
        "id": str(chair.id),
        "active": bool(chair.active),
        "serviceType": [service_type(kind) for kind in kinds],
        "actor": [reference("Location", chair.id, chair.name)],
        "comment": f"Chair time on {chair.name}",
    }


def free_slot_id(chair_id: int, kind_id: int, start: datetime) -> str:
    """A free Slot's id: chair, appointment type and start (epoch seconds)."""
    return f"{FREE_PREFIX}{chair_id}-{kind_id}-{booking.epoch(start)}"


def free_slot_resource(slot: booking.Slot, kind: AppointmentType, zone: ZoneInfo) -> dict:
    """A free chair block of the type's length, as the booking rules find it."""
    return {
        "resourceType": "Slot",
        "id": free_slot_id(slot.chair_id, kind.id, slot.start),
        "serviceType": [service_type(kind)],
        "schedule": reference("Schedule", slot.chair_id),
        "status": "free",
        "start": instant(slot.start, zone),
        "end": instant(slot.end, zone),
    }


def busy_slot_resource(appointment: Appointment, zone: ZoneInfo) -> dict:
    """A booked chair block as a busy Slot (no patient named)."""
    return {
        "resourceType": "Slot",
        "id": f"{BUSY_PREFIX}{appointment.id}",
        "schedule": reference("Schedule", appointment.chair_id),
        "status": "busy",
        "start": instant(appointment.start_at, zone),
        "end": instant(appointment.end_at, zone),
    }


def full_url(resource: dict) -> str:
    """The resource's absolute URL on this server."""
    return url_for(
        "fhir." + resource["resourceType"].lower(),
        resource_id=resource["id"],
        _external=True,
    )


def searchset(resources: list[dict], *, total: int | None, links: dict[str, str]) -> dict:
    """A searchset Bundle of the page's resources, with its self and next links."""
    bundle: dict = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = [{"relation": name, "url": url} for name, url in links.items()]
    bundle["entry"] = [
        {"fullUrl": full_url(r), "resource": r, "search": {"mode": "match"}} for r in resources
    ]
    return bundle
