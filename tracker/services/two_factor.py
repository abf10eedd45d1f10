"""The second factor: TOTP codes from an authenticator app, and one-time recovery codes."""

import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import RecoveryCode, User
from .audit import record
from .sessions import end_sessions

log = logging.getLogger(__name__)

RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)
TOTP_DIGITS = re.compile(r"[0-9]{6}")
DRIFT_STEPS = 1  # accept the code of the step before and after (phone clocks drift)


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def setup_uri(secret: str, email: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> Markup:
    """The address as an inline SVG QR code (no script, no style: the CSP stays strict)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, title="QR code for your authenticator app", svgclass="qr-code", lineclass=None
    )
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is (within the allowed drift), or None."""
    if not TOTP_DIGITS.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def code_fits_secret(secret: str, code: str, now: datetime) -> bool:
    """True when `code` is the app's current code for `secret` (used while setting it up)."""
    return _matching_step(secret, _clean(code), now) is not None


def _clean(code: str) -> str:
    return re.sub(r"[\s-]", "", (code or "")).lower()[:32]


def _digest(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def new_recovery_codes(user: User, now: datetime) -> list[str]:
    """Replace the user's recovery codes with fresh ones; returns them (shown once, kept hashed)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_digest(raw), created_at=now))
    db.session.flush()
    return codes


def enable(user: User, secret: str, now: datetime) -> list[str]:
    """Turn the second factor on with a confirmed secret; returns the new recovery codes."""
    # The code that confirmed the app is spent: the next login needs a later one.
    user.totp_secret, user.totp_enabled_at = secret, now
    user.totp_last_step = pyotp.TOTP(secret).timecode(now)
    codes = new_recovery_codes(user, now)
    record(user, entity="user", entity_id=user.id, patient_id=None, action="two_factor_on")
    log.info("second factor turned on for user %s", user.id)
    return codes


def disable(actor, user: User) -> None:
    """Turn the second factor off and forget its secret and recovery codes."""
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()
    record(actor, entity="user", entity_id=user.id, patient_id=None, action="two_factor_off")
    log.info("second factor turned off for user %s", user.id)


def reset_two_factor(actor, user: User, now: datetime) -> None:
    """An admin turns a user's second factor off (a lost phone) and ends their sessions."""
    disable(actor, user)
    end_sessions(user.id, "two_factor_reset", now)


def check_code(user: User, code: str, now: datetime) -> str | None:
    """'app' or 'recovery' when the code lets the user in (a TOTP step or a recovery code is
    good once), else None."""
    code = _clean(code)
    if user.totp_secret and TOTP_DIGITS.fullmatch(code):
        step = _matching_step(user.totp_secret, code, now)
        if step is not None and (user.totp_last_step is None or step > user.totp_last_step):
            user.totp_last_step = step
            return "app"
        return None
    unused = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if unused is None:
        return None
    unused.used_at = now
    log.info("recovery code used by user %s", user.id)
    return "recovery"


def recovery_codes_left(user: User) -> int:
    """How many unused recovery codes the user holds."""
    return (
        db.session.scalar(
            select(func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def required_for(user: User, settings, config) -> bool:
    """Must this user log in with a second factor? Admins (unless the configuration says
    otherwise), and everyone when the clinic says so."""
    if settings.two_factor_for_everyone:
        return True
    return user.role == "admin" and bool(config.get("TWO_FACTOR_REQUIRED_FOR_ADMINS", True))
