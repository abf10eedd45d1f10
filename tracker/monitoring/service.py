"""Writing the monitoring sheet: readings, start and stop, release, ranges. Services flush;
the view commits. Only this package writes the monitoring tables."""

import logging
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import (
    MEASURES,
    POSSIBLE_RANGES,
    READING_KINDS,
    Infusion,
    MonitoringReading,
    MonitoringSettings,
    MonitoringSheet,
    User,
)
from ..services import audit
from ..services.errors import RuleError
from ..services.in_error import mark_entered_in_error
from . import rules

log = logging.getLogger(__name__)

READING_FIELDS = ("kind", "taken_at", *MEASURES, "notes", "flags")
SHEET_FIELDS = (
    "started_at",
    "stopped_at",
    "ready_to_leave_at",
    "released_at",
    "released_by_id",
    "released_to",
)
INTERVAL_MIN_RANGE = (1, 240)
SETTINGS_FIELDS = ("interval_min", *(f"{m}_{side}" for m in MEASURES for side in ("low", "high")))


def get_monitoring_settings() -> MonitoringSettings:
    """The clinic's monitoring settings: a pure read; before any save, the defaults (unsaved)."""
    settings = db.session.get(MonitoringSettings, 1)
    if settings is not None:
        return settings
    defaults = {
        column.key: column.default.arg
        for column in MonitoringSettings.__table__.columns
        if column.default is not None and not callable(column.default.arg)
    }
    return MonitoringSettings(**{**defaults, "id": 1})


def ranges_of(settings: MonitoringSettings) -> dict[str, tuple[int | None, int | None]]:
    """{measure: (low, high)} flag limits of the settings."""
    return {m: (getattr(settings, f"{m}_low"), getattr(settings, f"{m}_high")) for m in MEASURES}


def sheet_for(infusion: Infusion) -> MonitoringSheet | None:
    """The session's sheet, if anything has been written on it yet."""
    return db.session.scalar(
        select(MonitoringSheet).where(MonitoringSheet.infusion_id == infusion.id)
    )


def _open_sheet(infusion: Infusion) -> MonitoringSheet:
    """The session's sheet, started when the session was given unless told otherwise."""
    sheet = sheet_for(infusion)
    if sheet is None:
        sheet = MonitoringSheet(
            infusion_id=infusion.id, patient_id=infusion.patient_id, started_at=infusion.given_at
        )
        db.session.add(sheet)
        db.session.flush()
    return sheet


def _active(sheet: MonitoringSheet, *, but=None) -> list[MonitoringReading]:
    return [r for r in sheet.readings if not r.in_error and r is not but]


def _writable(infusion: Infusion) -> None:
    if infusion.in_error:
        raise RuleError("This session was entered in error: its monitoring sheet is closed.")


def record_reading(
    infusion: Infusion,
    *,
    actor,
    kind: str,
    taken_at: datetime,
    values: dict,
    ranges: dict,
    now: datetime | None = None,
) -> MonitoringReading:
    """Add a reading to the session's sheet, flagged against `ranges`; flush and audit.

    Refused (RuleError on the field): an impossible value, a time outside the session or after
    `now`, a second baseline or discharge reading, a reading with no value at all.
    """
    _writable(infusion)
    if kind not in READING_KINDS:
        raise RuleError("Choose baseline, interval or discharge.", "kind")
    problems = rules.value_problems(values)
    if problems:
        field, message = next(iter(problems.items()))
        raise RuleError(message, field)
    if all(values.get(m) is None for m in MEASURES) and not (values.get("notes") or "").strip():
        raise RuleError("Enter at least one reading or a note.", "bp_systolic")
    sheet = _open_sheet(infusion)
    problem = rules.time_problem(
        taken_at, started_at=sheet.started_at, released_at=sheet.released_at
    )
    if problem is None and now is not None and taken_at > now:
        problem = "This time is in the future; check the time."
    problem = problem or rules.kind_problem(kind, taken_at, _active(sheet))
    if problem:
        raise RuleError(problem, "taken_at")
    measured = {m: values.get(m) for m in MEASURES}
    reading = MonitoringReading(
        sheet=sheet,
        kind=kind,
        taken_at=taken_at,
        **measured,
        notes=(values.get("notes") or "").strip(),
        flags=rules.flags_for(measured, ranges),
        recorded_by_id=audit.actor_fields(actor)[0],
    )
    db.session.add(reading)
    db.session.flush()
    audit.record(
        actor,
        entity="monitoring_reading",
        entity_id=reading.id,
        patient_id=sheet.patient_id,
        action="create",
        after=audit.snapshot(reading, READING_FIELDS),
    )
    log.info("monitoring reading %s added to sheet %s", reading.id, sheet.id)
    return reading


