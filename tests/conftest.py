"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set)."""
import os
from datetime import datetime

import pytest
from sqlalchemy import text

from tracker import create_app
from tracker.extensions import db as _db

from .factories import DEFAULT_PASSWORD, make_user

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
_pg_schema_ready = False


def _reset_postgres(app):
    """Create the schema once per run, then empty every table before each test."""
    global _pg_schema_ready
    if not _pg_schema_ready:
        _db.drop_all()
        with _db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        _db.create_all()
        _pg_schema_ready = True
    tables = ", ".join(t.name for t in _db.metadata.sorted_tables)
    with _db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def database_url(tmp_path) -> str:
    """The URL the test's app uses."""
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"


def build_app(tmp_path, **overrides):
    """An app bound to a fresh database, in TESTING mode, mail going to tmp files."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "WTF_CSRF_ENABLED": False,
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "SERVER_NAME": None,
        # Old tests log admins in with a password alone; tests of two-step login turn this on.
        "TWO_FACTOR_REQUIRED_FOR_ADMINS": False,
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        if TEST_DATABASE_URL:
            _reset_postgres(app)
        else:
            _db.create_all()
        from tracker.services.clinic import ensure_settings

        # Patient reminders say "call us" and wait until the clinic has a phone number.
        ensure_settings().phone = "+1 555 0100"
        _db.session.commit()
    return app


@pytest.fixture
def app(tmp_path):
    """The app with a fresh database; CSRF off (tests/test_security.py turns it on)."""
    app = build_app(tmp_path)
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def make_app(tmp_path):
    """Further apps on this test's database (e.g. two senders); engines disposed afterwards."""
    built = []

    def _make(**config):
        app = build_app(tmp_path, **config)
        built.append(app)
        return app

    yield _make
    for app in built:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture
def app_ctx(app):
    """An application context for tests that call services directly."""
    with app.app_context():
        yield app
        _db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def login(client, user, password=DEFAULT_PASSWORD):
    """Log a test client in as a user; asserts the login worked."""
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def login_as(app, client):
    """login_as("clinician") creates a user of that role and logs the client in."""

    def _login_as(role: str, email: str | None = None):
        with app.app_context():
            user = make_user(role=role, email=email)
            _db.session.commit()
            _db.session.refresh(user)
            _db.session.expunge(user)
        login(client, user)
        return user

    return _login_as


@pytest.fixture
def freeze_clock(monkeypatch):
    """freeze_clock(instant) stops the app's one clock (tracker.clock.now) at an aware instant:
    every utcnow() and clinic_today() of the app reads it, whichever module asks."""

    def _freeze(instant: datetime) -> datetime:
        assert instant.tzinfo is not None, "freeze the clock at an aware instant"
        monkeypatch.setattr("tracker.clock.now", lambda: instant)
        return instant

    return _freeze
