"""The staff digest's content: how many unbooked due, overdue and lapsed patients the worklist holds."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..extensions import db
from .clock import Clock

SECTIONS = ("overdue", "due", "lapsed")


@dataclass
class Digest:
    """How many unbooked patients each status holds on a day. Counts only: the digest travels by
    email, so it names no patient (the worklist behind the login does)."""

    on: date
    totals: dict = field(default_factory=dict)  # status -> int

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def build_digest(clock: Clock, settings) -> Digest:
    """The worklist's unbooked due, overdue and lapsed patients counted (tracker.status: the
    worklist's own rules)."""
    from .. import status

    rules = status.clock_for(clock.today, settings)
    digest = Digest(on=clock.today, totals={s: 0 for s in SECTIONS})
    for row in status.stream(db.session, status.open_courses(rules, SECTIONS)):
        if row.booked or row.status not in SECTIONS or row.window_opens is None:
            continue
        digest.totals[row.status] += 1
    return digest
