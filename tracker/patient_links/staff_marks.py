"""What staff see of the patients' own actions: "booked online" on an appointment, the
patient's recent requests (booked, confirmed, moved, cancelled, please call me) on their page,
a mark on each visit of the day sheet, and the counts in the staff digest. All read from the
audit trail (actor "patient"), the one record of those actions."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import AuditEvent
from ..vocabulary import PATIENT_ACTION
from . import bp
from .holds import BOOKED_ONLINE, PATIENT

REQUEST_LABELS = {
    "booked_online": "Booked a visit online",
    "confirmed": "Confirmed a visit online",
    "moved": "Moved a visit online",
    "cancelled": "Cancelled online",
    "call_me": "Asked to be called",
    "links_sent": "Asked for the links again",
    "opt_out": "Stopped the emails",
}
# The day sheet's mark on a visit for the patient's latest action on it.
VISIT_MARKS = {
    "confirmed": "Confirmed online",
    "moved": "Moved online",
    "cancelled": "Cancelled online",
    "call_me": "Asked to be called",
}


def classify(entity: str, action: str, changes: dict | None) -> str | None:
    """The kind of patient action an audit event records; None for the steps inside one (the
    old visit's cancellation in a move, a cancel's status change)."""
    after = (changes or {}).get("after") or {}
    if entity == "patient":
        return action if action in ("links_sent", "opt_out") else None
    if entity != "appointment":
        return None
    if action == "create":  # a visit moved by cancel-and-rebook (a waitlist offer's) is "moved"
        return "moved" if after.get("rescheduled_from_id") else "booked_online"
    if action == "move":
        return "moved"
    if action == "status":
        return "confirmed" if after.get("status") == "booked" else None
    if action == "cancel_reason":
        return "cancelled"
    if action == "call_me":
        return "call_me"
    return None


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
        .limit(limit * 2)  # the steps inside an action are left out
    ).all()
    listed = []
    for event in events:
        kind = classify(event.entity, event.action, event.changes)
        if kind is None:
            continue
        after = (event.changes or {}).get("after") or {}
        detail = after.get("reason") if kind == "cancelled" else None
        listed.append(
            {
                "at": event.at,
                "label": REQUEST_LABELS[kind],
                "detail": detail,
                "entity_id": event.entity_id,
            }
        )
    return listed[:limit]


def count_actions(since: datetime, until: datetime) -> dict[str, int]:
    """How many of each patient action happened in [since, until) (one query, no names)."""
    rows = db.session.execute(
        select(AuditEvent.entity, AuditEvent.action, AuditEvent.changes).where(
            AuditEvent.actor == PATIENT,
            AuditEvent.entity == "appointment",
            AuditEvent.at >= since,
            AuditEvent.at < until,
        )
    ).all()
    counted = Counter(classify(row.entity, row.action, row.changes) for row in rows)
    return {kind: counted.get(kind, 0) for kind in PATIENT_ACTION}


def visit_marks(appointments) -> dict[int, str]:
    """Appointment id -> the mark of the patient's latest action on it (one query, through the
    audit trail's patient index; run even for no appointments, so a page's queries are fixed)."""
    ids = sorted({a.id for a in appointments})
    patients = sorted({a.patient_id for a in appointments})
    rows = db.session.execute(
        select(AuditEvent.entity_id, AuditEvent.entity, AuditEvent.action, AuditEvent.changes)
        .where(
            AuditEvent.patient_id.in_(patients),
            AuditEvent.actor == PATIENT,
            AuditEvent.entity == "appointment",
            AuditEvent.entity_id.in_(ids),
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    marks: dict[int, str] = {}
    for row in rows:
        mark = VISIT_MARKS.get(classify(row.entity, row.action, row.changes) or "")
        if mark is not None:
            marks[row.entity_id] = mark
    return marks
