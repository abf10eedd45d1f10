"""Secrets handed out once: API tokens, calendar-feed URLs, webhook signing secrets.

Each is 32 random bytes, made here. A bearer secret (token, feed) is kept only as its SHA-256:
that long a secret leaves nothing to guess, and the hash lets a request find its row by an
indexed lookup; the match is then confirmed in constant time. A signing secret is kept as
given, since the tracker signs with it. Keeping a new one and revoking one are each one audited step for every kind.
"""

import hashlib
import hmac
import logging
import secrets
from datetime import datetime

from .extensions import db
from .services import audit

log = logging.getLogger(__name__)

SECRET_BYTES = 32
PRESENTED_MAX = 100  # characters; a longer presented secret is not one of ours


def new_secret(prefix: str = "") -> str:
    """A fresh secret (URL-safe text), after `prefix` (which says what kind it is)."""
    return prefix + secrets.token_urlsafe(SECRET_BYTES)


def stored_form(secret: str) -> str:
    """What is kept of a bearer secret: its SHA-256, in hex (the form every stored row has)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def verifies(secret: str, stored: str) -> bool:
    """The presented secret is the one `stored` was made from (constant time)."""
    return hmac.compare_digest(stored_form(secret), stored)


def presentable(secret: str | None, prefix: str = "") -> bool:
    """Worth looking up: not empty, not overlong, with the kind's prefix."""
    return bool(secret) and len(secret or "") <= PRESENTED_MAX and (secret or "").startswith(prefix)


def _audit(row, *, entity: str, fields: tuple[str, ...], actor, action: str, before=None):
    """The audit event of a secret's row (no patient's data is in one)."""
    audit.record(
        actor,
        entity=entity,
        entity_id=row.id,
        patient_id=None,
        action=action,
        before=before,
        after=audit.snapshot(row, fields),
    )


def keep_new(row, *, entity: str, fields: tuple[str, ...], actor):
    """Add the row that holds a new secret (or its stored form), audited as `entity`. Flushes."""
    db.session.add(row)
    db.session.flush()
    _audit(row, entity=entity, fields=fields, actor=actor, action="create")
    return row


def revoke(row, *, entity: str, fields: tuple[str, ...], actor, now: datetime) -> bool:
    """Stop a secret's row at once (its `revoked_at` set), audited as `entity`; False when it
    was revoked already. Flushes."""
    if row.revoked_at is not None:
        return False
    before = audit.snapshot(row, fields)
    row.revoked_at = now
    db.session.flush()
    _audit(row, entity=entity, fields=fields, actor=actor, action="revoke", before=before)
    log.info("%s %s revoked", entity, row.id)
    return True
