"""Signed unsubscribe links and the opt-out they record."""
from __future__ import annotations

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


def make_token(patient_id: int) -> str:
    """A URL-safe token naming the patient, signed with the app's secret key."""
    return _serializer().dumps({"p": patient_id})


def read_token(token: str) -> int | None:
    """The patient id in a valid, unexpired token; None otherwise."""
    max_age = int(current_app.config["UNSUBSCRIBE_MAX_AGE_DAYS"]) * 86400
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("p"), int):
        return None
    return payload["p"]


def unsubscribe_path(token: str) -> str:
    """The unsubscribe page's path, built without a request (mail is rendered by the scheduler)."""
    adapter = current_app.url_map.bind("localhost")
    return adapter.build("public_reminders.unsubscribe", {"token": token})


def unsubscribe_url(patient_id: int) -> str:
    """The absolute unsubscribe link for a patient's email."""
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    return base + unsubscribe_path(make_token(patient_id))


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
