"""Clinic settings: the single row every rule reads."""
from zoneinfo import ZoneInfo

from ..extensions import db
from ..models import ClinicSettings


def ensure_settings() -> ClinicSettings:
    """Return the settings row, creating it with defaults when missing."""
    settings = db.session.get(ClinicSettings, 1)
    if settings is None:
        settings = ClinicSettings(id=1)
        db.session.add(settings)
        db.session.flush()
    return settings


def get_settings() -> ClinicSettings:
    """The clinic's settings (created with defaults on first use)."""
    return ensure_settings()


def clinic_zone() -> ZoneInfo:
    """The clinic's time zone."""
    return ZoneInfo(get_settings().timezone)


def clinic_today():
    """Today's date in the clinic's time zone."""
    from datetime import datetime

    return datetime.now(clinic_zone()).date()


MIN_YEAR, MAX_YEAR = 1900, 2200  # typed years outside these are mistakes (and overflow dates)


def local_to_utc(naive, zone: ZoneInfo | None = None, field: str = "given_at"):
    """A wall-clock time typed in the clinic's zone as an aware UTC instant.

    A time skipped by a daylight-saving jump does not exist and is refused, as is a year outside
    MIN_YEAR..MAX_YEAR; a repeated time (clocks going back) is read as its first occurrence.
    Errors are RuleErrors on `field`.
    """
    from ..booking import local_instant
    from .errors import RuleError

    if not MIN_YEAR <= naive.year <= MAX_YEAR:
        raise RuleError(f"Enter a date between {MIN_YEAR} and {MAX_YEAR}.", field)
    instant = local_instant(naive.date(), naive.time(), zone or clinic_zone())
    if instant is None:
        raise RuleError("That time does not exist on this date (the clocks change); choose another.",
                        field)
    return instant
