"""The date rules: pure functions of dates and settings, with `today` always passed in.

Calendar days between clinic-local dates; the infusion day is day 0; never month arithmetic.
Nothing here imports Flask, the database or the rest of the package.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

STATUSES = (
    "series_in_progress", "interrupted", "not_yet_due", "due", "overdue", "lapsed",
    "as_needed", "on_hold",
)
# How far along the maintenance clock a status is; status never moves back without an infusion.
STATUS_ORDER = {"not_yet_due": 0, "due": 1, "overdue": 2, "lapsed": 3}
WORKLIST_STATUSES = ("due", "overdue", "lapsed", "interrupted")


@dataclass(frozen=True)
class Window:
    """The maintenance window after an anchor date, both ends inclusive."""

    anchor: date
    opens: date
    closes: date

    def overdue_from(self) -> date:
        return self.closes + timedelta(days=1)

    def lapsed_from(self, lapse_grace_days: int) -> date:
        return self.closes + timedelta(days=lapse_grace_days + 1)

    def contains(self, day: date) -> bool:
        return self.opens <= day <= self.closes


@dataclass(frozen=True)
class SeriesFacts:
    """What the infusions of one course say, independent of today."""

    qualifying_count: int
    last_qualifying_on: date | None
    series_complete: bool
    anchor_date: date | None
    series_completed_on: date | None


@dataclass(frozen=True)
class Session:
    """One recorded session as the rules see it: its local date and whether it qualifies."""

    given_on: date
    qualifies: bool


def window_for(anchor: date, min_days: int, max_days: int) -> Window:
    """[anchor + min_days, anchor + max_days] in calendar days."""
    if min_days < 0 or max_days < min_days:
        raise ValueError("interval needs 0 <= min_days <= max_days")
    return Window(anchor, anchor + timedelta(days=min_days), anchor + timedelta(days=max_days))


def local_date(instant: datetime, tz: str | ZoneInfo) -> date:
    """The clinic-local calendar date of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return instant.astimezone(zone).date()


def qualifies(outcome: str, counts_toward_series: bool = False) -> bool:
    """Completed sessions qualify; stopped_early only when a clinician marked it as counting."""
    return outcome == "completed" or (outcome == "stopped_early" and counts_toward_series)


def series_facts(
    sessions: Iterable[Session], series_planned: int, ended_early: bool = False
) -> SeriesFacts:
    """Count qualifying sessions; the anchor is the last qualifying one once the series is done.

    The series completes on the `series_planned`-th qualifying session (or when ended early);
    every qualifying session after that is a booster and re-anchors the window.
    """
    dates = sorted(s.given_on for s in sessions if s.qualifies)
    count = len(dates)
    last = dates[-1] if dates else None
    if count >= series_planned:
        return SeriesFacts(count, last, True, last, dates[series_planned - 1])
    if ended_early and last is not None:
        return SeriesFacts(count, last, True, last, last)
    return SeriesFacts(count, last, False, None, None)


def state_after(state: str, facts: SeriesFacts, *, series_ended_early: bool = False) -> str:
    """The stored course state once its series facts are known.

    A series in progress moves to maintenance when the facts say the series is complete; a
    course in maintenance whose series is no longer complete (an infusion entered in error and
    removed) goes back to its series, unless a clinician ended the series early. Every other
    state (on hold, discharged, entered in error) is set by explicit actions only.
    """
    if state == "series_in_progress" and facts.series_complete:
        return "maintenance"
    if state == "maintenance" and not facts.series_complete and not series_ended_early:
        return "series_in_progress"
    return state


def maintenance_status(window: Window, on: date, lapse_grace_days: int) -> str:
    """not_yet_due before opens, due inside, overdue after, lapsed after the grace."""
    if on < window.opens:
        return "not_yet_due"
    if on <= window.closes:
        return "due"
    if on < window.lapsed_from(lapse_grace_days):
        return "overdue"
    return "lapsed"


def is_interrupted(last_series_session: date | None, on: date, max_gap_days: int) -> bool:
    """A series is interrupted when the gap since its last session exceeds the max gap."""
    return last_series_session is not None and (on - last_series_session).days > max_gap_days


def course_status(
    *,
    state: str,
    mode: str,
    on: date,
    anchor_date: date | None,
    last_qualifying_on: date | None,
    min_days: int,
    max_days: int,
    lapse_grace_days: int,
    series_max_gap_days: int,
    resume_on: date | None = None,
    state_before_hold: str | None = None,
) -> str | None:
    """The status of an open course on a date; None for closed courses.

    A hold with a resume date ends on that date by itself: from then on the course has the
    status of the state it was held in (maintenance when that is not recorded), so the patient
    is back on the worklist without anyone having to remember to resume it.
    """
    if state == "on_hold":
        if resume_on is None or on < resume_on:
            return "on_hold"
        state = state_before_hold or "maintenance"
    if state == "series_in_progress":
        if is_interrupted(last_qualifying_on, on, series_max_gap_days):
            return "interrupted"
        return "series_in_progress"
    if state != "maintenance":
        return None
    if mode == "as_needed":
        return "as_needed"
    if anchor_date is None:
        return "due"  # maintenance with no anchor yet: nothing to wait for
    return maintenance_status(window_for(anchor_date, min_days, max_days), on, lapse_grace_days)


def booster_timing(previous_anchor: date, given_on: date, min_days: int, max_days: int) -> str:
    """early (before the window opens), on_time, or late (after it closes)."""
    window = window_for(previous_anchor, min_days, max_days)
    if given_on < window.opens:
        return "early"
    if given_on > window.closes:
        return "late"
    return "on_time"


def booster_timings(days: Sequence[date], series_planned: int, min_days: int,
                    max_days: int) -> list[str | None]:
    """For a course's qualifying session dates in order: None for each series session, and for
    each booster its timing against the anchor in force before it (see booster_timing)."""
    timings: list[str | None] = []
    anchor: date | None = None
    for index, given_on in enumerate(days):
        if index < series_planned or anchor is None:
            timings.append(None)
        else:
            timings.append(booster_timing(anchor, given_on, min_days, max_days))
        if index + 1 >= series_planned:
            anchor = given_on
    return timings

