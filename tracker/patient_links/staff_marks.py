"""What staff see of the patients' own actions: "booked online" on an appointment, and the
patient's recent requests (confirm, move, cancel, please call me) on their page."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import AuditEvent
from . import bp
from .holds import BOOKED_ONLINE, PATIENT

REQUEST_LABELS = {
    ("appointment", "create"): "Booked a visit online",
    ("appointment", "status"): "Changed a visit online",
    ("appointment", "cancel_reason"): "Cancelled online",
    ("appointment", "call_me"): "Asked to be called",
    ("patient", "links_sent"): "Asked for the links again",
    ("patient", "opt_out"): "Stopped the emails",
}


@bp.app_template_global()
def booked_online(appointment) -> bool:
    """True for an appointment the patient booked from a link (no staff member made it)."""
    return appointment.created_by_id is None and appointment.notes == BOOKED_ONLINE


@bp.app_template_global()
def patient_requests(patient_id: int, limit: int = 10) -> list[dict]:
    """The patient's own latest actions from their links, newest first (one query)."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.patient_id == patient_id, AuditEvent.actor == PATIENT)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    listed = []
    for event in events:
        label = REQUEST_LABELS.get((event.entity, event.action), "Acted online")
        after = (event.changes or {}).get("after") or {}
        if event.action == "status" and after.get("status") == "booked":
            label = "Confirmed a visit online"
        detail = after.get("reason") if event.action == "cancel_reason" else None
        listed.append(
            {"at": event.at, "label": label, "detail": detail, "entity_id": event.entity_id}
        )
    return listed
