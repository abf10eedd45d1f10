"""Clinic settings: the single row every rule reads, and its one writer (update_settings)."""
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .. import clock
from ..extensions import db
from ..formatting import DATE_STYLES, TIME_STYLES
from ..models import ClinicSettings
from .audit import record, snapshot
from .courses import MAX_INTERVAL_DAYS, check_interval, check_series_planned
from .errors import RuleError
from .search import DATE_ORDERS

log = logging.getLogger(__name__)


def ensure_settings() -> ClinicSettings:
    """Return the settings row, creating it with defaults when missing."""
    settings = db.session.get(ClinicSettings, 1)
    if settings is None:
        settings = ClinicSettings(id=1)
        db.session.add(settings)
        db.session.flush()
    return settings


def get_settings() -> ClinicSettings:
    """The clinic's settings: a pure read (never writes, so a GET never does).

    Before `init-db` has written the row, an unsaved row holding the column defaults.
    """
    settings = db.session.get(ClinicSettings, 1)
    if settings is not None:
        return settings
    defaults = {column.key: column.default.arg for column in ClinicSettings.__table__.columns
                if column.default is not None}
    return ClinicSettings(**{**defaults, "id": 1})


def clinic_zone() -> ZoneInfo:
    """The clinic's time zone."""
    return ZoneInfo(get_settings().timezone)


def clinic_today():
    """Today's date in the clinic's time zone (from the one clock, tracker.clock)."""
    return clock.now().astimezone(clinic_zone()).date()


MIN_YEAR, MAX_YEAR = 1900, 2200  # typed years outside these are mistakes (and overflow dates)


def local_to_utc(naive, zone: ZoneInfo | None = None, field: str = "given_at"):
    """A wall-clock time typed in the clinic's zone as an aware UTC instant.

    A time skipped by a daylight-saving jump does not exist and is refused, as is a year outside
    MIN_YEAR..MAX_YEAR; a repeated time (clocks going back) is read as its first occurrence.
    Errors are RuleErrors on `field`.
    """
    from ..booking import local_instant

    if not MIN_YEAR <= naive.year <= MAX_YEAR:
        raise RuleError(f"Enter a date between {MIN_YEAR} and {MAX_YEAR}.", field)
    instant = local_instant(naive.date(), naive.time(), zone or clinic_zone())
    if instant is None:
        raise RuleError("That time does not exist on this date (the clocks change); choose another.",
                        field)
    return instant


TEXT_FIELDS = {"clinic_name": 120, "display_name": 120, "phone": 40, "address": 300, "timezone": 64,
               "date_style": 20, "time_style": 8}
NUMBER_FIELDS = (
    "default_min_days", "default_max_days", "default_series_planned", "lapse_grace_days",
    "series_max_gap_days", "max_dose_mg_per_kg", "upcoming_days", "window_upcoming_days",
    "window_closing_days", "appointment_hours", "send_hours_start", "send_hours_end",
    "digest_hour", "max_send_attempts", "default_prep_min", "default_recovery_min",
    "max_concurrent_per_clinician", "slot_step_min", "dose_change_warn_percent",
)
# Search and recall: how dates of birth are typed, how long a called patient sorts lower.
CHOICE_FIELDS = {"date_order": DATE_ORDERS}
RECALL_QUIET_DAYS_RANGE = (0, 60)
# Limits the settings service checks itself (the admin and capacity forms read them).
MAX_CONCURRENT_RANGE = (1, 50)
SLOT_STEP_MIN_RANGE = (5, 120)
DOSE_CHANGE_WARN_RANGE = (1, 1000)  # percent of the last dose; the session form warns above it
# Patient self-service (book and manage links): hours and days, and two choices.
ONLINE_RANGES = {"online_min_notice_hours": (0, 720), "online_horizon_days": (1, 366),
                 "online_cutoff_hours": (0, 720)}
