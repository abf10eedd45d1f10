"""Signed unsubscribe links, bound to the address they were sent to, and the opt-out they record.

A link names the patient and carries a keyed digest of the address it was mailed to (never the
address itself): once the patient's address changes, an old link is refused, so whoever now
reads the old mailbox cannot change the patient's preferences.
"""
from __future__ import annotations

import hashlib
import hmac
import logging

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..extensions import db
from ..models import Patient, utcnow
from ..services import audit
from ..services.patients import record_opt_out

log = logging.getLogger(__name__)

SALT = "tracker.reminders.unsubscribe"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def address_digest(address: str | None) -> str:
    """A short keyed digest of an address (case-insensitive): it binds a link to the address
    without putting the address in the link."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    text = (address or "").strip().lower().encode()
    return hmac.new(key, SALT.encode() + b":address:" + text, hashlib.sha256).hexdigest()[:20]


def make_token(patient_id: int, address: str | None = None) -> str:
    """A URL-safe token naming the patient and bound to `address` (by default the patient's
    current one), signed with the app's secret key."""
    if address is None:
        patient = db.session.get(Patient, patient_id)
        address = patient.email if patient is not None else None
    return _serializer().dumps({"p": patient_id, "a": address_digest(address)})


def read_link(token: str) -> tuple[int, str | None] | None:
    """(patient id, address digest) of a valid, unexpired token; None otherwise."""
    max_age = int(current_app.config["UNSUBSCRIBE_MAX_AGE_DAYS"]) * 86400
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("p"), int):
        return None
    digest = payload.get("a")
    return payload["p"], digest if isinstance(digest, str) else None


def read_token(token: str) -> int | None:
    """The patient id in a valid, unexpired token; None otherwise."""
    link = read_link(token)
    return link[0] if link else None


def sent_to_current_address(patient: Patient, digest: str | None) -> bool:
    """True when the link was mailed to the address the patient has now."""
    return digest is not None and hmac.compare_digest(digest, address_digest(patient.email))


def unsubscribe_path(token: str) -> str:
    """The unsubscribe page's path, built without a request (mail is rendered by the scheduler)."""
    adapter = current_app.url_map.bind("localhost")
    return adapter.build("public_reminders.unsubscribe", {"token": token})


def unsubscribe_url(patient_id: int, address: str | None = None) -> str:
    """The absolute unsubscribe link for an email to `address` (default: the patient's own)."""
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    return base + unsubscribe_path(make_token(patient_id, address))


def opt_out(patient: Patient) -> bool:
    """Record the patient's opt-out (time + audit event) and skip their pending mail; flush.

    Returns False when the patient had already opted out (nothing changes).
    """
    before = {"email_opt_out_at": None}
    now = utcnow()
    if not record_opt_out(patient, now=now):
        return False
    db.session.flush()
    audit.record("patient", entity="patient", entity_id=patient.id, patient_id=patient.id,
                 action="opt_out", before=before,
                 after={"email_opt_out_at": now.isoformat()})
    log.info("patient %s opted out of email", patient.id)
    return True
