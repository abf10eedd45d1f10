"""Exactly once, proven against a real SMTP server: races, outages and a killed sweep."""
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Reminder
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from .conftest import database_url
from .reminder_fixtures import SMTPServer, book, concurrent_sweeps, local, maintenance_patient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANCHOR = date(2026, 3, 2)
SWEEP_DAY = date(2026, 3, 25)  # the window reminders of ANCHOR are due this day


@pytest.fixture
def smtp():
    """A real SMTP server that takes 10 ms per message, so concurrent senders interleave."""
    server = SMTPServer(delay=0.01).start()
    yield server
    server.stop()


def seed_due_patients(app, count: int, book_every: int = 3) -> list[str]:
    """`count` patients whose window reminder is due on SWEEP_DAY, and each one's address."""
    with app.app_context():
        addresses = []
        for n in range(count):
            patient, course = maintenance_patient(ANCHOR, email=f"due{n}@example.test")
            addresses.append(patient.email)
            if book_every and n % book_every == 0:  # booked ones get an appointment reminder instead of a window reminder
                book(patient, course, local(date(2026, 3, 27), 9 + n % 8))
        db.session.commit()
        return addresses


def statuses(app) -> Counter:
    with app.app_context():
        return Counter(db.session.scalars(select(Reminder.status)).all())


def test_two_concurrent_sweeps_send_each_reminder_once(smtp, make_app):
    """Two sweeps started together (threads, separate connections) send every reminder exactly once."""
    app = make_app(**smtp.config(), REMINDER_BATCH_SIZE=3)
    addresses = seed_due_patients(app, 24)
    errors = concurrent_sweeps(app, SWEEP_DAY)
    assert errors == []
    assert Counter(smtp.recipients()) == Counter(addresses)
    assert max(Counter(smtp.recipients()).values()) == 1
    assert statuses(app) == Counter({"sent": len(addresses)})
    with app.app_context():
        kinds = Counter(db.session.scalars(select(Reminder.kind)).all())
    assert kinds == Counter({"window_upcoming": 16, "appointment": 8})
    with app.app_context():
        senders = set(db.session.scalars(select(Reminder.claimed_by)).all())
    assert senders == {"sweeper-0", "sweeper-1"}  # both really raced for the same rows


def test_smtp_down_keeps_rows_pending_then_delivers_once(make_app):
    """With the server down rows stay pending with the error; once it is back each goes out once."""
    server = SMTPServer()  # not started: connections are refused
    app = make_app(**server.config(), REMINDER_BATCH_SIZE=50)
    addresses = seed_due_patients(app, 6, book_every=0)
    with app.app_context():
        down = run_sweep(clock=Clock.for_settings(local(SWEEP_DAY, 9), get_settings()))
        assert down.sent == 0 and down.retrying == 1
        rows = db.session.scalars(select(Reminder)).all()
        assert len(rows) == 6 and {r.status for r in rows} == {"pending"}
        assert all("unavailable" in r.last_error for r in rows)
        assert sum(r.attempts for r in rows) == 1  # only the attempt that met the outage counts
    server.start()
    try:
        with app.app_context():
            # The next scheduled sweep, after the first retry delay (5 minutes).
            back = run_sweep(clock=Clock.for_settings(local(SWEEP_DAY, 9, 6), get_settings()))
            assert back.sent == 6
            again = run_sweep(clock=Clock.for_settings(local(SWEEP_DAY, 9, 12), get_settings()))
            assert again.sent == 0
            sent = db.session.scalars(select(Reminder)).all()
            assert all(r.status == "sent" and r.last_error is None for r in sent)
        assert sorted(server.recipients()) == sorted(addresses)
    finally:
        server.stop()


def test_failing_server_gives_up_after_max_attempts(make_app):
    """A server that refuses every message: retries with growing delays, then failed and visible."""
    server = SMTPServer().start()

    async def refuse(server_, session, envelope):
        return "554 Transaction failed"

    server.handler.handle_DATA = refuse
    app = make_app(**server.config())
    seed_due_patients(app, 1, book_every=0)
    try:
        with app.app_context():
            settings = get_settings()
            settings.max_send_attempts = 3
            db.session.commit()
            moment = local(SWEEP_DAY, 9)
            run_sweep(clock=Clock.for_settings(moment, settings))
            row = db.session.scalar(select(Reminder).where(Reminder.kind == "window_upcoming"))
            assert (row.status, row.attempts) == ("pending", 1)
            assert "554" in row.last_error
            assert row.next_attempt_at == local(SWEEP_DAY, 9, 5)  # first retry after 5 minutes
            assert run_sweep(clock=Clock.for_settings(local(SWEEP_DAY, 9, 2), settings)).retrying == 0  # waits
            run_sweep(clock=Clock.for_settings(local(SWEEP_DAY, 9, 5), settings))
            db.session.refresh(row)
            assert row.attempts == 2 and row.next_attempt_at == local(SWEEP_DAY, 9, 15)  # doubled
            result = run_sweep(clock=Clock.for_settings(local(SWEEP_DAY, 9, 20), settings))
            db.session.refresh(row)
            assert result.failed == 1 and (row.status, row.attempts) == ("failed", 3)
            assert run_sweep(clock=Clock.for_settings(local(SWEEP_DAY, 12), settings)).retrying == 0
    finally:
        server.stop()


