"""The audit trail: who changed which patient data, when, before and after."""
import logging
from datetime import date, datetime
from decimal import Decimal

from ..extensions import db
from ..models import AuditEvent

log = logging.getLogger(__name__)


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(obj, fields) -> dict:
    """The named attributes of a model instance as JSON-safe values."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def actor_fields(actor) -> tuple[int | None, str]:
    """(user_id, label) for a User, or a plain label such as 'patient', 'system', 'import'."""
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    return actor.id, actor.email


def record(actor, *, entity: str, entity_id, patient_id, action: str, before=None, after=None):
    """Add an audit event; only changed keys are kept for updates."""
    before = before or {}
    after = after or {}
    if action == "update":
        keys = [k for k in after if before.get(k) != after.get(k)]
        if not keys:
            return None
        before = {k: before.get(k) for k in keys}
        after = {k: after[k] for k in keys}
    user_id, label = actor_fields(actor)
    event = AuditEvent(user_id=user_id, actor=label, entity=entity, entity_id=entity_id,
                       patient_id=patient_id, action=action,
                       changes={"before": before, "after": after})
    db.session.add(event)
    log.info("audit %s %s %s by %s", action, entity, entity_id, user_id or label)
    return event
