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
