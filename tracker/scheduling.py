"""The date rules: pure functions of dates and settings, with `today` always passed in.

Calendar days between clinic-local dates; the infusion day is day 0; never month arithmetic.
Nothing here imports Flask, the database or the rest of the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

STATUSES = (
    "series_in_progress",
    "interrupted",
    "not_yet_due",
    "due",
    "overdue",
    "lapsed",
    "as_needed",
    "on_hold",
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


# Protocols and phases (DOMAIN.md "Protocols and phases"). A phase's rule is "series" (no
# window: the series statuses, interrupted after the clinic's max gap) or a window/cadence of
# min-max days after the last qualifying session; both give the window the same way, the
# name only says how the clinic thinks of it.
PHASE_RULES = ("series", "window", "cadence")
PHASE_UNITS = ("sessions", "weeks")
PHASE_ADVANCES = ("count", "time", "clinician")


@dataclass(frozen=True)
class PhaseRule:
    """One phase of a course's protocol, its numbers resolved (the course's own where the
    template leaves them empty). `length` is in `unit`, counted from the phase's start; None
    means open-ended (the last phase, or a phase a clinician ends)."""

    rule: str
    unit: str = "sessions"
    length: int | None = None
    min_days: int | None = None
    max_days: int | None = None
    advance: str = "count"
    returns_on_missed_dose: bool = False

    @property
    def has_window(self) -> bool:
        return self.rule != "series"


@dataclass(frozen=True)
class PhaseEntry:
    """Where the walk starts: phase `position` (1-based) entered on `on` (None: with its first
    session) after `count` qualifying sessions. A course opens at PhaseEntry(1); a clinician's
    advance or return to a phase moves the entry."""

    position: int
    on: date | None = None
    count: int = 0


@dataclass(frozen=True)
class PhaseWalk:
    """What the qualifying sessions say under a protocol: the current phase, when it started,
    the anchor and window (None in a series phase), and each session's booster timing."""

    position: int
    phase_started_on: date | None
    phase_start_count: int
    anchor_date: date | None
    window: Window | None
    timings: tuple[str | None, ...]


def standard_phases(series_planned: int, min_days: int, max_days: int) -> tuple[PhaseRule, ...]:
    """The standard course: a series of `series_planned` sessions, then a min-max day window."""
    return (
        PhaseRule("series", "sessions", series_planned),
        PhaseRule("window", "sessions", None, min_days, max_days),
    )


def _time_advance(
    phases: Sequence[PhaseRule], position: int, started_on: date | None, day: date
) -> tuple[int, date | None]:
    """Move past every timed phase that ended on or before `day`."""
    while position < len(phases) and started_on is not None:
        phase = phases[position - 1]
        if phase.advance != "time" or phase.length is None:
            break
        ends = started_on + timedelta(weeks=phase.length)
        if day < ends:
            break
        position, started_on = position + 1, ends
    return position, started_on


def walk_phases(phases: Sequence[PhaseRule], entry: PhaseEntry, days: Sequence[date]) -> PhaseWalk:
    """Walk a course's sorted qualifying session dates through its phases from `entry`.

    A session first ends every timed phase whose weeks are over by its date, then counts in
    the phase it falls in; a count phase ends with its `length`-th session, and the next phase
    starts that day. Each session re-anchors; the window in force is the rule of the phase in
    force from the day after the anchor (so a timed phase whose weeks end before the next
    session gives way to the next phase's window at once). Sessions before the entry only
    anchor. A phase advancing by a clinician's action never ends here.
    """
    if not 1 <= entry.position <= len(phases):
        raise ValueError("entry position outside the protocol")
    position, started_on, start_count = entry.position, entry.on, entry.count
    anchor: date | None = None
    window_phase = phases[position - 1]
    timings: list[str | None] = []
    for index, day in enumerate(days):
        if index < entry.count:
            timings.append(None)
            anchor = day
            continue
        moved, started_on = _time_advance(phases, position, started_on, day)
        if moved != position:
            position, start_count = moved, index
        window = (
            window_for(anchor, window_phase.min_days or 0, window_phase.max_days or 0)
            if anchor is not None and window_phase.has_window
            else None
        )
        timings.append(_timing(window, day) if window is not None else None)
        anchor = day
        if started_on is None:
            started_on = day
        phase = phases[position - 1]
        if (
            phase.advance == "count"
            and phase.length is not None
            and position < len(phases)
            and index + 1 - start_count >= phase.length
        ):
            position, started_on, start_count = position + 1, day, index + 1
        # The next session falls under the phase in force from the day after this one: a timed
        # phase whose weeks are over by then has ended, and the window follows the next phase.
        moved, moved_on = _time_advance(phases, position, started_on, day + timedelta(days=1))
        if moved != position:
            position, started_on, start_count = moved, moved_on, index + 1
        window_phase = phases[position - 1]
    current = phases[position - 1]
    if anchor is None or not current.has_window:
        return PhaseWalk(position, started_on, start_count, None, None, tuple(timings))
    window = window_for(anchor, current.min_days or 0, current.max_days or 0)
    return PhaseWalk(position, started_on, start_count, anchor, window, tuple(timings))


def _timing(window: Window, given_on: date) -> str:
    if given_on < window.opens:
        return "early"
    if given_on > window.closes:
        return "late"
    return "on_time"


def missed_dose_return(
    phases: Sequence[PhaseRule], position: int, anchor: date | None, on: date
) -> int | None:
    """The phase to propose returning to on day `on`, or None.

    When the gap since the last qualifying session (the anchor) has passed the current phase's
    max days, and the phase says a missed dose returns, the proposal is the phase before it.
    A clinician confirms; nothing changes by itself. A series is never proposed: the gap that
    calls for a return would show it interrupted at once (restarting a series is the
    clinician's own action).
    """
    if anchor is None or position <= 1 or phases[position - 2].rule == "series":
        return None
    phase = phases[position - 1]
    if not phase.returns_on_missed_dose or phase.max_days is None:
        return None
    return position - 1 if (on - anchor).days > phase.max_days else None


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


def state_on(
    state: str, on: date, resume_on: date | None = None, state_before_hold: str | None = None
) -> str:
    """The state a course has on a date: a hold whose resume date has come is the state it was
    held in again (maintenance when that is not recorded); any other state is as stored."""
    if state == "on_hold" and resume_on is not None and on >= resume_on:
        return state_before_hold or "maintenance"
    return state


def status_of(course, settings, on: date) -> str | None:
    """course_status for a course record (anything with a course's columns) on a date, with the
    clinic settings' grace and gap."""
    return course_status(
        state=course.state,
        mode=course.mode,
        on=on,
        anchor_date=course.anchor_date,
        last_qualifying_on=course.last_qualifying_on,
        min_days=course.min_days,
        max_days=course.max_days,
        lapse_grace_days=settings.lapse_grace_days,
        series_max_gap_days=settings.series_max_gap_days,
        resume_on=course.resume_on,
        state_before_hold=course.state_before_hold,
    )


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
    state = state_on(state, on, resume_on, state_before_hold)
    if state == "on_hold":
        return "on_hold"
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
    return _timing(window_for(previous_anchor, min_days, max_days), given_on)
