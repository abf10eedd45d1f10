"""Staff login sessions: a random token per login, only its hash stored, ended on demand.

The session and remember-me cookies carry the token (User.get_id), so ending the row here
ends every cookie that holds it, wherever it was copied to.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..extensions import db
from ..models import StaffSession, User
from ..secret_tokens import new_secret, presentable, stored_form

log = logging.getLogger(__name__)

TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often


def start_session(
    user: User, *, remember: bool, lifetime: timedelta, ip: str, user_agent: str, now: datetime
) -> str:
    """Open a session for the user; returns the raw token (kept only in the cookies)."""
    token = new_secret()
    db.session.add(
        StaffSession(
            user_id=user.id,
            token_hash=stored_form(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            remember=remember,
            ip=(ip or "")[:64],
            user_agent=(user_agent or "")[:200],
        )
    )
    db.session.flush()
    user.session_token = token
    log.info("session opened for user %s", user.id)
    return token


def live_session(token: str, now: datetime, idle: timedelta) -> tuple[StaffSession, User] | None:
    """The open session holding this token and its active user, unless it has ended, expired
    or sat idle longer than `idle`."""
    if not presentable(token):
        return None
    row = db.session.execute(
        select(StaffSession, User)
        .join(User, User.id == StaffSession.user_id)
        .where(
            StaffSession.token_hash == stored_form(token),
            StaffSession.ended_at.is_(None),
            StaffSession.expires_at > now,
            StaffSession.last_seen_at > now - idle,
            User.active.is_(True),
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


def touch(staff_session: StaffSession, now: datetime, force: bool = False) -> bool:
    """Note activity on the session (at most once a minute unless forced); True if written."""
    if not force and now - staff_session.last_seen_at < TOUCH_EVERY:
        return False
    db.session.execute(
        update(StaffSession).where(StaffSession.id == staff_session.id).values(last_seen_at=now)
    )
    return True


def end_session(staff_session: StaffSession, reason: str, now: datetime) -> None:
    """End one session."""
    if staff_session.ended_at is None:
        staff_session.ended_at, staff_session.ended_reason = now, reason
        db.session.flush()
        log.info(
            "session %s of user %s ended (%s)", staff_session.id, staff_session.user_id, reason
        )


def end_sessions(user_id: int, reason: str, now: datetime, keep: int | None = None) -> int:
    """End every open session of the user (but `keep`, a session id); returns how many."""
    stmt = (
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=now, ended_reason=reason)
    )
    if keep is not None:
        stmt = stmt.where(StaffSession.id != keep)
    ended = int(getattr(db.session.execute(stmt), "rowcount", 0) or 0)
    if ended:
        log.info("%s sessions of user %s ended (%s)", ended, user_id, reason)
    return ended


def open_sessions(user_id: int, now: datetime, idle: timedelta) -> list[StaffSession]:
    """The user's sessions still usable, the most recently used first."""
    return list(
        db.session.scalars(
            select(StaffSession)
            .where(
                StaffSession.user_id == user_id,
                StaffSession.ended_at.is_(None),
                StaffSession.expires_at > now,
                StaffSession.last_seen_at > now - idle,
            )
            .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc())
        )
    )
