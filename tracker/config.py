"""Configuration: code defaults, then instance/config.py, then TRACKER_* environment variables."""
import os

INSECURE_SECRET_KEYS = {"", "dev", "change-me", "secret"}


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
    PAGE_SIZE = 50
    # Mail: no server means .eml files under instance/outbox/.
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_USE_STARTTLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_FROM_ADDRESS = "no-reply@clinic.invalid"
    MAIL_TIMEOUT = 10
    BASE_URL = "http://127.0.0.1:5000"
    # Login throttling
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    LOGIN_IP_MAX_FAILURES = 20
    # Scheduler
    SWEEP_MINUTES = 5
    HEARTBEAT_STALE_MINUTES = 15


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


def check_production(app):
    """Refuse to start with a missing or default secret key unless testing or debugging."""
    if app.config.get("TESTING") or app.debug:
        return
    key = app.config.get("SECRET_KEY") or ""
    if key in INSECURE_SECRET_KEYS or len(key) < 16:
        raise RuntimeError(
            "Refusing to start: the secret key is missing or a default value. "
            "Set TRACKER_SECRET_KEY (or SECRET_KEY in instance/config.py) to a long random "
            "string, e.g. python -c 'import secrets; print(secrets.token_hex(32))'."
        )
    if os.environ.get("TRACKER_ENV") == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
