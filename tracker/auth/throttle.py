"""Login throttling, per account and per address: first slowed, then locked for a while.

Account: after LOGIN_SLOW_AFTER consecutive failures each further failure holds the account
for LOGIN_BACKOFF_SECONDS, doubling each time; at LOGIN_MAX_FAILURES it is locked for
LOGIN_LOCK_MINUTES. Address: failures within the last LOGIN_LOCK_MINUTES are counted; from
LOGIN_IP_SLOW_AFTER on the next attempt must wait a doubling back-off after the last failure,
and at LOGIN_IP_MAX_FAILURES the address is locked until LOGIN_LOCK_MINUTES after its last
failure. A refused attempt is never checked against the password; it is logged and counts
against the address (so hammering keeps the address locked) but not against the account.
"""
import logging
import math
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import LoginAttempt, User, utcnow

log = logging.getLogger(__name__)


def _seconds_until(moment: datetime | None, now: datetime) -> int:
    if moment is None or moment <= now:
        return 0
    return max(1, math.ceil((moment - now).total_seconds()))


def _backoff(config, over: int) -> timedelta:
    """The hold after `over` failures beyond the slow-down threshold (0 = the first)."""
    seconds = config["LOGIN_BACKOFF_SECONDS"] * 2 ** min(over, 20)
    return min(timedelta(seconds=seconds), timedelta(minutes=config["LOGIN_LOCK_MINUTES"]))


def account_wait(user: User | None, now: datetime | None = None) -> int:
    """Seconds until the account may try again (0 when it may)."""
    if user is None:
        return 0
    return _seconds_until(user.locked_until, now or utcnow())


def address_wait(ip: str, config, now: datetime | None = None) -> int:
    """Seconds until this address may try again (0 when it may)."""
    now = now or utcnow()
    since = now - timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
    failures, last = db.session.execute(
        select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(
            LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at >= since
        )
    ).one()
    if not failures or last is None:
        return 0
    if failures >= config["LOGIN_IP_MAX_FAILURES"]:
        return _seconds_until(last + timedelta(minutes=config["LOGIN_LOCK_MINUTES"]), now)
    if failures >= config["LOGIN_IP_SLOW_AFTER"]:
        return _seconds_until(last + _backoff(config, failures - config["LOGIN_IP_SLOW_AFTER"]), now)
    return 0


def login_wait(user: User | None, ip: str, config) -> int:
    """Seconds this login attempt must wait before it is checked (0 = check it now)."""
    return max(account_wait(user), address_wait(ip, config))


def address_blocked(ip: str, config) -> bool:
    """Too many recent failures from this address: it must wait."""
    return address_wait(ip, config) > 0


def account_locked(user: User | None) -> bool:
    """The account is held (slowed or locked) until its hold expires."""
    return account_wait(user) > 0


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not a real password, only for equal timing")


def spend_equal_time(password: str) -> None:
    """Hash the password against a dummy, so unknown accounts answer as slowly as known ones."""
    check_password_hash(_dummy_hash(), password)


def record_attempt(email: str, ip: str, user: User | None, success: bool, config,
                   refused: bool = False) -> None:
    """Log the attempt; slow down, then lock, an account after consecutive failures."""
    db.session.add(LoginAttempt(email=email[:254], ip=ip[:64], success=success,
                                user_id=user.id if user else None))
    if refused:
        log.warning("login refused while throttled (user %s) from %s", user.id if user else "unknown", ip)
        return
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
    elif user.failed_logins >= config["LOGIN_SLOW_AFTER"]:
        user.locked_until = utcnow() + _backoff(config, user.failed_logins - config["LOGIN_SLOW_AFTER"])
        log.warning("user %s slowed down until %s", user.id, user.locked_until.isoformat())
