"""Cell checks for the two import files: every problem of a row, as (column, message) pairs."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from ..booking import local_instant
from ..models import MODES, OUTCOMES
from ..services.courses import MAX_INTERVAL_DAYS, MAX_SERIES_PLANNED
from ..services.infusions import DURATION_MIN_RANGE, PAIN_RANGE, TEXT_MAX_LENGTHS, WEIGHT_KG_RANGE
from ..services.patients import EARLIEST_BIRTH
from ..validators import CONTROL_RE, LINE_BREAKS, email_problem, name_problem, normalized_email, normalized_name

PATIENT_COLUMNS = ("mrn", "first_name", "last_name", "date_of_birth", "email", "phone",
                   "email_consent", "indication", "series_planned", "min_days", "max_days", "mode")
INFUSION_COLUMNS = ("mrn", "given_at", "outcome", "dose_mg_per_kg", "weight_kg", "duration_min",
                    "pain_before", "pain_after", "notes")

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_TIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})$")
INTEGER_RE = re.compile(r"^[+-]?[0-9]+$")
MAX_INTEGER_LENGTH = 12  # every whole-number column is far shorter; int() of 5,000 digits raises
DECIMAL_RE = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
NOTES_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tabs and newlines allowed
DATE_ONLY_TIME = time(12, 0)  # a session recorded by date only is placed at local noon
ZERO = Decimal(0)
TEXT_LIMITS = {"mrn": 40, "first_name": 80, "last_name": 80, "email": 254, "phone": 40,
               "indication": 120}


@dataclass(frozen=True)
class CheckContext:
    """What the checks compare against: today, the clinic's settings and zone."""

    today: date
    now: datetime
    zone: ZoneInfo
    default_min_days: int
    default_max_days: int
    max_dose_mg_per_kg: Decimal

    @cached_property
    def dose_above_maximum(self) -> str:
        return f"above the clinic maximum of {self.max_dose_mg_per_kg.normalize():f} mg/kg"


class Row:
    """One row's cells being checked; problems collect in order of the columns."""

    def __init__(self, cells: dict[str, str]):
        self.cells = {name: value.strip() for name, value in cells.items()}
        self.problems: list[tuple[str, str]] = []

    def fail(self, column: str, message: str) -> None:
        self.problems.append((column, message))

    def text(self, column: str, required: bool = False) -> str | None:
        value = self.cells[column]
        if not value:
            if required:
                self.fail(column, "must not be empty")
            return None
        limit = TEXT_LIMITS.get(column)
        if limit and len(value) > limit:
            self.fail(column, f"longer than {limit} characters")
        elif CONTROL_RE.search(value):
            self.fail(column, "contains control characters")
        elif any(mark in value for mark in LINE_BREAKS):
            self.fail(column, "contains a line break (keep it on one line)")
        return value

    def name(self, column: str) -> str | None:
        """A name or MRN: required, NFKC-normalized, one alphabet, nothing invisible."""
        self.cells[column] = normalized_name(self.cells[column])
        value = self.text(column, required=True)
        if value and not any(c == column for c, _ in self.problems):
            problem = name_problem(value)
            if problem:
                self.fail(column, problem[0].lower() + problem[1:].rstrip("."))
        return value

    def day(self, column: str, today: date) -> date | None:
        value = self.cells[column]
        if not value:
            self.fail(column, "must not be empty")
            return None
        try:
            if not DATE_RE.match(value):
                raise ValueError
            day = date.fromisoformat(value)
        except ValueError:
            self.fail(column, f"not a date: {value[:20]!r} (use YYYY-MM-DD)")
            return None
        if day > today:
            self.fail(column, f"{day.isoformat()} is in the future")
            return None
        return day

    def integer(self, column: str, low: int, high: int, default: int | None = None) -> int | None:
        value = self.cells[column]
        if not value:
            return default
        if not INTEGER_RE.match(value) or len(value) > MAX_INTEGER_LENGTH:
            self.fail(column, f"not a whole number: {value[:20]!r}")
            return None
        number = int(value)
        if not low <= number <= high:
            self.fail(column, f"must be between {low} and {high}")
            return None
        return number

    def decimal(self, column: str, low: Decimal, high: Decimal, places: int,
                high_message: str | None = None) -> Decimal | None:
        value = self.cells[column]
        if not value:
            return None
        number = _decimal(value)
        if number is None:
            self.fail(column, f"not a number: {value[:20]!r}")
            return None
        if number < low:
            self.fail(column, f"must be at least {low}")
        elif number > high:
            self.fail(column, high_message or f"must be at most {high}")
        elif -number.as_tuple().exponent > places:
            self.fail(column, f"use at most {places} decimal places")
        else:
            return number
        return None


def check_patient(cells: dict[str, str], context: CheckContext) -> tuple[dict, list]:
    """The values of one patients.csv row and its problems."""
    row = Row(cells)
    values = {
        "mrn": row.name("mrn"),
        "first_name": row.name("first_name"),
        "last_name": row.name("last_name"),
        "date_of_birth": row.day("date_of_birth", context.today),
        "email": row.text("email"),
        "phone": row.text("phone"),
        "indication": row.text("indication") or "",
    }
    if values["date_of_birth"] and values["date_of_birth"] < EARLIEST_BIRTH:
        row.fail("date_of_birth", f"before {EARLIEST_BIRTH.isoformat()}")
        values["date_of_birth"] = None
    if values["email"] and not any(c == "email" for c, _ in row.problems):
        if email_problem(values["email"]):
            row.fail("email", f"not an email address: {values['email'][:40]!r}")
        else:
            values["email"] = normalized_email(values["email"])
    consent = row.cells["email_consent"].lower()
    if consent not in ("yes", "no"):
        row.fail("email_consent", "use yes or no")
    values["email_consent"] = consent == "yes"
    if not row.cells["series_planned"]:
        row.fail("series_planned", "must not be empty")
    values["series_planned"] = row.integer("series_planned", 1, MAX_SERIES_PLANNED)
    values["min_days"] = row.integer("min_days", 0, MAX_INTERVAL_DAYS, context.default_min_days)
    values["max_days"] = row.integer("max_days", 0, MAX_INTERVAL_DAYS, context.default_max_days)
    if (values["min_days"] is not None and values["max_days"] is not None
            and values["min_days"] > values["max_days"]):
        row.fail("max_days", f"{values['max_days']} is less than min_days ({values['min_days']})")
    mode = row.cells["mode"] or "scheduled"
    if mode not in MODES:
        row.fail("mode", "use scheduled or as_needed (or leave empty)")
    values["mode"] = mode
    return values, row.problems


