"""Who is calling: a bearer token (never a session cookie), its scope, its user's role.

The FHIR endpoints (tracker/fhir) authenticate with the same tokens through `bearer_caller`.
"""

import logging

from flask import g, request

from ..extensions import db
from ..models import User, utcnow
from . import bp
from .problems import Problem
from .tokens import find_token, note_use

log = logging.getLogger(__name__)

READ_METHODS = ("GET", "HEAD", "OPTIONS")
PUBLIC_ENDPOINTS = ("api.openapi",)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}


def _presented_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def bearer_caller() -> User:
    """The request's live token and its user, kept on `g`; a 401 or 403 Problem otherwise.

    Writes need the write scope; the token's last use is noted (and committed) on the way.
    """
    secret = _presented_secret()
    if secret is None:
        raise Problem(
            401, "Send an API token as 'Authorization: Bearer <token>'.", headers=CHALLENGE
        )
    token = find_token(secret)
    if token is None:
        raise Problem(401, "The API token is not valid, or was revoked.", headers=CHALLENGE)
    if note_use(token, utcnow()):
        db.session.commit()
    if request.method not in READ_METHODS and not token.may_write:
        raise Problem(403, "This token may only read; ask an admin for a read-write token.")
    user = db.session.get(User, token.user_id)
    assert user is not None  # find_token answers only tokens of an existing, active user
    g.api_token = token
    g.api_user = user
    return user


@bp.before_request
def authenticate():
    """Every operation but the OpenAPI document needs a live token; writes need the write scope."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    bearer_caller()
    return None
