"""The audit trail page's query: filters in, one page of events out (a bounded query count)."""
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from ..formatting import WEEKDAYS, Style
from ..models import Appointment, AppointmentType, AuditEvent, Chair, Patient, User
from ..services.errors import RuleError
from ..vocabulary import label

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


# ---------------------------------------------------------------------------- the trail in words

# Fields whose values are codes of one vocabulary, and fields that name another record.
VALUE_VOCABULARY = {"state": "course_state", "state_before_hold": "course_state", "status": "appointment_status",
                    "outcome": "outcome", "mode": "mode", "role": "role", "cancel_reason": "cancel_reason"}
REFERENCES: dict[str, Any] = {"chair_id": Chair, "appointment_type_id": AppointmentType, "clinician_id": User,
              "recorded_by_id": User}
# Internal links between records: the trail shows what they mean (a move), not the numbers.
UNSHOWN = {"rescheduled_from_id", "course_id", "appointment_id", "patient_id"}
CLOCK_TEXT = re.compile(r"\d{2}:\d{2}(:\d{2})?")


@dataclass
class EventRow:
    """One audit event as people read it."""

    event: AuditEvent
    mrn: str | None
    record: str
    action: str
    summary: str
    changes: list[tuple[str, str, str]]


def _names(events) -> dict[str, dict]:
    """Display names of the records the events refer to (chairs, types, staff), a query per kind."""
    wanted: dict[Any, set] = {}
    for event in events:
        for side in ("before", "after"):
            values = (event.changes or {}).get(side) or {}
            if isinstance(values, dict):
                for field, model in REFERENCES.items():
                    if isinstance(values.get(field), int):
                        wanted.setdefault(model, set()).add(values[field])
    found: dict[Any, dict] = {}
    for model, ids in wanted.items():
        rows = db.session.scalars(select(model).where(model.id.in_(ids)))
        found[model] = {row.id: (row.label if isinstance(row, User) else row.name) for row in rows}
    return {field: found.get(model, {}) for field, model in REFERENCES.items()}


def words(name: str, value, style: Style, names: dict[str, dict]) -> str:
    """A stored audit value in words: labels for codes, names for references, clinic dates."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if name in VALUE_VOCABULARY:
        return label(value, VALUE_VOCABULARY[name])
    if name in REFERENCES:
        return str(names.get(name, {}).get(value, f"number {value}"))
    if isinstance(value, dict):
        return "; ".join(f"{_field_label(key)}: {words(key, item, style, names)}" for key, item in value.items())
    if isinstance(value, list):
        return " to ".join(words(name, item, style, names) for item in value)
    if isinstance(value, str):
        return _text_words(value, style)
    return str(value)


def _field_label(key: str) -> str:
    if key.isdigit() and int(key) < 7:  # opening hours are keyed by weekday
        return WEEKDAYS[int(key)]
    return label(key, "field")


def _text_words(value: str, style: Style) -> str:
    """ISO dates, instants and clock times as the clinic writes them; other text as it is."""
    if CLOCK_TEXT.fullmatch(value):
        return style.clock(time.fromisoformat(value))
    try:
        if len(value) == 10:
            return style.day(date.fromisoformat(value))
        if len(value) > 10 and value[10] == "T":
            moment = datetime.fromisoformat(value)
            return style.when(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
    except ValueError:
        pass
    return value


def _moves(events) -> dict[int, datetime]:
    """The old start of every appointment a page's events moved from, in one query."""
    ids = set()
    for event in events:
        after = (event.changes or {}).get("after") or {}
        if isinstance(after, dict) and isinstance(after.get("rescheduled_from_id"), int):
            ids.add(after["rescheduled_from_id"])
    if not ids:
        return {}
    return dict(db.session.execute(select(Appointment.id, Appointment.start_at).where(Appointment.id.in_(ids))).all())


def readable_rows(events, style: Style) -> list[EventRow]:
    """The page's events in words: field labels, values in words, unchanged fields left out,
    a move written 'moved from ... to ...'."""
    events = list(events)
    mrns, names, moved_from = patient_mrns(events), _names(events), _moves(events)
    rows = []
    for event in events:
        after = (event.changes or {}).get("after") or {}
        summary = ""
        if isinstance(after, dict) and after.get("rescheduled_from_id") in moved_from:
            old = moved_from[after["rescheduled_from_id"]]
            summary = f"Moved from {style.when(old)} to {words('start_at', after.get('start_at'), style, names)}"
        changes = [(_field_label(key), words(key, before, style, names), words(key, now, style, names))
                   for key, before, now in change_rows(event) if key not in UNSHOWN and before != now]
        rows.append(EventRow(event, mrns.get(event.patient_id), label(event.entity, "entity"),
                             label(event.action, "action"), summary, changes))
    return rows