ONLINE_FLAGS = ("online_late_cancel", "online_bookings_confirmed")
# Reactivation (reminders/reactivation.py): how many messages at most (0: none), how many days apart.
REACTIVATION_RANGES = {"reactivation_messages": (0, 10), "reactivation_interval_days": (1, 365)}
# Waitlist (patient_links/waitlist.py): offers per freed chair block, and hours an offer stands.
WAITLIST_RANGES = {"waitlist_offers": (1, 10), "waitlist_offer_hours": (1, 168)}
# Staff sessions and logins
IDLE_TIMEOUT_RANGE = (5, 720)  # minutes without activity before a session ends
FLAG_FIELDS = ("two_factor_for_everyone",)
SETTINGS_FIELDS = (tuple(TEXT_FIELDS) + NUMBER_FIELDS + tuple(ONLINE_RANGES) + ONLINE_FLAGS
                   + tuple(REACTIVATION_RANGES) + tuple(WAITLIST_RANGES)
                   + tuple(CHOICE_FIELDS) + ("recall_quiet_days",) + ("idle_timeout_minutes",)
                   + FLAG_FIELDS)
DOSE_PLACES = Decimal("0.001")


def timezone_problem(name: str) -> str | None:
    """None when `name` is an IANA time zone (e.g. America/New_York), else why not."""
    example = "Use a time zone name such as America/New_York or Europe/London."
    if name not in available_timezones():
        return example
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return example
    return None


def zone_choices() -> dict[str, str]:
    """The time zones an admin chooses from: every IANA zone with a region (Area/City), sorted."""
    return {name: name.replace("_", " ") for name in sorted(available_timezones())
            if name == "UTC" or ("/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/")))}


def _check(values: dict) -> None:
    """The rules the database also enforces, as field errors rather than a failed commit."""
    for name, limit in TEXT_FIELDS.items():
        if len(values[name]) > limit:
            raise RuleError(f"Use at most {limit} characters.", name)
    for name in ("clinic_name", "display_name"):
        if not values[name]:
            raise RuleError("This cannot be empty.", name)
    problem = timezone_problem(values["timezone"])
    if problem:
        raise RuleError(problem, "timezone")
    if values["date_style"] not in DATE_STYLES:
        raise RuleError("Choose one of the date styles.", "date_style")
    if values["time_style"] not in TIME_STYLES:
        raise RuleError("Choose 12-hour or 24-hour times.", "time_style")
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
    for name, choices in CHOICE_FIELDS.items():
        if values[name] not in choices:
            raise RuleError(f"Choose one of: {', '.join(choices.values())}.", name)
    for name, (low, high) in (("max_concurrent_per_clinician", MAX_CONCURRENT_RANGE),
                              ("slot_step_min", SLOT_STEP_MIN_RANGE),
                              ("dose_change_warn_percent", DOSE_CHANGE_WARN_RANGE),
                              ("recall_quiet_days", RECALL_QUIET_DAYS_RANGE)):
        if not isinstance(values[name], int):
            raise RuleError("Enter a whole number.", name)
        if not low <= values[name] <= high:
            raise RuleError(f"Enter a number from {low} to {high}.", name)
    if values["send_hours_start"] >= values["send_hours_end"]:
        raise RuleError("The sending hours must end after they start.", "send_hours_end")
    for name, (low, high) in (*ONLINE_RANGES.items(), *REACTIVATION_RANGES.items(),
                              *WAITLIST_RANGES.items()):
        if not isinstance(values[name], int) or not low <= values[name] <= high:
            raise RuleError(f"Enter a number from {low} to {high}.", name)
    low, high = IDLE_TIMEOUT_RANGE
    if not isinstance(values["idle_timeout_minutes"], int) or not low <= values["idle_timeout_minutes"] <= high:
        raise RuleError(f"Enter a number of minutes from {low} to {high}.", "idle_timeout_minutes")


def update_settings(actor, values: dict) -> ClinicSettings:
    """Apply new values to the clinic settings (missing keys keep theirs); audit what changed.

    The one writer of the settings row: the admin settings page and the capacity page both
    call it. Flushes.
    """
    settings = ensure_settings()
    merged = {name: values.get(name, getattr(settings, name)) for name in SETTINGS_FIELDS}
    for name in TEXT_FIELDS:
        merged[name] = (merged[name] or "").strip()
    for name in ONLINE_FLAGS:
        merged[name] = bool(merged[name])
    merged["max_dose_mg_per_kg"] = Decimal(merged["max_dose_mg_per_kg"]).quantize(DOSE_PLACES)
    for name in FLAG_FIELDS:
        merged[name] = bool(merged[name])
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