@lru_cache(maxsize=4096)
def _decimal(value: str) -> Decimal | None:
    """The number in a cell, or None when it is not one (cached: doses and weights repeat)."""
    try:
        return Decimal(value) if DECIMAL_RE.match(value) else None
    except InvalidOperation:
        return None


def parse_given_at(value: str) -> tuple[date, time] | None:
    """(local date, local time) from YYYY-MM-DD or YYYY-MM-DDTHH:MM; None when malformed."""
    try:
        if DATE_RE.match(value):
            return date.fromisoformat(value), DATE_ONLY_TIME
        match = DATE_TIME_RE.match(value)
        if match:
            return date.fromisoformat(match[1]), time(int(match[2]), int(match[3]))
    except ValueError:
        pass
    return None


_parse_given_at = lru_cache(maxsize=65536)(parse_given_at)


@lru_cache(maxsize=65536)
def _steady_offset(given_on: date, zone: ZoneInfo) -> timedelta | None:
    """The zone's UTC offset all through the local date, or None when the clocks change near it.

    Checked from two days before to two days after (wider than any UTC offset), so on a
    date with an offset every wall-clock time exists and maps to one instant.
    """
    before = datetime.combine(given_on - timedelta(days=2), time(0), tzinfo=timezone.utc)
    after = datetime.combine(given_on + timedelta(days=2), time(0), tzinfo=timezone.utc)
    offset = before.astimezone(zone).utcoffset()
    if after.astimezone(zone).utcoffset() != offset:
        return None
    dst_before, dst_after = before.astimezone(zone).dst(), after.astimezone(zone).dst()
    return offset if dst_before == dst_after else None


def _clinic_instant(parsed: tuple[date, time], zone: ZoneInfo) -> tuple[date, time, datetime | None, bool]:
    """(local date, local time, UTC instant, whether that wall-clock time exists in the zone).

    The instant is None when the time does not exist (booking.local_instant, the one rule).
    """
    given_on, local_time = parsed
    try:
        offset = _steady_offset(given_on, zone)
    except OverflowError:  # within two days of the calendar's ends
        offset = None
    if offset is not None:
        return given_on, local_time, datetime.combine(given_on, local_time, tzinfo=timezone.utc) - offset, True
    instant = local_instant(given_on, local_time, zone)
    return given_on, local_time, instant, instant is not None


def check_infusion(cells: dict[str, str], context: CheckContext, *, known: bool,
                   date_of_birth: date | None) -> tuple[dict, list]:
    """The values of one infusions.csv row and its problems.

    `known` says whether the MRN is in the patients file; `date_of_birth` is that patient's
    (None when unknown or itself invalid: the birth check is then skipped).
    """
    row = Row(cells)
    values: dict = {"mrn": row.name("mrn")}
    if values["mrn"] and not known:
        row.fail("mrn", "unknown MRN (not in the patients file)")
    values["given_on"] = values["given_at"] = None
    raw = row.cells["given_at"]
    parsed = _parse_given_at(raw) if raw else None
    if not raw:
        row.fail("given_at", "must not be empty")
    elif parsed is None:
        row.fail("given_at", f"not a date or time: {raw[:20]!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    else:
        given_on, local_time, instant, exists = _clinic_instant(parsed, context.zone)
        if not exists:
            row.fail("given_at", f"{raw} does not exist in the clinic's time zone (the clocks change)")
        elif given_on > context.today or instant > context.now:
            row.fail("given_at", f"{raw} is in the future")
        elif date_of_birth is not None and given_on < date_of_birth:
            row.fail("given_at", f"{raw} is before the date of birth ({date_of_birth.isoformat()})")
        else:
            values["given_on"], values["given_at"] = given_on, instant
            values["minute"] = local_time.hour * 60 + local_time.minute
    outcome = row.cells["outcome"] or "completed"
    if outcome not in OUTCOMES:
        row.fail("outcome", "use completed, stopped_early or not_started (empty means completed)")
    values["outcome"] = outcome
    values["dose_mg_per_kg"] = row.decimal("dose_mg_per_kg", ZERO, context.max_dose_mg_per_kg, 3,
                                           context.dose_above_maximum)
    values["weight_kg"] = row.decimal("weight_kg", *WEIGHT_KG_RANGE, 2)
    values["duration_min"] = row.integer("duration_min", *DURATION_MIN_RANGE)
    values["pain_before"] = row.integer("pain_before", *PAIN_RANGE)
    values["pain_after"] = row.integer("pain_after", *PAIN_RANGE)
    notes = row.cells["notes"]
    if NOTES_CONTROL_RE.search(notes):
        row.fail("notes", "contains control characters")
    elif len(notes) > TEXT_MAX_LENGTHS["notes"]:
        row.fail("notes", f"longer than {TEXT_MAX_LENGTHS['notes']} characters")
    values["notes"] = notes
    return values, row.problems
