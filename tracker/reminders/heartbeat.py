"""The scheduler's sign of life and each sweep's outcome, and whether the admin pages warn.

The warning is about reminders going out, not about a process being alive: it fires when no
scheduler beat recently, and also when schedulers beat but no sweep has succeeded for two sweep
intervals (each failed sweep leaves its error, which never holds patient data).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import SchedulerHeartbeat, utcnow

FORGET_AFTER = timedelta(days=7)
FAILING_AFTER_SWEEPS = 2  # missed sweep intervals before the admin warning


def beat(name: str, *, last_result: str | None = None, swept_at: datetime | None = None,
         sweep_error: str | None = None) -> None:
    """Record that scheduler `name` is alive and, when `swept_at` is given, how that sweep
    ended: a success (its figures) or `sweep_error` (kept with its time); commits."""
    now = utcnow()
    row = db.session.get(SchedulerHeartbeat, name)
    if row is None:
        row = SchedulerHeartbeat(name=name, started_at=now)
        db.session.add(row)
    row.started_at = row.started_at or now  # rows from before the column get one at their next beat
    row.beat_at = now
    if swept_at is not None and sweep_error:
        row.last_error = sweep_error[:300]
        row.last_error_at = swept_at
    elif swept_at is not None:
        row.last_sweep_at = swept_at
        row.last_result = (last_result or "")[:300]
    db.session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.beat_at < now - FORGET_AFTER))
    db.session.commit()


def forget(name: str) -> None:
    """A scheduler stopping cleanly removes its row; commits."""
    db.session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.name == name))
    db.session.commit()


def heartbeat_problem(now: datetime | None = None) -> dict | None:
    """None while reminders are going out; else what the admin warning says.

    {'missing': True} when no scheduler ever beat; {'stopped': True, 'last_beat'} when none beat
    lately; {'failing': True, 'last_success'} when they beat but no sweep succeeded for two
    sweep intervals. Each also carries 'last_error' and 'last_error_at' of a failure newer than
    the last success (or None).
    """
    now = now or utcnow()
    last_beat, last_success, first_start = db.session.execute(
        select(func.max(SchedulerHeartbeat.beat_at), func.max(SchedulerHeartbeat.last_sweep_at),
               func.min(func.coalesce(SchedulerHeartbeat.started_at, SchedulerHeartbeat.beat_at)))
    ).one()
    if last_beat is None:
        return {"missing": True, "last_error": None, "last_error_at": None}
    failure = db.session.execute(
        select(SchedulerHeartbeat.last_error, SchedulerHeartbeat.last_error_at)
        .where(SchedulerHeartbeat.last_error_at.is_not(None))
        .order_by(SchedulerHeartbeat.last_error_at.desc()).limit(1)
    ).first()
    recent_failure = {"last_error": None, "last_error_at": None}
    if failure is not None and (last_success is None or failure.last_error_at > last_success):
        recent_failure = {"last_error": failure.last_error, "last_error_at": failure.last_error_at}
    stale_after = timedelta(minutes=int(current_app.config["HEARTBEAT_STALE_MINUTES"]))
    if now - last_beat > stale_after:
        return {"stopped": True, "last_beat": last_beat, "last_success": last_success, **recent_failure}
    failing_after = timedelta(minutes=int(current_app.config["SWEEP_MINUTES"]) * FAILING_AFTER_SWEEPS)
    if now - (last_success or first_start) > failing_after:
        return {"failing": True, "last_success": last_success, "since": first_start, **recent_failure}
    return None
