"""Login throttling, per address and per account, read from the log of attempts.

Account (by the email typed, so an unknown, an inactive and an active account answer alike):
after LOGIN_SLOW_AFTER failures in a row each further one holds the account for
LOGIN_BACKOFF_SECONDS, doubling each time; at LOGIN_MAX_FAILURES it is held for
LOGIN_LOCK_MINUTES after the last failure. A hold applies only to addresses that have failed
for that account during the lock period: the owner, from an address with no recent failures,
is still checked, so an attacker cannot lock the owner out.

Address: failures within LOGIN_LOCK_MINUTES are counted; from LOGIN_IP_SLOW_AFTER on the next
attempt waits a doubling back-off after the last failure, and at LOGIN_IP_MAX_FAILURES the
address is locked until LOGIN_LOCK_MINUTES after its last failure. A refused ("held") attempt
is never checked against the password; it counts against the address (so hammering keeps the
address locked) but not against the account. Refused attempts are pruned once they no longer
count; the rest after LOGIN_ATTEMPTS_KEEP_DAYS.
"""
import logging
import math
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import delete, func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import LoginAttempt, User, utcnow
from ..services.audit import record

log = logging.getLogger(__name__)

STREAK_OUTCOMES = ("ok", "wrong", "unlocked")  # a streak of failures ends at a success or unlock


def _seconds_until(moment: datetime | None, now: datetime) -> int:
    if moment is None or moment <= now:
        return 0
    return max(1, math.ceil((moment - now).total_seconds()))


def _lock_period(config) -> timedelta:
    return timedelta(minutes=config["LOGIN_LOCK_MINUTES"])


def _backoff(config, over: int) -> timedelta:
    """The hold after `over` failures beyond the slow-down threshold (0 = the first)."""
    seconds = config["LOGIN_BACKOFF_SECONDS"] * 2 ** min(over, 20)
    return min(timedelta(seconds=seconds), _lock_period(config))


def hold_end(failures: int, last: datetime | None, config) -> datetime | None:
    """When an account's hold ends after `failures` in a row, the last at `last` (None: no hold)."""
    if last is None or failures < config["LOGIN_SLOW_AFTER"]:
        return None
    if failures >= config["LOGIN_MAX_FAILURES"]:
        return last + _lock_period(config)
    return last + _backoff(config, failures - config["LOGIN_SLOW_AFTER"])


def failure_streaks(emails, config, now: datetime) -> dict[str, tuple[int, datetime]]:
    """(failures in a row, time of the last) per email, over the lock period, in one query."""
    rows = db.session.execute(
        select(LoginAttempt.email, LoginAttempt.outcome, LoginAttempt.at)
        .where(LoginAttempt.email.in_(list(emails)), LoginAttempt.at >= now - _lock_period(config),
               LoginAttempt.outcome.in_(STREAK_OUTCOMES))
        .order_by(LoginAttempt.email, LoginAttempt.at.desc(), LoginAttempt.id.desc())
    ).all()
    streaks: dict[str, tuple[int, datetime]] = {}
    ended: set[str] = set()
    for email, outcome, at in rows:
        if email in ended:
            continue
        if outcome != "wrong":
            ended.add(email)
            continue
        count, last = streaks.get(email, (0, at))
        streaks[email] = (count + 1, last)
    return streaks


def account_holds(emails, config, now: datetime | None = None) -> dict[str, datetime]:
    """When each held account's hold ends (accounts not held are left out)."""
    now = now or utcnow()
    holds = {}
    for email, (failures, last) in failure_streaks(emails, config, now).items():
        end = hold_end(failures, last, config)
        if end is not None and end > now:
            holds[email] = end
    return holds


def _address_failed_for(email: str, ip: str, since: datetime) -> bool:
    return db.session.scalar(
        select(LoginAttempt.id).where(LoginAttempt.ip == ip, LoginAttempt.email == email,
                                      LoginAttempt.outcome == "wrong", LoginAttempt.at >= since)
        .limit(1)
    ) is not None


def account_wait(email: str, ip: str, config, now: datetime | None = None) -> int:
    """Seconds until this address may try this account again (0 when it may)."""
    now = now or utcnow()
    end = account_holds([email], config, now).get(email)
    if end is None or not _address_failed_for(email, ip, now - _lock_period(config)):
        return 0
    return _seconds_until(end, now)


