"""The scheduler's sign of life, and whether the admin pages should warn that it is gone."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import SchedulerHeartbeat, utcnow

FORGET_AFTER = timedelta(days=7)


def beat(name: str, *, last_result: str | None = None, swept_at: datetime | None = None) -> None:
    """Record that scheduler `name` is alive (and its last sweep, when given); commits."""
    now = utcnow()
    row = db.session.get(SchedulerHeartbeat, name)
    if row is None:
        row = SchedulerHeartbeat(name=name)
        db.session.add(row)
    row.beat_at = now
    if swept_at is not None:
        row.last_sweep_at = swept_at
        row.last_result = (last_result or "")[:300]
    db.session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.beat_at < now - FORGET_AFTER))
    db.session.commit()


def forget(name: str) -> None:
    """A scheduler stopping cleanly removes its row; commits."""
    db.session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.name == name))
    db.session.commit()


def heartbeat_problem(now: datetime | None = None) -> dict | None:
    """None while some scheduler beat recently; else {'missing': bool, 'last_beat': datetime|None}."""
    now = now or utcnow()
    last = db.session.scalar(select(func.max(SchedulerHeartbeat.beat_at)))  # aware: UTCDateTime
    stale_after = timedelta(minutes=int(current_app.config["HEARTBEAT_STALE_MINUTES"]))
    if last is None:
        return {"missing": True, "last_beat": None}
    if now - last > stale_after:
        return {"missing": False, "last_beat": last}
    return None
