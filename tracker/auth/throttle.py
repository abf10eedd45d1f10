"""Login throttling: per account (lock after repeated failures) and per address."""
import logging
from datetime import timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import LoginAttempt, User, utcnow

log = logging.getLogger(__name__)


def address_blocked(ip: str, config) -> bool:
    """Too many failures from this address in the lock period."""
    since = utcnow() - timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
    failures = db.session.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at >= since
        )
    )
    return failures >= config["LOGIN_IP_MAX_FAILURES"]


def account_locked(user: User | None) -> bool:
    """The account is locked until its lock expires."""
    return bool(user and user.locked_until and user.locked_until > utcnow())


def record_attempt(email: str, ip: str, user: User | None, success: bool, config) -> None:
    """Log the attempt; lock the account after too many consecutive failures."""
    db.session.add(LoginAttempt(email=email[:254], ip=ip[:64], success=success,
                                user_id=user.id if user else None))
    if user is None:
        log.warning("login failed for unknown account from %s", ip)
        return
    if success:
        user.failed_logins = 0
        user.locked_until = None
        log.info("user %s logged in", user.id)
        return
    user.failed_logins += 1
    log.warning("login failed for user %s (%s in a row) from %s", user.id, user.failed_logins, ip)
    if user.failed_logins >= config["LOGIN_MAX_FAILURES"]:
        user.locked_until = utcnow() + timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
        user.failed_logins = 0
        log.warning("user %s locked until %s", user.id, user.locked_until.isoformat())
