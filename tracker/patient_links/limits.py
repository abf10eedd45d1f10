"""Rate limits for the patient pages.

Page requests are counted per source address in this process's memory (a GET must not write
to the database, and a few more requests spread over several web processes do no harm). Sends
of "my links again" are counted in the database, shared by every process, per email address and
per source address, each kept as a keyed digest (never the address itself).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import PageHit

MAX_TRACKED = 10_000  # sources remembered per process; the oldest are forgotten first


class MemoryWindow:
    """Sliding one-minute windows of request times per key."""

    def __init__(self):
        self.lock = threading.Lock()
        self.hits: dict[str, deque] = {}

    def allow(self, key: str, limit: int, seconds: float = 60.0, now: float | None = None) -> bool:
        """Count a request; False when the key already made `limit` in the last `seconds`."""
        now = time.monotonic() if now is None else now
        with self.lock:
            times = self.hits.get(key)
            if times is None:
                if len(self.hits) >= MAX_TRACKED:
                    self.hits.pop(next(iter(self.hits)))
                times = self.hits[key] = deque()
            while times and times[0] <= now - seconds:
                times.popleft()
            if len(times) >= limit:
                return False
            times.append(now)
            return True

    def clear(self) -> None:
        with self.lock:
            self.hits.clear()


def page_window() -> MemoryWindow:
    """This app's counts of patient page requests (kept with the app, not the module)."""
    return current_app.extensions.setdefault("patient_page_hits", MemoryWindow())


def page_allowed(source: str) -> bool:
    """May this source address open another patient page now (PATIENT_PAGE_LIMIT_PER_MINUTE)?"""
    return page_window().allow(source, int(current_app.config["PATIENT_PAGE_LIMIT_PER_MINUTE"]))


def digest(text: str) -> str:
    """A keyed digest standing for an address in the hit counts."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(
        key, b"tracker.page_hits:" + text.strip().lower().encode(), hashlib.sha256
    ).hexdigest()[:40]


def count_hit(bucket: str, who: str, limit: int, *, now: datetime, window: timedelta) -> bool:
    """Record one use of `bucket` by `who` unless it already had `limit` within `window`; flush.

    Returns False (and records nothing) when over the limit.
    """
    key = digest(who)
    db.session.execute(
        delete(PageHit).where(
            PageHit.bucket == bucket, PageHit.key == key, PageHit.at < now - window
        )
    )
    used = (
        db.session.scalar(
            select(func.count(PageHit.id)).where(
                PageHit.bucket == bucket, PageHit.key == key, PageHit.at >= now - window
            )
        )
        or 0
    )
    if used >= limit:
        return False
    db.session.add(PageHit(bucket=bucket, key=key, at=now))
    db.session.flush()
    return True
