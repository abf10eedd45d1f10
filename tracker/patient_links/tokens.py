"""Signed patient links: a purpose (book, manage, offer, check-in), the patient and what the
link is about (a course, an appointment or an offer), signed with the app's secret key and a
per-purpose salt, expiring.

A link holds ids only, never a name, a date or an address. A link signed for one purpose is
refused for any other, and one for another patient's appointment cannot be made by editing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PURPOSES = {
    "book": "c",
    "manage": "a",
    "offer": "o",
    "check_in": "k",
}  # purpose -> the key naming its target
SALT = "tracker.patient_links."


@dataclass(frozen=True)
class Link:
    """What a valid link names: its purpose, the patient, and the course or appointment id."""

    purpose: str
    patient_id: int
    target_id: int


class LinkProblem(Exception):
    """A link that cannot be used: `expired` when only its age is wrong (the page says what to do)."""

    def __init__(self, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT + purpose)


def max_age_seconds() -> int:
    """How long a link works (PATIENT_LINK_MAX_AGE_DAYS)."""
    return int(current_app.config["PATIENT_LINK_MAX_AGE_DAYS"]) * 86400


def make_token(purpose: str, patient_id: int, target_id: int) -> str:
    """A URL-safe signed token for `purpose` naming the patient and the course or appointment."""
    return _serializer(purpose).dumps({"p": patient_id, PURPOSES[purpose]: target_id})


def read_token(purpose: str, token: str) -> Link:
    """The link a token names; LinkProblem when forged, altered, for another purpose or expired."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age_seconds())
    except SignatureExpired:
        raise LinkProblem(expired=True) from None
    except BadSignature:
        raise LinkProblem() from None
    key = PURPOSES[purpose]
    if not isinstance(payload, dict) or set(payload) != {"p", key}:
        raise LinkProblem()
    patient_id, target_id = payload["p"], payload[key]
    if not all(
        isinstance(value, int) and not isinstance(value, bool) and value > 0
        for value in (patient_id, target_id)
    ):
        raise LinkProblem()
    return Link(purpose, patient_id, target_id)


def link_url(purpose: str, patient_id: int, target_id: int, endpoint: str | None = None) -> str:
    """The absolute link for an email (built without a request: the scheduler renders mail);
    `endpoint` names another page taking the same token (the manage link's checklist)."""
    base = (current_app.config.get("BASE_URL") or "").rstrip("/")
    endpoint = (
        endpoint
        or {
            "book": "patient_links.book",
            "manage": "patient_links.manage",
            "offer": "patient_links.offer",
            "check_in": "patient_links.check_in",
        }[purpose]
    )
    path = current_app.url_map.bind("localhost").build(
        endpoint, {"token": make_token(purpose, patient_id, target_id)}
    )
    return base + path
