"""Chair blocks: slot finding and conflict rules. Pure: no Flask, no database, `now` passed in.

Instants are aware UTC datetimes at the edges and whole epoch seconds inside, so a month of
blocks compares as integers. Wall-clock times are read in the clinic's zone. A block lasts its
minutes of elapsed time: a 4-hour block that spans a daylight-saving change still lasts four
hours, and its wall-clock end is read back from the UTC end (naive wall-clock addition would be
an hour off).
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Mapping, NamedTuple, Sequence
from zoneinfo import ZoneInfo

from dateutil.rrule import WEEKLY, rrule

from .formatting import DEFAULT_DATE_STYLE, DEFAULT_TIME_STYLE, format_clock, format_day

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # 0 = Monday
WEEKDAY_NAMES = tuple(f"{name}s" for name in WEEKDAYS)  # "closed on Mondays"


class Block(NamedTuple):
    """An active chair block already booked, in epoch seconds; the infusion part is inside it.

    A named tuple, not a dataclass: a month of blocks is built per search and tuples are cheap.
    """

    chair_id: int
    start: int
    end: int
    patient_id: int
    clinician_id: int | None = None
    infusion_start: int | None = None
    infusion_end: int | None = None


@dataclass(frozen=True)
class BlockLength:
    """Preparation + infusion + recovery minutes of one appointment type."""

    prep_min: int
    infusion_min: int
    recovery_min: int

    @property
    def total_min(self) -> int:
        return self.prep_min + self.infusion_min + self.recovery_min


@dataclass(frozen=True)
class ClinicRules:
    """The clinic's constraints: zone, hours per weekday (0 = Monday), closed dates, capacity."""

    zone: ZoneInfo
    hours: Mapping[int, tuple[time, time]]
    closed: Mapping[date, str]
    step_min: int = 15
    max_concurrent: int = 3
    date_style: str = DEFAULT_DATE_STYLE  # how refusals write days and times (formatting.py)
    time_style: str = DEFAULT_TIME_STYLE


@dataclass(frozen=True)
class Slot:
    """A free chair block: where and when."""

    chair_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Refusal:
    """Why a block cannot be booked, and which form field it concerns."""

    field: str
    message: str


def epoch(instant: datetime) -> int:
    """Whole seconds since 1970 of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return int(instant.timestamp())


def from_epoch(seconds: int) -> datetime:
    """The aware UTC instant of epoch seconds."""
    return datetime.fromtimestamp(seconds, timezone.utc)


def local_instant(day: date, wall: time, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a wall-clock time on a date; None when the clocks skip that time.

    A repeated time (clocks going back) is read as its first occurrence.
    """
    naive = datetime.combine(day, wall)
    local = naive.replace(tzinfo=zone, fold=0)
    instant = local.astimezone(timezone.utc)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return instant


def block_end(start: datetime, minutes: int) -> datetime:
    """The end of a block of `minutes` elapsed minutes (UTC arithmetic, right across DST)."""
    return (start.astimezone(timezone.utc) + timedelta(minutes=minutes))


def wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """The clinic-local wall-clock reading of an instant (naive)."""
    return instant.astimezone(zone).replace(tzinfo=None)


def _clock(instant: datetime | time, rules: ClinicRules) -> str:
    """A refusal's time of day in the clinic's clock style (an instant in clinic time)."""
    if isinstance(instant, datetime):
        instant = instant.astimezone(rules.zone).time() if instant.tzinfo else instant.time()
    return format_clock(instant, rules.time_style)


def opening_refusal(start: datetime, end: datetime, rules: ClinicRules) -> Refusal | None:
    """Closed dates, closed weekdays and opening hours, all in clinic wall-clock time."""
    local_start, local_end = wall(start, rules.zone), wall(end, rules.zone)
    day = local_start.date()
    if day in rules.closed:
        reason = f" ({rules.closed[day]})" if rules.closed[day] else ""
        return Refusal("start_at", f"The clinic is closed on {format_day(day, rules.date_style)}{reason}.")
    hours = rules.hours.get(day.weekday())
    if hours is None:
        return Refusal("start_at", f"The clinic is closed on {WEEKDAY_NAMES[day.weekday()]}.")
    opens, closes = hours
    if local_start < datetime.combine(day, opens) or local_end > datetime.combine(day, closes):
        return Refusal(
            "start_at",
            f"The block {_clock(local_start, rules)} to {_clock(local_end, rules)} is outside "
            f"opening hours ({_clock(opens, rules)} to {_clock(closes, rules)}).",
        )
    return None


