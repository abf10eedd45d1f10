"""The scheduler's jobs and the `reminders run` command: fixed ids, time zone, dry runs, figures."""
import os
import threading
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.jobs import (
    HEARTBEAT_JOB_ID,
    PRUNE_LOGINS_JOB_ID,
    SWEEP_JOB_ID,
    WEBHOOKS_JOB_ID,
    build_scheduler,
    sweep,
)
from tracker.models import Reminder, SchedulerHeartbeat
from tracker.services.clinic import get_settings

from .reminder_fixtures import maintenance_patient


def seed(app, count=3):
    with app.app_context():
        for _ in range(count):
            maintenance_patient(date(2026, 3, 2))
        db.session.commit()


def outbox_files(app):
    folder = app.config["MAIL_OUTBOX_DIR"]
    return os.listdir(folder) if os.path.isdir(folder) else []


def count_reminders(app, **filters):
    with app.app_context():
        query = select(func.count()).select_from(Reminder)
        for name, value in filters.items():
            query = query.where(getattr(Reminder, name) == value)
        return db.session.scalar(query)


def test_run_on_date_sends_and_prints_figures(app, runner):
    """`reminders run --on DATE` runs that day's sweep, whatever today is, and prints its figures."""
    seed(app)
    result = runner.invoke(args=["reminders", "run", "--on", "2026-03-25"])
    assert result.exit_code == 0, result.output
    assert "patients swept: 3, planned: 3, sent: 3," in result.output
    assert len(outbox_files(app)) == 3
    again = runner.invoke(args=["reminders", "run", "--on", "2026-03-25"])
    assert "sent: 0," in again.output and len(outbox_files(app)) == 3


def test_dry_run_prints_and_changes_nothing(app, runner):
    """`--dry-run` lists what would be sent (ids only, no names) and leaves no row and no file."""
    seed(app, 2)
    result = runner.invoke(args=["reminders", "run", "--on", "2026-03-25", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("send:")]
    assert len(lines) == 2 and all("window_upcoming to patient" in line for line in lines)
    assert "Dry run: nothing was changed." in result.output
    assert "Rivera" not in result.output and "@" not in result.output  # no patient data printed
    assert count_reminders(app) == 0 and outbox_files(app) == []


def test_dry_run_shows_cancellations(app, runner):
    """A dry run also says which pending reminders the current facts would cancel, without doing it."""
    seed(app, 1)
    runner.invoke(args=["reminders", "run", "--on", "2026-03-20"])
    with app.app_context():
        course = db.session.scalar(select(Reminder)).patient.courses[0]
        course.state = "on_hold"
        db.session.commit()
    result = runner.invoke(args=["reminders", "run", "--on", "2026-03-25", "--dry-run"])
    assert "cancelled reminder 1: course on hold" in result.output
    assert count_reminders(app, status="pending") == 1


def test_run_rejects_a_bad_date(runner):
    """A malformed --on date is a usage error, not a traceback."""
    result = runner.invoke(args=["reminders", "run", "--on", "25/03/2026"])
    assert result.exit_code == 2 and "Invalid value for '--on'" in result.output


def test_scheduler_is_configured_for_one_run_at_a_time(app):
    """Fixed job ids, the clinic's ZoneInfo time zone, coalesced runs and one instance at a time."""
    with app.app_context():
        settings = get_settings()
        settings.timezone = "America/Chicago"
        db.session.commit()
    scheduler = build_scheduler(app, ZoneInfo("America/Chicago"), "test:1", threading.Event(), threading.Lock())
    assert isinstance(scheduler.timezone, ZoneInfo) and scheduler.timezone.key == "America/Chicago"
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {SWEEP_JOB_ID, HEARTBEAT_JOB_ID, WEBHOOKS_JOB_ID, PRUNE_LOGINS_JOB_ID}
    assert jobs[SWEEP_JOB_ID].trigger.interval.total_seconds() == app.config["SWEEP_MINUTES"] * 60
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1


def test_sweep_job_records_its_result_on_the_heartbeat(app):
    """The scheduled sweep sends what is due and writes its figures on the heartbeat row."""
    with app.app_context():
        maintenance_patient(date(2026, 3, 2))  # long past: nothing to send today
        db.session.commit()
    sweep(app, "test:2", threading.Event(), threading.Lock())
    with app.app_context():
        row = db.session.get(SchedulerHeartbeat, "test:2")
        assert row.last_sweep_at is not None and row.last_result.startswith("patients swept: 1,")


def test_sweep_job_survives_a_failure_without_logging_data(app, caplog, monkeypatch):
    """A sweep that raises is logged by error class only, and the job returns (the scheduler lives on)."""
    def explode(**kwargs):
        raise RuntimeError("patient Jane Doe jane@example.test")

    monkeypatch.setattr("tracker.reminders.sending.run_sweep", explode)
    sweep(app, "test:3", threading.Event(), threading.Lock())
    assert "reminder sweep failed: RuntimeError" in caplog.text
    assert "Jane" not in caplog.text
