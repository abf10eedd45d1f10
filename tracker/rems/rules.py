"""Pure rules of the esketamine REMS patient monitoring form. No Flask, no database.

The fields follow the SPRAVATO REMS Patient Monitoring Form (Outpatient Use Only, Janssen
Pharmaceuticals, 11/2021; transcribed at
https://manualspro.net/445029-spravato-patient-monitoring-form-instructions, and explained in
https://jnjmedicalconnect.com/products/spravato/video-spravato-rems-patient-monitoring-form-overview):
treatment date; dose administered (56 mg, 84 mg or other: 28 mg a device) and lot number;
total time from the first device to the end of monitoring ("the patient must be monitored for
at least 2 hours"); blood pressure prior to administration, 40 minutes after administration
and prior to the end of the session; whether the patient had sedation, dissociation or
respiratory depression; serious adverse events. "Submit completed patient monitoring forms
within 7 days" (calendar days, holidays included: DOMAIN.md). The patient's and the
healthcare setting's details on the form come from the patient record and the clinic settings.

The 120 minutes, the 40 minutes and the 7 days are the REMS's own numbers, not the clinic's.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

MIN_MONITORING_MIN = 120
BP_AT_MIN = 40
# The sheet's reading nearest 40 minutes counts as "about 40 minutes" inside this many minutes.
BP_AT_TOLERANCE_MIN = 15
FILE_WITHIN_DAYS = 7


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes from `start` to `end`."""
    return int((end - start) / timedelta(minutes=1))


def monitoring_problem(started_at: datetime | None, ended_at: datetime | None) -> str | None:
    """Why these monitoring times cannot go on the form, or None (at least 120 minutes)."""
    if started_at is None or ended_at is None:
        return None
    if ended_at <= started_at:
        return "The end of monitoring must come after its start; check the times."
    minutes = minutes_between(started_at, ended_at)
    if minutes < MIN_MONITORING_MIN:
        return (
            f"Monitoring lasted {minutes} minutes; the REMS requires at least "
            f"{MIN_MONITORING_MIN}. Check the times, or record the end of monitoring later."
        )
    return None


def due_on(given_at: datetime, zone: ZoneInfo) -> date:
    """The last day to file: 7 calendar days after the session's clinic-local date."""
    return given_at.astimezone(zone).date() + timedelta(days=FILE_WITHIN_DAYS)


def due_words(due: date, today: date) -> str:
    """The form's deadline in words, as a worklist shows it."""
    days = (due - today).days
    if days > 1:
        return f"Due in {days} days"
    if days == 1:
        return "Due tomorrow"
    if days == 0:
        return "Due today"
    late = -days
    return f"Overdue by {late} day{'s' if late != 1 else ''}"


def is_overdue(due: date, today: date) -> bool:
    """Past its last day to file."""
    return today > due


@dataclass(frozen=True)
class SheetBP:
    """A blood pressure taken from the monitoring sheet: the values and when they were taken."""

    systolic: int
    diastolic: int
    taken_at: datetime
    minutes: int  # after the start of monitoring


def _with_bp(readings: list) -> list:
    return [
        r
        for r in readings
        if not getattr(r, "in_error", False)
        and r.bp_systolic is not None
        and r.bp_diastolic is not None
    ]


def _bp(reading, started_at: datetime) -> SheetBP:
    return SheetBP(
        reading.bp_systolic,
        reading.bp_diastolic,
        reading.taken_at,
        minutes_between(started_at, reading.taken_at),
    )


def sheet_pressures(readings: list, started_at: datetime) -> dict[str, SheetBP | None]:
    """{'before', 'at_40', 'end': the sheet's reading or None}: the baseline (else the first
    reading with a pressure at the start), the reading nearest 40 minutes within the tolerance,
    and the discharge reading (else the last reading with a pressure, not the first)."""
    measured = sorted(_with_bp(readings), key=lambda r: r.taken_at)
    before = next((r for r in measured if r.kind == "baseline"), None)
    if before is None and measured and measured[0].taken_at <= started_at + timedelta(minutes=5):
        before = measured[0]
    target = started_at + timedelta(minutes=BP_AT_MIN)
    tolerance = timedelta(minutes=BP_AT_TOLERANCE_MIN)
    near = [
        r
        for r in measured
        if r is not before and r.kind != "discharge" and abs(r.taken_at - target) <= tolerance
    ]
    at_40 = min(near, key=lambda r: (abs(r.taken_at - target), r.taken_at), default=None)
    end = next((r for r in measured if r.kind == "discharge"), None)
    if end is None and measured and measured[-1] not in (before, at_40):
        end = measured[-1]
    return {
        "before": _bp(before, started_at) if before else None,
        "at_40": _bp(at_40, started_at) if at_40 else None,
        "end": _bp(end, started_at) if end else None,
    }