def _address_failures(ip: str, config, now: datetime) -> tuple[int, datetime | None]:
    count, last = db.session.execute(
        select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(
            LoginAttempt.ip == ip, LoginAttempt.outcome.in_(("wrong", "held")),
            LoginAttempt.at >= now - _lock_period(config))
    ).one()
    return count or 0, last


def address_wait(ip: str, config, now: datetime | None = None) -> int:
    """Seconds until this address may try again (0 when it may)."""
    now = now or utcnow()
    failures, last = _address_failures(ip, config, now)
    if not failures or last is None:
        return 0
    if failures >= config["LOGIN_IP_MAX_FAILURES"]:
        return _seconds_until(last + _lock_period(config), now)
    if failures >= config["LOGIN_IP_SLOW_AFTER"]:
        return _seconds_until(last + _backoff(config, failures - config["LOGIN_IP_SLOW_AFTER"]), now)
    return 0


def login_wait(email: str, ip: str, config) -> int:
    """Seconds this login attempt must wait before it is checked (0 = check it now)."""
    now = utcnow()
    return max(account_wait(email, ip, config, now), address_wait(ip, config, now))


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not a real password, only for equal timing")


def spend_equal_time(password: str) -> bool:
    """Hash the password against a dummy (same scheme and cost as real ones), so an unknown
    account answers as slowly as a known one. Always False."""
    check_password_hash(_dummy_hash(), password)
    return False


def record_attempt(email: str, ip: str, user: User | None, outcome: str, config) -> None:
    """Log the attempt; when a failure locks the account or the address, put it in the audit
    trail (admins see lockouts there)."""
    now = utcnow()
    email, ip = email[:254], ip[:64]
    user_id = user.id if user is not None else None
    if outcome == "held":
        log.warning("login refused while throttled (user %s) from %s", user_id or "unknown", ip)
        db.session.execute(delete(LoginAttempt).where(
            LoginAttempt.ip == ip, LoginAttempt.outcome == "held",
            LoginAttempt.at < now - _lock_period(config)))
    elif outcome == "wrong":
        _note_failure(email, ip, user, config, now)
    elif outcome == "ok":
        log.info("user %s logged in", user_id)
    db.session.add(LoginAttempt(email=email, ip=ip, outcome=outcome, user_id=user_id, at=now))


def _note_failure(email: str, ip: str, user: User | None, config, now: datetime) -> None:
    """Log a failure (account id and address, never the email) and audit a lock it causes."""
    failures = failure_streaks([email], config, now).get(email, (0, now))[0] + 1
    if user is None:
        log.warning("login failed for unknown account from %s", ip)
    else:
        log.warning("login failed for user %s (%s in a row) from %s", user.id, failures, ip)
    if user is not None and failures == config["LOGIN_MAX_FAILURES"]:
        until = now + _lock_period(config)
        log.warning("user %s locked until %s for addresses that failed", user.id, until.isoformat())
        record("system", entity="user", entity_id=user.id, patient_id=None, action="login_locked",
               after={"until": until.isoformat(), "from": ip})
    elif user is not None and failures >= config["LOGIN_SLOW_AFTER"]:
        log.warning("user %s slowed down", user.id)
    if _address_failures(ip, config, now)[0] + 1 == config["LOGIN_IP_MAX_FAILURES"]:
        log.warning("address %s locked after %s failures", ip, config["LOGIN_IP_MAX_FAILURES"])
        record("system", entity="login_address", entity_id=None, patient_id=None,
               action="login_locked", after={"address": ip,
                                             "until": (now + _lock_period(config)).isoformat()})


def prune_attempts(config, now: datetime | None = None) -> int:
    """Delete refused attempts that no longer count, and every attempt past the keeping period."""
    now = now or utcnow()
    keep = timedelta(days=config["LOGIN_ATTEMPTS_KEEP_DAYS"])
    result = db.session.execute(delete(LoginAttempt).where(or_(
        (LoginAttempt.outcome == "held") & (LoginAttempt.at < now - _lock_period(config)),
        LoginAttempt.at < now - keep)))
    return int(getattr(result, "rowcount", 0) or 0)