def set_times(
    infusion: Infusion, *, actor, started_at: datetime, stopped_at: datetime | None
) -> MonitoringSheet:
    """The session's start and stop times; no reading may fall before the start. Flushes."""
    _writable(infusion)
    sheet = _open_sheet(infusion)
    readings = _active(sheet)
    if readings and min(r.taken_at for r in readings) < started_at:
        raise RuleError("A reading is timed before this start; check the time.", "started_at")
    if sheet.released_at is not None and started_at > sheet.released_at:
        raise RuleError("The start must come before the discharge; check the time.", "started_at")
    if stopped_at is not None and stopped_at < started_at:
        raise RuleError("The stop must come after the start; check the time.", "stopped_at")
    before = audit.snapshot(sheet, SHEET_FIELDS)
    sheet.started_at, sheet.stopped_at = started_at, stopped_at
    db.session.flush()
    audit.record(
        actor,
        entity="monitoring_sheet",
        entity_id=sheet.id,
        patient_id=sheet.patient_id,
        action="update",
        before=before,
        after=audit.snapshot(sheet, SHEET_FIELDS),
    )
    return sheet


def release(
    infusion: Infusion,
    *,
    actor,
    ready_to_leave_at: datetime | None,
    released_at: datetime,
    released_by: User | None,
    released_to: str,
) -> MonitoringSheet:
    """Record when the patient was ready to leave, when they left (the discharge), who released
    them and to whom. No reading may come after the discharge. Flushes."""
    _writable(infusion)
    released_to = " ".join((released_to or "").split())
    if not released_to:
        raise RuleError(
            "Say who the patient left with (name, and how related), or 'alone'.", "released_to"
        )
    if len(released_to) > rules.RELEASED_TO_MAX:
        raise RuleError(f"Use at most {rules.RELEASED_TO_MAX} characters.", "released_to")
    if released_by is None or not released_by.active:
        raise RuleError("Choose who released the patient.", "released_by")
    sheet = _open_sheet(infusion)
    if released_at < sheet.started_at:
        raise RuleError(
            "The discharge must come after the session started; check the time.", "released_at"
        )
    readings = _active(sheet)
    if readings and released_at < max(r.taken_at for r in readings):
        raise RuleError("A reading is timed after this discharge; check the time.", "released_at")
    if ready_to_leave_at is not None and not sheet.started_at <= ready_to_leave_at <= released_at:
        raise RuleError(
            "Ready to leave must fall between the start and the discharge.", "ready_to_leave_at"
        )
    before = audit.snapshot(sheet, SHEET_FIELDS)
    sheet.ready_to_leave_at, sheet.released_at = ready_to_leave_at, released_at
    sheet.released_by_id, sheet.released_to = released_by.id, released_to
    if sheet.stopped_at is None:
        sheet.stopped_at = released_at
    db.session.flush()
    audit.record(
        actor,
        entity="monitoring_sheet",
        entity_id=sheet.id,
        patient_id=sheet.patient_id,
        action="update",
        before=before,
        after=audit.snapshot(sheet, SHEET_FIELDS),
    )
    log.info("monitoring sheet %s: patient released", sheet.id)
    return sheet


def mark_reading_in_error(
    reading: MonitoringReading, *, actor, reason: str, now: datetime
) -> MonitoringReading:
    """Strike a reading out with the reason; it stays on the sheet. Flushes and audits."""
    return mark_entered_in_error(
        reading,
        noun="reading",
        entity="monitoring_reading",
        patient_id=reading.sheet.patient_id,
        actor=actor,
        reason=reason,
        now=now,
    )


def update_settings(actor, values: dict) -> MonitoringSettings:
    """The clinic's interval and flag ranges; each limit within what a person can have, low at
    most high. The one writer of the row; flushes and audits what changed."""
    low, high = INTERVAL_MIN_RANGE
    interval = values.get("interval_min")
    if not isinstance(interval, int) or not low <= interval <= high:
        raise RuleError(f"Enter a number of minutes from {low} to {high}.", "interval_min")
    for measure in MEASURES:
        possible_low, possible_high = POSSIBLE_RANGES[measure]
        limits: list[int | None] = [values.get(f"{measure}_low"), values.get(f"{measure}_high")]
        for side, limit in zip(("low", "high"), limits, strict=True):
            if limit is not None and not possible_low <= limit <= possible_high:
                raise RuleError(
                    f"Enter a number from {possible_low} to {possible_high}, or leave it empty.",
                    f"{measure}_{side}",
                )
        low_limit, high_limit = limits
        if low_limit is not None and high_limit is not None and low_limit > high_limit:
            raise RuleError("The upper limit cannot be below the lower one.", f"{measure}_high")
    settings = db.session.get(MonitoringSettings, 1)
    if settings is None:
        settings = MonitoringSettings(id=1)
        db.session.add(settings)
        db.session.flush()
    before = audit.snapshot(settings, SETTINGS_FIELDS)
    for name in SETTINGS_FIELDS:
        setattr(settings, name, values.get(name))
    db.session.flush()
    audit.record(
        actor,
        entity="monitoring_settings",
        entity_id=1,
        patient_id=None,
        action="update",
        before=before,
        after=audit.snapshot(settings, SETTINGS_FIELDS),
    )
    return settings
