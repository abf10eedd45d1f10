"""Every scheduled job, with fixed ids; each job is one call of a service in an app context.

Jobs are safe to run twice at once (the outbox claims rows atomically), so two scheduler
processes against one database send each reminder once.
"""
from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

SWEEP_JOB_ID = "reminders-sweep"
HEARTBEAT_JOB_ID = "scheduler-heartbeat"
HEARTBEAT_SECONDS = 60
WEBHOOKS_JOB_ID = "webhooks-sweep"
WEBHOOKS_SECONDS = 60
PRUNE_LOGINS_JOB_ID = "login-attempts-prune"
PRUNE_LOGINS_MINUTES = 10


def sweep(app, name: str, stop: threading.Event, busy: threading.Lock) -> None:
    """Plan and send due reminders, then record on the heartbeat row how the sweep ended: its
    figures, or why it failed (an error class or the mail server's state, never row data)."""
    from .models import utcnow
    from .reminders.heartbeat import beat
    from .reminders.sending import run_sweep

    with busy, app.app_context():
        try:
            result = run_sweep(stop=stop)
        except Exception as error:  # keep the scheduler alive; never log row data (patient data)
            log.error("reminder sweep failed: %s", type(error).__name__)
            _record_failure(beat, name, f"the sweep stopped on an error ({type(error).__name__})", utcnow())
            return
        if stop.is_set():
            return
        try:
            if result.error:
                beat(name, swept_at=utcnow(), sweep_error=f"sending stopped: {result.error}")
            else:
                beat(name, last_result=result.summary(), swept_at=utcnow())
        except Exception as error:
            log.error("could not record the sweep: %s", type(error).__name__)


def _record_failure(beat, name: str, text: str, when) -> None:
    """Keep a failed sweep's reason on the heartbeat row, if the database lets us."""
    from .extensions import db

    try:
        db.session.rollback()
        beat(name, swept_at=when, sweep_error=text)
    except Exception as error:
        log.error("could not record the failed sweep: %s", type(error).__name__)


def heartbeat(app, name: str, stop: threading.Event) -> None:
    """Record that this scheduler process is alive."""
    from .reminders.heartbeat import beat

    with app.app_context():
        if stop.is_set():
            return
        try:
            beat(name)
        except Exception as error:
            log.error("scheduler heartbeat failed: %s", type(error).__name__)


def webhooks(app, stop: threading.Event) -> None:
    """Plan the date events and send every webhook delivery that is due."""
    from .webhooks.sending import run_sweep

    with app.app_context():
        if stop.is_set():
            return
        try:
            run_sweep()
        except Exception as error:  # keep the scheduler alive; never log row data
            log.error("webhook sweep failed: %s", type(error).__name__)


def prune_logins(app, stop: threading.Event) -> None:
    """Delete login attempts that no longer count for throttling or the security log."""
    from .auth.throttle import prune_attempts
    from .extensions import db

    with app.app_context():
        if stop.is_set():
            return
        try:
            removed = prune_attempts(app.config)
            db.session.commit()
        except Exception as error:  # keep the scheduler alive; the next run tries again
            db.session.rollback()
            log.error("pruning login attempts failed: %s", type(error).__name__)
            return
        if removed:
            log.info("pruned %s login attempts", removed)


def build_scheduler(app, zone, name: str, stop: threading.Event, busy: threading.Lock):
    """A BlockingScheduler in the clinic's zone; a missed run is run once (coalesced), never twice
    at the same time (max_instances=1)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone=zone, job_defaults={"coalesce": True, "max_instances": 1})
    add_jobs(scheduler, app, name, stop, busy)
    return scheduler


def add_jobs(scheduler, app, name: str, stop: threading.Event, busy: threading.Lock) -> None:
    """Register every job with its fixed id; each runs once at start, then on its interval."""
    from .models import utcnow

    start = utcnow()
    minutes = int(app.config.get("SWEEP_MINUTES", 5))
    scheduler.add_job(heartbeat, "interval", seconds=HEARTBEAT_SECONDS, id=HEARTBEAT_JOB_ID,
                      args=(app, name, stop), next_run_time=start, replace_existing=True,
                      coalesce=True, max_instances=1)
    scheduler.add_job(prune_logins, "interval", minutes=PRUNE_LOGINS_MINUTES, id=PRUNE_LOGINS_JOB_ID,
                      args=(app, stop), next_run_time=start, replace_existing=True,
                      coalesce=True, max_instances=1)
    scheduler.add_job(sweep, "interval", minutes=minutes, id=SWEEP_JOB_ID,
                      args=(app, name, stop, busy), next_run_time=start, replace_existing=True,
                      coalesce=True, max_instances=1, misfire_grace_time=minutes * 60)
    scheduler.add_job(webhooks, "interval", seconds=WEBHOOKS_SECONDS, id=WEBHOOKS_JOB_ID,
                      args=(app, stop), next_run_time=start, replace_existing=True,
                      coalesce=True, max_instances=1)
