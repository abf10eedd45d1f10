"""Staff accounts, their login sessions, second factors and login attempts."""
from datetime import datetime
from typing import Optional, cast

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .types import UTCDateTime, one_of, utcnow

ROLES = ("frontdesk", "clinician", "admin")
# ok: logged in; partial: password right, second factor still to come; wrong: a wrong password
# or code; held: refused unchecked while throttled; unlocked: an admin lifted the account's hold.
ATTEMPT_OUTCOMES = ("ok", "partial", "wrong", "held", "unlocked")


class User(UserMixin, db.Model):
    """A staff member who logs in; role is frontdesk, clinician or admin."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Second factor (TOTP): the base32 secret once enrolled, and the last time step accepted
    # (a code is good once).
    totp_secret: Mapped[Optional[str]] = mapped_column(String(64))
    totp_enabled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[Optional[int]]

    # The raw token of the login session this object was loaded through (never stored).
    session_token = cast(Optional[str], None)

    def get_id(self) -> str | None:
        """Flask-Login keeps this in the session and remember cookies: the session's token,
        never the account id, so a cookie dies with its session."""
        return self.session_token

    def set_password(self, password: str) -> None:
        """Hash with scrypt (werkzeug's default)."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """True when the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active

    @property
    def has_second_factor(self) -> bool:
        """A TOTP app is enrolled."""
        return self.totp_enabled_at is not None and bool(self.totp_secret)

    def has_role(self, *roles: str) -> bool:
        """Admins hold every role; others only their own."""
        return self.role == "admin" or self.role in roles

    @property
    def label(self) -> str:
        """Name to show, falling back to the email."""
        return self.name or self.email


class StaffSession(db.Model):
    """One login: a random token (only its hash is kept) that the cookies carry; ended by
    logout, a password, role or access change, or from the account page."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_user_id_ended_at", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    remember: Mapped[bool] = mapped_column(default=False)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    ended_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    ended_reason: Mapped[Optional[str]] = mapped_column(String(40))


class RecoveryCode(db.Model):
    """A one-time code that stands in for the TOTP app; only its hash is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())


class LoginAttempt(db.Model):
    """One login attempt, kept for throttling by address and account and for the security log."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_ip_at", "ip", "at"),
        Index("ix_login_attempts_email_at", "email", "at"),
        CheckConstraint(one_of("outcome", ATTEMPT_OUTCOMES), name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