def over_capacity(start: int, end: int, intervals: Sequence[tuple[int, int]], limit: int) -> bool:
    """True when adding [start, end) would make more than `limit` intervals run at once."""
    overlapping = [(s, e) for s, e in intervals if s < end and e > start]
    if len(overlapping) < limit:
        return False
    # The most overlap inside [start, end) is reached at start or at one of the others' starts.
    points = [start] + [s for s, _ in overlapping if start < s < end]
    return any(sum(1 for s, e in overlapping if s <= p < e) >= limit for p in points)


def infusion_span(start: int, length: BlockLength) -> tuple[int, int]:
    """The infusion part of a block starting at `start` (epoch seconds)."""
    begin = start + length.prep_min * 60
    return begin, begin + length.infusion_min * 60


def check_block(*, chair_id: int, start: datetime, length: BlockLength, patient_id: int,
                clinician_id: int | None, blocks: Iterable[Block], rules: ClinicRules,
                now: datetime) -> Refusal | None:
    """The first rule a proposed block breaks, or None when it can be booked."""
    end = block_end(start, length.total_min)
    if start < now:
        return Refusal("start_at", "That time is in the past; choose a later one.")
    refusal = opening_refusal(start, end, rules)
    if refusal is not None:
        return refusal
    s, e = epoch(start), epoch(end)
    clinician_spans = []
    for block in blocks:
        if clinician_id is not None and block.clinician_id == clinician_id:
            clinician_spans.append(_span(block))
        if block.start >= e or block.end <= s:
            continue
        if block.chair_id == chair_id:
            return Refusal("chair_id", "That chair is already booked from "
                           f"{_clock(from_epoch(block.start), rules)} to "
                           f"{_clock(from_epoch(block.end), rules)}.")
        if block.patient_id == patient_id:
            return Refusal("start_at", "This patient already has an appointment from "
                           f"{_clock(from_epoch(block.start), rules)} to "
                           f"{_clock(from_epoch(block.end), rules)}.")
    if clinician_id is not None:
        i_start, i_end = infusion_span(s, length)
        if over_capacity(i_start, i_end, clinician_spans, rules.max_concurrent):
            return Refusal("clinician_id", "The supervising clinician already runs "
                           f"{rules.max_concurrent} infusions at that time (the clinic maximum).")
    return None


def _span(block: Block) -> tuple[int, int]:
    if block.infusion_start is None or block.infusion_end is None:
        return block.start, block.end
    return block.infusion_start, block.infusion_end


def day_grid(day: date, rules: ClinicRules, length: BlockLength) -> list[tuple[int, int]]:
    """Candidate (start, end) epoch pairs on a date: every step from opening, ending by closing."""
    if day in rules.closed or day.weekday() not in rules.hours:
        return []
    opens, closes = rules.hours[day.weekday()]
    opening, closing = datetime.combine(day, opens), datetime.combine(day, closes)
    step = max(rules.step_min, 1) * 60
    block = length.total_min * 60
    first = local_instant(day, opens, rules.zone)
    last = local_instant(day, closes, rules.zone)
    if first is not None and last is not None and \
            epoch(last) - epoch(first) == int((closing - opening).total_seconds()):
        # No clock change between opening and closing: plain arithmetic on epoch seconds.
        start, stop = epoch(first), epoch(last)
        return [(s, s + block) for s in range(start, stop - block + 1, step)]
    grid = []
    cursor = opening
    while cursor < closing:
        start = local_instant(day, cursor.time(), rules.zone)
        if start is not None:
            end = block_end(start, length.total_min)
            if wall(end, rules.zone) > closing:
                break
            grid.append((epoch(start), epoch(end)))
        cursor += timedelta(seconds=step)
    return grid


def find_slots(*, days: Iterable[date], chairs: Sequence[int], blocks: Iterable[Block],
               rules: ClinicRules, length: BlockLength, patient_id: int | None,
               clinician_id: int | None, now: datetime, limit: int = 12, per_day: int = 3,
               spacing_min: int = 60) -> list[Slot]:
    """The earliest free chair blocks, day by day, at most `per_day` a day `spacing_min` apart.

    Chairs are tried in the given order; a day the patient is already booked is skipped.
    Work per day is proportional to the blocks booked that day, not to chairs x steps.
    """
    by_chair: dict[int, list[tuple[int, int]]] = {chair: [] for chair in chairs}
    patient_days: set[date] = set()
    clinician_spans: list[tuple[int, int]] = []
    for block in blocks:
        if block.chair_id in by_chair:
            by_chair[block.chair_id].append((block.start, block.end))
        if block.patient_id == patient_id:
            patient_days.add(wall(from_epoch(block.start), rules.zone).date())
        if clinician_id is not None and block.clinician_id == clinician_id:
            clinician_spans.append(_span(block))
    for spans in by_chair.values():
        spans.sort()
    chair_starts = {chair: [s for s, _ in spans] for chair, spans in by_chair.items()}
    clinician_spans.sort()
    not_before = epoch(now)
    slots: list[Slot] = []
    for day in sorted(days):
        if day in patient_days:
            continue
        grid = [g for g in day_grid(day, rules, length) if g[0] >= not_before]
        if not grid:
            continue
        free = _free_grid_points(grid, chairs, by_chair, chair_starts)
        taken_today = 0
        last_start = None
        for index in sorted(free):
            start, end = grid[index]
            if last_start is not None and start - last_start < spacing_min * 60:
                continue
            if clinician_id is not None:
                i_start, i_end = infusion_span(start, length)
                if over_capacity(i_start, i_end, clinician_spans, rules.max_concurrent):
                    continue
            slots.append(Slot(free[index], from_epoch(start), from_epoch(end)))
            last_start = start
            taken_today += 1
            if len(slots) >= limit:
                return slots
            if taken_today >= per_day:
                break
    return slots


