"""Clinic settings changes: checked, applied to the single row, audited."""
import logging
from decimal import Decimal

from ..extensions import db
from ..models import ClinicSettings
from ..services.audit import record, snapshot
from ..services.clinic import get_settings
from ..services.courses import MAX_INTERVAL_DAYS, check_interval, check_series_planned
from ..services.errors import RuleError

log = logging.getLogger(__name__)

TEXT_FIELDS = {"clinic_name": 120, "display_name": 120, "phone": 40, "address": 300, "timezone": 64}
NUMBER_FIELDS = (
    "default_min_days", "default_max_days", "default_series_planned", "lapse_grace_days",
    "series_max_gap_days", "max_dose_mg_per_kg", "upcoming_days", "window_upcoming_days",
    "window_closing_days", "appointment_hours", "send_hours_start", "send_hours_end",
    "digest_hour", "max_send_attempts", "default_prep_min", "default_recovery_min",
    "max_concurrent_per_clinician", "slot_step_min",
)
SETTINGS_FIELDS = tuple(TEXT_FIELDS) + NUMBER_FIELDS
DOSE_PLACES = Decimal("0.001")


def _check(values: dict) -> None:
    """The rules the database also enforces, as field errors rather than a failed commit."""
    from .forms import timezone_problem

    for name, limit in TEXT_FIELDS.items():
        if len(values[name]) > limit:
            raise RuleError(f"Use at most {limit} characters.", name)
    for name in ("clinic_name", "display_name"):
        if not values[name]:
            raise RuleError("This cannot be empty.", name)
    problem = timezone_problem(values["timezone"])
    if problem:
        raise RuleError(problem, "timezone")
    for name in NUMBER_FIELDS:
        if values[name] is None or values[name] < 0:
            raise RuleError("Enter a number of zero or more.", name)
    if values["default_min_days"] > values["default_max_days"]:
        raise RuleError("The window cannot close before it opens.", "default_max_days")
    # The defaults are what open_course and the import give a new course: the same limits.
    try:
        check_interval(values["default_min_days"], values["default_max_days"])
        check_series_planned(values["default_series_planned"])
    except RuleError as error:
        raise RuleError(str(error), f"default_{error.field}") from None
    if values["lapse_grace_days"] > MAX_INTERVAL_DAYS:
        raise RuleError(f"Enter at most {MAX_INTERVAL_DAYS} days.", "lapse_grace_days")
    if values["send_hours_start"] >= values["send_hours_end"]:
        raise RuleError("The sending hours must end after they start.", "send_hours_end")


def update_settings(actor, values: dict) -> ClinicSettings:
    """Apply new values to the clinic settings (missing keys keep theirs); audit what changed."""
    settings = get_settings()
    merged = {name: values.get(name, getattr(settings, name)) for name in SETTINGS_FIELDS}
    for name in TEXT_FIELDS:
        merged[name] = (merged[name] or "").strip()
    merged["max_dose_mg_per_kg"] = Decimal(merged["max_dose_mg_per_kg"]).quantize(DOSE_PLACES)
    _check(merged)
    before = snapshot(settings, SETTINGS_FIELDS)
    for name, value in merged.items():
        setattr(settings, name, value)
    db.session.flush()
    event = record(actor, entity="clinic_settings", entity_id=settings.id, patient_id=None,
                   action="update", before=before, after=snapshot(settings, SETTINGS_FIELDS))
    if event is not None:
        log.info("clinic settings changed: %s", ", ".join(sorted(event.changes["after"])))
    return settings
