"""The clinic's check-in settings: when check-in links go out, what they ask, and the rules that
make a patient clinically due (one row, id 1; the defaults until the clinic saves its own)."""

from __future__ import annotations

from ..extensions import db
from ..models import CHECK_IN_DEFAULTS, CheckInSettings
from ..outcomes import rules
from ..outcomes.instruments import INSTRUMENTS
from ..services import audit
from ..services.errors import RuleError

# Courses whose patient is sent check-in links: in maintenance (during a series the next session
# comes within days; a course on hold, discharged or in error is sent none).
CHECK_IN_STATES = ("maintenance",)
# Limits the settings service checks (the admin form reads them).
MAX_DAY = 180
MAX_DAYS = 8
SETTINGS_FIELDS = ("enabled", "days", "instruments", "phq9_threshold", "pain_return_percent")
# The instruments a patient may answer at home (CADSS-6 is taken in the chair).
HOME_INSTRUMENTS = tuple(code for code in INSTRUMENTS if code != "cadss6")


def get_check_in_settings() -> CheckInSettings:
    """The clinic's check-in settings: a pure read; before any save, the defaults (unsaved)."""
    found = db.session.get(CheckInSettings, 1)
    if found is not None:
        return found
    return CheckInSettings(id=1, **CHECK_IN_DEFAULTS)


def schedule_days(settings: CheckInSettings) -> tuple[int, ...]:
    """The days after each qualifying session on which the check-in link goes out."""
    return tuple(sorted({int(day) for day in settings.days.split(",") if day.strip()}))


def chosen_instruments(settings: CheckInSettings) -> tuple[str, ...]:
    """The instruments the check-in asks, in the clinic's order."""
    return tuple(code for code in settings.instruments.split(",") if code in HOME_INSTRUMENTS)


def due_rules(settings: CheckInSettings) -> rules.DueRules:
    """The clinically-due rules of the settings."""
    return rules.DueRules(settings.phq9_threshold, settings.pain_return_percent)


def parse_days(text: str) -> str:
    """Days as typed ("7, 14, 21") in the stored form ("7,14,21"); RuleError when not days."""
    parts = [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]
    if not parts:
        raise RuleError("Enter at least one day, for example 7, 14, 21, 28.", "days")
    if not all(part.isdigit() and len(part) <= 3 for part in parts):
        raise RuleError("Enter whole numbers of days separated by commas.", "days")
    days = sorted({int(part) for part in parts})
    if days[0] < 1 or days[-1] > MAX_DAY:
        raise RuleError(f"Each day must be from 1 to {MAX_DAY}.", "days")
    if len(days) > MAX_DAYS:
        raise RuleError(f"Enter at most {MAX_DAYS} days.", "days")
    return ",".join(str(day) for day in days)


def update_settings(actor, values: dict) -> CheckInSettings:
    """Save the check-in settings (creating the row on the first save); audited. Flushes."""
    days = parse_days(values.get("days", ""))
    chosen = [code for code in values.get("instruments") or () if code in HOME_INSTRUMENTS]
    if values.get("enabled") and not chosen:
        raise RuleError("Choose at least one instrument, or leave check-ins off.", "instruments")
    threshold, percent = values.get("phq9_threshold"), values.get("pain_return_percent")
    if threshold is not None and not 1 <= threshold <= 27:
        raise RuleError("Enter a PHQ-9 total from 1 to 27, or leave it empty.", "phq9_threshold")
    if percent is not None and not 0 <= percent <= 100:
        raise RuleError(
            "Enter a percentage from 0 to 100, or leave it empty.", "pain_return_percent"
        )
    settings = db.session.get(CheckInSettings, 1)
    if settings is None:
        settings = get_check_in_settings()
        db.session.add(settings)
    before = audit.snapshot(settings, SETTINGS_FIELDS)
    settings.enabled = bool(values.get("enabled"))
    settings.days = days
    settings.instruments = ",".join(chosen)
    settings.phq9_threshold, settings.pain_return_percent = threshold, percent
    db.session.flush()
    audit.record(
        actor,
        entity="check_in_settings",
        entity_id=settings.id,
        patient_id=None,
        action="update",
        before=before,
        after=audit.snapshot(settings, SETTINGS_FIELDS),
    )
    return settings
