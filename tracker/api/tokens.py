"""API tokens: issue (the secret shown once), authenticate, note last use, revoke.

Only this module writes api_tokens. The secret is made, kept (as its SHA-256) and checked by
tracker/secret_tokens.py.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, select, update

from ..extensions import db
from ..models import API_SCOPES, ApiToken, User, utcnow
from ..secret_tokens import keep_new, new_secret, presentable, revoke, stored_form, verifies
from ..services import audit
from ..services.errors import RuleError

log = logging.getLogger(__name__)

TOKEN_PREFIX = "trk_"
NAME_MAX = 80
LAST_USED_EVERY = timedelta(minutes=1)  # last use is written at most this often per token
TOKEN_FIELDS = ("user_id", "name", "prefix", "scope", "revoked_at")


def issue_token(user: User, *, scope: str, name: str, actor) -> tuple[ApiToken, str]:
    """A new token acting as `user`; returns the row and the secret (shown once). Flushes."""
    name = " ".join((name or "").split())
    if scope not in API_SCOPES:
        raise RuleError("Choose read, or read and write.", "scope")
    if len(name) > NAME_MAX:
        raise RuleError(f"Use at most {NAME_MAX} characters.", "name")
    if not user.active:
        raise RuleError("That account is deactivated; choose an active one.", "user_id")
    secret = new_secret(TOKEN_PREFIX)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:12],
        token_hash=stored_form(secret),
        scope=scope,
        created_by_id=audit.actor_fields(actor)[0],
        created_at=utcnow(),
    )
    keep_new(token, entity="api_token", fields=TOKEN_FIELDS, actor=actor)
    log.info("api token %s issued for user %s (%s)", token.id, user.id, scope)
    return token, secret


def revoke_token(token: ApiToken, *, actor, now: datetime) -> bool:
    """Revoke a token at once; False when it was revoked already. Flushes."""
    return revoke(token, entity="api_token", fields=TOKEN_FIELDS, actor=actor, now=now)


def find_token(secret: str) -> ApiToken | None:
    """The live token for a presented secret (not revoked, its user active), else None."""
    if not presentable(secret, TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == stored_form(secret)))
    if token is None or not verifies(secret, token.token_hash) or token.revoked_at is not None:
        return None
    user = db.session.get(User, token.user_id)
    return token if user is not None and user.active else None


def note_use(token: ApiToken, now: datetime) -> bool:
    """Record the token's last use when the stored one is older than LAST_USED_EVERY.

    A plain UPDATE guarded by the old value: concurrent requests write it once. Returns True
    when this call wrote it (the caller commits).
    """
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return False
    stale = ApiToken.last_used_at.is_(None) | (ApiToken.last_used_at < now - LAST_USED_EVERY)
    result: CursorResult = db.session.execute(  # type: ignore[assignment]
        update(ApiToken)
        .where(ApiToken.id == token.id, stale)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def tokens_listing() -> list[ApiToken]:
    """Every token, newest first, with its user (the admin page)."""
    from sqlalchemy.orm import joinedload

    return list(
        db.session.scalars(
            select(ApiToken)
            .options(joinedload(ApiToken.user))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )
