"""The audit trail page's query: filters in, one page of events out (a bounded query count)."""
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from ..models import AuditEvent, Patient, User
from ..services.errors import RuleError

NOT_STAFF = "none"  # the "changed by" choice for events by the system, a patient or an import


@dataclass
class AuditFilter:
    """What the admin asked to see; every part optional."""

    patient: str = ""
    user: str = ""
    entity: str = ""
    date_from: date | None = None
    date_to: date | None = None


def resolve_patient(text: str) -> int:
    """A patient id from an MRN (exact) or, failing that, from a number that is an id."""
    text = text.strip()
    patient_id = db.session.scalar(select(Patient.id).where(Patient.mrn == text))
    if patient_id is None and re.fullmatch(r"[0-9]{1,9}", text):
        patient_id = db.session.scalar(select(Patient.id).where(Patient.id == int(text)))
    if patient_id is None:
        raise RuleError("No patient has this MRN or id.", "patient")
    return patient_id


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a clinic-local date begins."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)


def audit_query(wanted: AuditFilter, zone: ZoneInfo):
    """The select() of matching events, newest first; raises RuleError for an unknown patient."""
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if wanted.patient:
        stmt = stmt.where(AuditEvent.patient_id == resolve_patient(wanted.patient))
    if wanted.user == NOT_STAFF:
        stmt = stmt.where(AuditEvent.user_id.is_(None))
    elif wanted.user:
        stmt = stmt.where(AuditEvent.user_id == int(wanted.user))
    if wanted.entity:
        stmt = stmt.where(AuditEvent.entity == wanted.entity.strip().lower())
    if wanted.date_from:
        stmt = stmt.where(AuditEvent.at >= _start_of(wanted.date_from, zone))
    if wanted.date_to:
        stmt = stmt.where(AuditEvent.at < _start_of(wanted.date_to + timedelta(days=1), zone))
    return stmt


def user_choices() -> dict[str, str]:
    """The 'changed by' choices: anyone, each staff account, or not a staff member."""
    choices = {"": "Anyone"}
    for user_id, email, name in db.session.execute(select(User.id, User.email, User.name).order_by(User.email)):
        choices[str(user_id)] = f"{name} ({email})" if name else email
    choices[NOT_STAFF] = "Not staff (system, patient, import)"
    return choices


def patient_mrns(events) -> dict[int, str]:
    """MRN by patient id for the events on one page, in one query."""
    ids = {event.patient_id for event in events if event.patient_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(Patient.id, Patient.mrn).where(Patient.id.in_(ids))).all())


def change_rows(event) -> list[tuple[str, object, object]]:
    """(field, before, after) for each changed field of an event."""
    changes = event.changes or {}
    before, after = changes.get("before") or {}, changes.get("after") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    keys = list(after) + [k for k in before if k not in after]
    return [(key, before.get(key), after.get(key)) for key in keys]
