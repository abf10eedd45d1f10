"""The staff digest's content: how many unbooked due, overdue and lapsed patients the worklist
holds, and how many things patients did from their own links since the last digest."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from ..extensions import db
from .clock import Clock

SECTIONS = ("overdue", "due", "lapsed")


@dataclass
class Digest:
    """How many unbooked patients each status holds on a day. Counts only: the digest travels by
    email, so it names no patient (the worklist behind the login does)."""

    on: date
    totals: dict = field(default_factory=dict)  # status -> int
    patient_actions: dict = field(default_factory=dict)  # booked_online, confirmed... -> int

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @property
    def actions_total(self) -> int:
        return sum(self.patient_actions.values())

    @property
    def action_lines(self) -> list[tuple[str, int]]:
        """(label, count) of each patient action, in the vocabulary's order."""
        from ..vocabulary import PATIENT_ACTION

        return [(PATIENT_ACTION[kind], self.patient_actions.get(kind, 0)) for kind in PATIENT_ACTION]

    @property
    def has_news(self) -> bool:
        """Something to tell: unbooked patients, or patients who acted on their links."""
        return self.total > 0 or self.actions_total > 0


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
    digest.patient_actions = patient_actions_since_last(clock, settings)
    return digest


def patient_actions_since_last(clock: Clock, settings) -> dict:
    """Patient actions from yesterday's digest hour to today's (each is counted once, by the
    one digest that follows it)."""
    from ..patient_links.staff_marks import count_actions

    until = clock.at_local(clock.today, settings.digest_hour)
    since = clock.at_local(clock.today - timedelta(days=1), settings.digest_hour)
    return count_actions(since, until)