def _free_grid_points(grid, chairs, by_chair, chair_starts) -> dict[int, int]:
    """{grid index: first free chair} for the grid points where some chair is free."""
    grid_starts = [s for s, _ in grid]
    day_start, day_end = grid[0][0], grid[-1][1]
    free: dict[int, int] = {}
    for chair in chairs:
        spans = by_chair[chair]
        # Blocks that may touch this day: none starts a day or more before the day's first slot.
        i = bisect_left(chair_starts[chair], day_start - 86400)
        cursor = day_start
        gaps = []
        while i < len(spans) and spans[i][0] < day_end:
            s, e = spans[i]
            if e > cursor:
                if s > cursor:
                    gaps.append((cursor, s))
                cursor = e
            i += 1
        if cursor < day_end:
            gaps.append((cursor, day_end))
        for gap_start, gap_end in gaps:
            j = bisect_left(grid_starts, gap_start)
            while j < len(grid) and grid[j][1] <= gap_end:
                free.setdefault(j, chair)
                j += 1
    return free


def series_days(first_day: date, weekdays: Sequence[int], count: int,
                closed: Mapping[date, str]) -> tuple[list[date], list[date]]:
    """`count` dates on the chosen weekdays from `first_day`, skipping closed dates.

    Returns (dates, skipped closed dates).
    """
    if count < 1 or not weekdays:
        return [], []
    rule = rrule(WEEKLY, byweekday=sorted(set(weekdays)), dtstart=datetime.combine(first_day, time()),
                 count=count + len(closed))
    days, skipped = [], []
    for occurrence in rule:
        day = occurrence.date()
        if day in closed:
            skipped.append(day)
            continue
        days.append(day)
        if len(days) == count:
            break
    return days, skipped


def day_starts(*, day: date, chairs: Sequence[int], blocks: Iterable[Block], rules: ClinicRules,
               length: BlockLength, patient_id: int, clinician_id: int | None,
               now: datetime, prefer_chair: int | None = None) -> list[Slot]:
    """Every free start of one day, each once, with the free chair least booked that day
    (`prefer_chair` first whenever it is free: the chair someone clicked on).

    Unlike find_slots a day the patient is already booked is not skipped: only starts that
    overlap one of their own blocks are left out (the visit being moved is not among the blocks).
    """
    blocks = list(blocks)
    grid = [g for g in day_grid(day, rules, length) if g[0] >= epoch(now)]
    if not grid or not chairs:
        return []
    by_chair: dict[int, list[tuple[int, int]]] = {chair: [] for chair in chairs}
    own: list[tuple[int, int]] = []
    clinician_spans: list[tuple[int, int]] = []
    for block in blocks:
        if block.chair_id in by_chair:
            by_chair[block.chair_id].append((block.start, block.end))
        if block.patient_id == patient_id:
            own.append((block.start, block.end))
        if clinician_id is not None and block.clinician_id == clinician_id:
            clinician_spans.append(_span(block))
    day_start, day_end = grid[0][0], grid[-1][1]
    load = {chair: sum(max(0, min(e, day_end) - max(s, day_start)) for s, e in spans)
            for chair, spans in by_chair.items()}
    order = sorted(chairs, key=lambda chair: (chair != prefer_chair, load[chair], chairs.index(chair)))
    starts = []
    for start, end in grid:
        if any(s < end and e > start for s, e in own):
            continue
        chair = next((c for c in order
                      if not any(s < end and e > start for s, e in by_chair[c])), None)
        if chair is None:
            continue
        if clinician_id is not None:
            i_start, i_end = infusion_span(start, length)
            if over_capacity(i_start, i_end, clinician_spans, rules.max_concurrent):
                continue
        starts.append(Slot(chair, from_epoch(start), from_epoch(end)))
    return starts
