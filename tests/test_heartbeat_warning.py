"""The admin warning: it fires when no sweep has succeeded for two sweep intervals, with the error."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tracker.extensions import db
from tracker.jobs import sweep
from tracker.models import Reminder, SchedulerHeartbeat, utcnow
from tracker.reminders.heartbeat import beat, heartbeat_problem

from .reminder_fixtures import SMTPServer, book, free_port, maintenance_patient

NAME = "host:4242"


def due_appointment_reminder(app) -> None:
    """A patient booked for tomorrow: their appointment reminder is due now, at any hour."""
    with app.app_context():
        today = utcnow().date()
        patient, course = maintenance_patient(today - timedelta(days=40))
        book(patient, course, utcnow() + timedelta(days=1))
        db.session.commit()


def run_job(app) -> None:
    """The scheduler's sweep job, as the scheduler runs it."""
    sweep(app, NAME, threading.Event(), threading.Lock())


def age_heartbeat(app, minutes: int) -> None:
    """Move the row's start, success and error times `minutes` into the past (its beat stays fresh)."""
    with app.app_context():
        row = db.session.get(SchedulerHeartbeat, NAME)
        for column in ("started_at", "last_sweep_at", "last_error_at"):
            if getattr(row, column) is not None:
                setattr(row, column, getattr(row, column) - timedelta(minutes=minutes))
        db.session.commit()


def warning(client) -> str:
    """The warning's text on the admin's reminders log, or '' when there is none."""
    page = client.get("/reminders/").get_data(as_text=True)
    found = re.search(r'<div class="warning" role="alert">(.*?)</div>', page, re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))) if found else ""


@pytest.fixture
def down_server_app(make_app):
    """An app whose mail server refuses connections (nothing listens on its port)."""
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2, SWEEP_MINUTES=5)


def test_failed_sweeps_warn_with_the_error_after_two_intervals(down_server_app, client, login_as):
    """Sweeps that cannot reach the mail server: no warning at first, then after two sweep
    intervals without a success the admin sees it with the last error; a sweep that succeeds
    clears it."""
    app = down_server_app
    due_appointment_reminder(app)
    run_job(app)
    with app.app_context():
        row = db.session.get(SchedulerHeartbeat, NAME)
        assert row.last_sweep_at is None and "unavailable" in row.last_error
        assert db.session.scalar(select(Reminder.status)) == "pending"
    login_as("admin")
    assert warning(client) == ""  # within two intervals of the start: not yet

    age_heartbeat(app, 11)
    text = warning(client)
    assert (
        "Reminders are not going out" in text
        and "no reminder sweep has succeeded since it started" in text
    )
    assert "Last error" in text and f"127.0.0.1:{app.config['MAIL_PORT']} unavailable" in text

    server = SMTPServer().start()
    try:
        app.config.update(server.config())  # the mail server is back
        with app.app_context():  # and the failed attempt's backoff has passed
            db.session.execute(
                update(Reminder).values(next_attempt_at=utcnow() - timedelta(minutes=1))
            )
            db.session.commit()
        run_job(app)
        assert len(server.recipients()) == 1
    finally:
        server.stop()
    assert warning(client) == ""


def test_failure_soon_after_a_success_does_not_warn_yet(down_server_app, client, login_as):
    """One failed sweep right after a success is not yet a warning; two intervals later it is,
    naming the time of the last success."""
    app = down_server_app
    with app.app_context():
        beat(NAME, last_result="patients swept: 0", swept_at=utcnow())
    due_appointment_reminder(app)
    run_job(app)
    login_as("admin")
    assert warning(client) == ""
    age_heartbeat(app, 11)
    text = warning(client)
    assert "no reminder sweep has succeeded since" in text and "since it started" not in text
    assert "unavailable" in text


def test_sweep_that_raises_keeps_its_error_without_patient_data(app, monkeypatch):
    """A sweep ending in an exception leaves the error class on the heartbeat, never the
    exception's text (which may quote patient data)."""

    def explode(**kwargs):
        raise RuntimeError("patient Jane Doe jane@example.test")

    monkeypatch.setattr("tracker.reminders.sending.run_sweep", explode)
    with app.app_context():
        beat(NAME)
    run_job(app)
    with app.app_context():
        row = db.session.get(SchedulerHeartbeat, NAME)
        assert row.last_error == "the sweep stopped on an error (RuntimeError)"
        problem = heartbeat_problem(utcnow() + timedelta(minutes=11))
        assert problem["failing"] and problem["last_error"] == row.last_error
        assert heartbeat_problem() is None


def test_stopped_scheduler_still_warns_as_before(app, client, login_as):
    """A scheduler whose beat is stale is reported as stopped, with its last beat."""
    with app.app_context():
        beat(NAME)
        row = db.session.get(SchedulerHeartbeat, NAME)
        row.beat_at = utcnow() - timedelta(minutes=16)
        db.session.commit()
    login_as("admin")
    assert "stopped reporting" in warning(client)
