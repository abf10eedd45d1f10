"""Configuration: code defaults, then instance/config.py, then TRACKER_* environment variables."""
import os
from datetime import timedelta
from urllib.parse import urlsplit

import click

INSECURE_SECRET_KEYS = {"", "dev", "change-me", "changeme", "secret", "secret-key", "development"}
MIN_SECRET_KEY_LENGTH = 16


class InsecureConfigError(click.ClickException, RuntimeError):
    """The configuration is not safe to serve with; the message says what to change.

    A ClickException, so the `flask` CLI prints just the message and exits 1; elsewhere
    (gunicorn, tests) it is an ordinary RuntimeError.
    """


class DefaultConfig:
    """Defaults for a development machine; production overrides them."""

    SECRET_KEY = "dev"
    SQLALCHEMY_DATABASE_URI = None  # filled in by load_config (instance folder)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=14)  # "keep me logged in" on a clinic computer
    # Number of reverse proxies (load balancers) in front of the app whose X-Forwarded-For and
    # X-Forwarded-Proto are trusted; 0 trusts none (a client could fake its address otherwise).
    TRUSTED_PROXIES = 0
    PAGE_SIZE = 50
    LOG_LEVEL = "INFO"  # set up by wsgi.py and the flask commands (tracker.log_config)
    # Mail: no server means .eml files under instance/outbox/.
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_USE_STARTTLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_FROM_ADDRESS = "no-reply@clinic.invalid"
    MAIL_TIMEOUT = 10  # seconds one read from the SMTP server may take
    MAIL_DEADLINE_SECONDS = 60  # total for one exchange (opening the connection, or one message)
    BASE_URL = "http://127.0.0.1:5000"  # development only: production refuses to start with it
    # Login throttling
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    LOGIN_IP_MAX_FAILURES = 20
    LOGIN_SLOW_AFTER = 3  # consecutive account failures before each further one is held back
    LOGIN_IP_SLOW_AFTER = 10  # failures from one address in the lock period before slowing it
    LOGIN_BACKOFF_SECONDS = 2  # the first hold; it doubles with every further failure
    LOGIN_ATTEMPTS_KEEP_DAYS = 90  # the security log of attempts; refused ones go sooner
    # Staff sessions: a login not kept ("keep me logged in" unticked) ends after this many hours
    # at most; every session also ends after the clinic's idle timeout (a clinic setting).
    SESSION_MAX_HOURS = 12
    # Admins must log in with a second factor (TOTP); the clinic can require it of everyone.
    TWO_FACTOR_REQUIRED_FOR_ADMINS = True
    # Scheduler
    SWEEP_MINUTES = 5
    HEARTBEAT_STALE_MINUTES = 15
    # Reminders outbox
    REMINDER_BATCH_SIZE = 100  # rows claimed per committed claim
    REMINDER_LEASE_SECONDS = 600  # a claim older than this belongs to a dead sender: retried
    REMINDER_RETRY_MINUTES = 5  # first retry delay, doubled per failed attempt (max a day)
    REMINDER_PLAN_AHEAD_DAYS = 14  # rows are planned this far ahead (shown on patient pages)
    # Reactivation messages planned per sweep at most: turning them on for a clinic with many
    # overdue patients spreads the first wave over the day's sweeps (most recently overdue first).
    REACTIVATION_PER_SWEEP = 500
    UNSUBSCRIBE_MAX_AGE_DAYS = 730
    # Patient links (book, manage): how long one works, the hold on a chosen time, rate limits
    PATIENT_LINK_MAX_AGE_DAYS = 120
    PATIENT_HOLD_MINUTES = 5
    PATIENT_PAGE_LIMIT_PER_MINUTE = 60  # requests to patient pages per source address
    RESEND_LIMIT_PER_HOUR = 3  # "send me my link again" per email address, and per source x 3
    # Test hook only: sleep REMINDER_PAUSE_SECONDS after the Nth claim (tests kill the sweep there).
    REMINDER_PAUSE_AFTER_BATCH = None
    REMINDER_PAUSE_SECONDS = 3600


def load_config(app, test_config=None):
    """Fill app.config in order: defaults, instance/config.py, TRACKER_* env, DATABASE_URL."""
    app.config.from_object(DefaultConfig)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("TRACKER")
        if os.environ.get("DATABASE_URL"):
            app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    else:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        path = os.path.join(app.instance_path, "tracker.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):
        raise RuntimeError("DATABASE_URL must start with postgresql+psycopg://, not postgres://")
    if uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len("postgresql://"):]
    check_production(app)


def is_production(app) -> bool:
    """TRACKER_ENV=production (environment, or ENV in instance/config.py)."""
    return "production" in (app.config.get("ENV"), os.environ.get("TRACKER_ENV"))


def secret_key_problem(key) -> str | None:
    """Why a secret key is unfit for serving, or None when it will do."""
    if not key:
        return "no secret key is set"
    if isinstance(key, str) and key.strip().lower() in INSECURE_SECRET_KEYS:
        return "the secret key is a well-known default value"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"the secret key is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    return None


def check_production(app):
    """Refuse to start with a missing or default secret key (unless testing or debugging
    outside production); in production also refuse debug mode and force Secure cookies."""
    production = is_production(app)
    if production:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    elif app.config.get("TESTING") or app.debug:
        return
    problem = secret_key_problem(app.config.get("SECRET_KEY"))
    if problem:
        raise InsecureConfigError(
            f"Refusing to start: the secret key is missing or a default value ({problem}). "
            "Set TRACKER_SECRET_KEY (or SECRET_KEY in instance/config.py) to a long random "
            "string, e.g. python -c 'import secrets; print(secrets.token_hex(32))'."
        )
    if production and app.debug:
        raise InsecureConfigError(
            "Refusing to start: debug mode is on with TRACKER_ENV=production. "
            "Unset FLASK_DEBUG / TRACKER_DEBUG."
        )
    problem = base_url_problem(app.config.get("BASE_URL")) if production else None
    if problem:
        raise InsecureConfigError(
            f"Refusing to start: {problem}. Set TRACKER_BASE_URL to the address patients reach "
            "the tracker at, e.g. https://tracker.your-clinic.example: the links in their emails "
            "are built from it."
        )


LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def base_url_problem(value) -> str | None:
    """Why BASE_URL cannot be used in patients' links in production, or None."""
    if not value or value == DefaultConfig.BASE_URL:
        return "TRACKER_BASE_URL is not set"
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "TRACKER_BASE_URL is not an absolute http(s) address"
    if parts.hostname in LOOPBACK_HOSTS or parts.hostname.startswith("127."):
        return "TRACKER_BASE_URL points at this machine, which patients cannot reach"
    return None
