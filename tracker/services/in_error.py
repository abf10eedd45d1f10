"""Marking a clinical record entered in error: kept on record, struck out, with who, when and why."""

import logging
from datetime import datetime
from typing import TypeVar

from ..extensions import db
from ..models.in_error import REASON_MAX, EnteredInError
from . import audit
from .errors import RuleError

log = logging.getLogger(__name__)

FIELDS = ("entered_in_error_at", "entered_in_error_reason")

Record = TypeVar("Record", bound=EnteredInError)


def already_marked(noun: str) -> str:
    """What staff read when the record was struck out already."""
    return f"This {noun} is already marked entered in error."


def reason_given(reason: str | None, noun: str) -> str:
    """The reason on one line; RuleError on the reason field when it is missing or too long."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise RuleError(f"Say why this {noun} was entered in error.", "reason")
    if len(reason) > REASON_MAX:
        raise RuleError(f"Use at most {REASON_MAX} characters.", "reason")
    return reason


def mark_entered_in_error(
    record: Record, *, noun: str, entity: str, patient_id: int, actor, reason: str, now: datetime
) -> Record:
    """Strike `record` out with the reason, who and when; it stays on record. Audited as
    `entity`; flushes. RuleError when it is struck out already or the reason is missing."""
    if record.in_error:
        raise RuleError(already_marked(noun))
    reason = reason_given(reason, noun)
    before = audit.snapshot(record, FIELDS)
    record.entered_in_error_at, record.entered_in_error_reason = now, reason
    record.entered_in_error_by_id = audit.actor_fields(actor)[0]
    db.session.flush()
    audit.record(
        actor,
        entity=entity,
        entity_id=getattr(record, "id", None),
        patient_id=patient_id,
        action="entered_in_error",
        before=before,
        after=audit.snapshot(record, FIELDS),
    )
    log.info("%s %s marked entered in error", entity, getattr(record, "id", None))
    return record
