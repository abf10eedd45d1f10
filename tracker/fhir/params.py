"""FHIR search parameters read from the query string: date prefixes, references, tokens,
_count and _offset. A value that cannot be read is a 400 OperationOutcome naming it."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..services.appointments import day_bounds
from .outcomes import FhirError

DEFAULT_COUNT = 50
MAX_COUNT = 100
MAX_OFFSET = 100_000
FIRST_YEAR, LAST_YEAR = 1900, 2200  # dates a search may name (no overflow at either end)
PREFIXES = ("eq", "ge", "gt", "le", "lt")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^[0-9]{1,10}$")


@dataclass(frozen=True)
class Instants:
    """A half-open range of instants [start, end); None is unbounded on that side."""

    start: datetime | None = None
    end: datetime | None = None

    def narrowed(self, start: datetime | None, end: datetime | None) -> "Instants":
        """The range that is inside both this one and [start, end)."""
        starts = [s for s in (self.start, start) if s is not None]
        ends = [e for e in (self.end, end) if e is not None]
        return Instants(max(starts) if starts else None, min(ends) if ends else None)

    def days(self, zone: ZoneInfo) -> tuple[date | None, date | None]:
        """The clinic-local dates the range touches (first and last, both included)."""
        first = self.start.astimezone(zone).date() if self.start is not None else None
        last = (
            (self.end - timedelta(microseconds=1)).astimezone(zone).date()
            if self.end is not None
            else None
        )
        return first, last


def date_range(values: list[str], name: str, zone: ZoneInfo) -> Instants:
    """Every `name` value (eq, ge, gt, le or lt, then YYYY-MM-DD or an instant with its
    offset) narrowing one range; a date is the clinic-local day."""
    found = Instants()
    for raw in values:
        prefix, value = (raw[:2], raw[2:]) if raw[:2] in PREFIXES else ("eq", raw)
        if _DATE.match(value):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise FhirError(400, f"{raw!r} is not a date.", name) from None
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise FhirError(400, f"Give {name} between {FIRST_YEAR} and {LAST_YEAR}.", name)
            low, high = day_bounds(day, day, zone)  # the local day: [low, high)
        else:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None or moment.utcoffset() is None:
                raise FhirError(
                    400, f"Give {name} as YYYY-MM-DD or a date and time with its offset.", name
                )
            if not FIRST_YEAR <= moment.year <= LAST_YEAR:
                raise FhirError(400, f"Give {name} between {FIRST_YEAR} and {LAST_YEAR}.", name)
            low, high = moment, moment + timedelta(microseconds=1)
        if prefix == "eq":
            found = found.narrowed(low, high)
        elif prefix == "ge":
            found = found.narrowed(low, None)
        elif prefix == "gt":
            found = found.narrowed(high, None)
        elif prefix == "le":
            found = found.narrowed(None, high)
        else:  # lt
            found = found.narrowed(None, low)
    return found


def reference_id(raw: str, resource_type: str, name: str) -> int:
    """The row id in a reference parameter: `Type/12`, a full URL ending so, or `12`."""
    value = raw.rstrip("/").rsplit("/", 2)
    if len(value) >= 2 and value[-2] != resource_type:
        raise FhirError(400, f"{name} refers to {resource_type} resources only.", name)
    if not _ID.match(value[-1]) or not 1 <= int(value[-1]) <= 2**31 - 1:
        raise FhirError(400, f"Give {name} as {resource_type}/<id>.", name)
    return int(value[-1])


def tokens(raw: str) -> list[str]:
    """The codes of a token parameter: comma-separated, each `code` or `system|code`."""
    return [part.rsplit("|", 1)[-1].strip() for part in raw.split(",") if part.strip()]


def _whole(args, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise FhirError(400, f"Give {name} as a whole number from {low} to {high}.", name)
    return int(raw)


def paging(args) -> tuple[int, int]:
    """(_count, _offset): at most MAX_COUNT resources a page, from the offset given."""
    return (
        _whole(args, "_count", DEFAULT_COUNT, 0, MAX_COUNT),
        _whole(args, "_offset", 0, 0, MAX_OFFSET),
    )


def record_id(raw: str) -> int | None:
    """A stored row's id from a resource id, or None when it is not one."""
    if not _ID.match(raw) or not 1 <= int(raw) <= 2**31 - 1:
        return None
    return int(raw)