def _flask(*args, env):
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "tracker", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def process_env(tmp_path, smtp, **extra) -> dict:
    """Environment for a `flask --app tracker ...` process on this test's database and server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(DATABASE_URL=database_url(tmp_path), TRACKER_SECRET_KEY="k" * 40,
               TRACKER_MAIL_SERVER="127.0.0.1", TRACKER_MAIL_PORT=str(smtp.port),
               TRACKER_MAIL_OUTBOX_DIR=str(tmp_path / "unused-outbox"), TRACKER_LOG_LEVEL="WARNING")
    env.update({f"TRACKER_{key}": str(value) for key, value in extra.items()})
    return env


def wait_for(predicate, timeout=60.0, what="condition", process=None):
    """Poll until `predicate()`; fail early, with its output, if `process` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"process ended ({process.returncode}) before {what}:\n{out}\n{err}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_sweep_killed_half_way_loses_and_duplicates_nothing(smtp, make_app, tmp_path):
    """SIGKILL after a claim: the rerun sends the untouched rows, and the claimed ones once their
    lease expires; every reminder reaches the server exactly once."""
    app = make_app(**smtp.config())
    addresses = []
    with app.app_context():
        for n in range(5):
            patient, _ = maintenance_patient(ANCHOR, email=f"kill{n}@example.test")
            addresses.append(patient.email)
        db.session.commit()
    # The dead sender's lease must outlast the rerun's start-up, which a busy machine slows to
    # several seconds: 30 s, waited out below.
    env = process_env(tmp_path, smtp, REMINDER_BATCH_SIZE=2, REMINDER_LEASE_SECONDS=30,
                      REMINDER_PAUSE_AFTER_BATCH=2)
    victim = _flask("reminders", "run", "--on", SWEEP_DAY.isoformat(), env=env)
    try:
        wait_for(lambda: statuses(app) == Counter({"sent": 2, "sending": 2, "pending": 1}),
                 what="the pause after the second claim", process=victim)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    finally:
        if victim.poll() is None:
            victim.kill()
        victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    assert statuses(app) == Counter({"sent": 2, "sending": 2, "pending": 1})
    assert len(smtp.recipients()) == 2

    rerun_env = process_env(tmp_path, smtp, REMINDER_BATCH_SIZE=2, REMINDER_LEASE_SECONDS=4)
    early = subprocess.run([sys.executable, "-m", "flask", "--app", "tracker", "reminders", "run", "--on",
                            SWEEP_DAY.isoformat()], cwd=ROOT, env=rerun_env, capture_output=True, text=True,
                           timeout=120)
    assert early.returncode == 0, early.stderr
    assert statuses(app) == Counter({"sent": 3, "sending": 2})  # the dead sender's lease still holds

    with app.app_context():
        lease_end = db.session.scalar(select(func.max(Reminder.lease_until)))
    from tracker.models import utcnow

    time.sleep(max((lease_end - utcnow()).total_seconds(), 0) + 0.5)
    late = subprocess.run(early.args, cwd=ROOT, env=rerun_env, capture_output=True, text=True, timeout=120)
    assert late.returncode == 0, late.stderr
    assert "sent: 2," in late.stdout
    assert statuses(app) == Counter({"sent": 5})
    assert sorted(smtp.recipients()) == sorted(addresses)


@pytest.mark.slow
def test_two_scheduler_processes_send_each_once_and_stop_cleanly(smtp, make_app, tmp_path):
    """Two `flask scheduler` processes on one database send each reminder once, beat, and stop on SIGTERM."""
    from datetime import timedelta

    from tracker.models import SchedulerHeartbeat, utcnow

    from .factories import make_patient

    app = make_app(**smtp.config())
    addresses = []
    with app.app_context():
        soon = utcnow().replace(second=0, microsecond=0) + timedelta(hours=24)
        for n in range(8):
            patient = make_patient(email=f"sched{n}@example.test")
            book(patient, None, soon + timedelta(minutes=15 * n))
            addresses.append(patient.email)
        db.session.commit()
    env = process_env(tmp_path, smtp, REMINDER_BATCH_SIZE=2)
    schedulers = [_flask("scheduler", env=env) for _ in range(2)]
    try:
        wait_for(lambda: len(smtp.recipients()) >= len(addresses), what="the reminders")

        def both_beat():
            with app.app_context():
                return db.session.scalar(select(func.count()).select_from(SchedulerHeartbeat)) == 2

        wait_for(both_beat, what="two heartbeats")
        time.sleep(1.0)  # any duplicate would arrive now
        for process in schedulers:
            process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=60) for process in schedulers]
    finally:
        for process in schedulers:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert [p.returncode for p in schedulers] == [0, 0], outputs
    assert all("Scheduler stopped." in out for out, _ in outputs)
    assert sorted(smtp.recipients()) == sorted(addresses)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SchedulerHeartbeat)) == 0
