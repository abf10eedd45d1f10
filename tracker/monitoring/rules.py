"""Pure rules of the monitoring sheet: possible values, flags against the clinic's ranges,
the time bounds of a reading and the next reading due. No Flask, no database."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..models.monitoring import MEASURES, POSSIBLE_RANGES

# What each measure is called where a person reads it (the sheet, the flags, the errors).
MEASURE_LABELS = {
    "bp_systolic": "Systolic blood pressure",
    "bp_diastolic": "Diastolic blood pressure",
    "heart_rate": "Heart rate",
    "spo2": "SpO2",
    "respiratory_rate": "Respiratory rate",
    "sedation": "Sedation (MOAA/S)",
    "dissociation": "Dissociation (CADSS-6)",
}
UNITS = {
    "bp_systolic": "mmHg",
    "bp_diastolic": "mmHg",
    "heart_rate": "bpm",
    "spo2": "%",
    "respiratory_rate": "breaths/min",
    "sedation": "",
    "dissociation": "",
}
KIND_LABELS = {"baseline": "Baseline", "interval": "Interval", "discharge": "Discharge"}
NOTES_MAX = 1000
RELEASED_TO_MAX = 120


def value_problems(values: dict) -> dict[str, str]:
    """{measure: message} for values no person can have (typing mistakes); empty when none."""
    errors = {}
    for name in MEASURES:
        value = values.get(name)
        low, high = POSSIBLE_RANGES[name]
        if value is not None and not low <= value <= high:
            errors[name] = (
                f"{MEASURE_LABELS[name]} must be between {low} and {high}; check the number."
            )
    systolic, diastolic = values.get("bp_systolic"), values.get("bp_diastolic")
    if (
        systolic is not None
        and diastolic is not None
        and diastolic >= systolic
        and not {"bp_systolic", "bp_diastolic"} & set(errors)
    ):
        errors["bp_diastolic"] = (
            "The diastolic pressure must be lower than the systolic; check both numbers."
        )
    if len(values.get("notes") or "") > NOTES_MAX:
        errors["notes"] = f"Use at most {NOTES_MAX} characters."
    return errors


def flags_for(values: dict, ranges: dict[str, tuple[int | None, int | None]]) -> dict[str, str]:
    """{measure: 'low' | 'high'} for each value outside the clinic's range (limits inclusive)."""
    flags = {}
    for name in MEASURES:
        value = values.get(name)
        low, high = ranges.get(name, (None, None))
        if value is None:
            continue
        if low is not None and value < low:
            flags[name] = "low"
        elif high is not None and value > high:
            flags[name] = "high"
    return flags


def flag_words(name: str, flag: str, ranges: dict[str, tuple[int | None, int | None]]) -> str:
    """A flag in words: 'High: above 160' (the limit in force now, for the sheet's key)."""
    low, high = ranges.get(name, (None, None))
    if flag == "low":
        return f"Low: below {low}" if low is not None else "Low"
    return f"High: above {high}" if high is not None else "High"


def time_problem(
    taken_at: datetime, *, started_at: datetime, released_at: datetime | None
) -> str | None:
    """Why a reading cannot be timed at `taken_at` on this sheet, or None."""
    if taken_at < started_at:
        return "This time is before the session started; check the time."
    if released_at is not None and taken_at > released_at:
        return "This time is after the patient was discharged; check the time."
    return None


def kind_problem(kind: str, taken_at: datetime, others: list) -> str | None:
    """One baseline and one discharge reading per sheet; the baseline comes first and the
    discharge reading last (`others` are the sheet's readings not entered in error)."""
    for other in others:
        if other.kind == kind and kind in ("baseline", "discharge"):
            return f"This sheet already has a {kind} reading; choose interval, or mark that one entered in error."
        if other.kind == "baseline" and kind != "baseline" and taken_at < other.taken_at:
            return "This time is before the baseline reading; check the time."
        if other.kind == "discharge" and kind != "discharge" and taken_at > other.taken_at:
            return "This time is after the discharge reading; check the time."
        if kind == "baseline" and taken_at > other.taken_at:
            return "The baseline must come before the other readings; check the time."
        if kind == "discharge" and taken_at < other.taken_at:
            return "The discharge reading must come after the other readings; check the time."
    return None


@dataclass(frozen=True)
class NextReading:
    """What the sheet proposes for the next reading: its kind and when it is due."""

    kind: str
    due_at: datetime | None

    def minutes_late(self, now: datetime) -> int:
        """Whole minutes since the reading fell due (0 when not yet due or none is due)."""
        if self.due_at is None or now <= self.due_at:
            return 0
        return int((now - self.due_at) / timedelta(minutes=1))


def next_reading(readings: list, interval_min: int) -> NextReading:
    """Baseline first; then an interval reading `interval_min` after the last one; none due
    after the discharge reading."""
    if not readings:
        return NextReading("baseline", None)
    last = max(readings, key=lambda r: r.taken_at)
    if any(r.kind == "discharge" for r in readings):
        return NextReading("interval", None)
    return NextReading("interval", last.taken_at + timedelta(minutes=interval_min))
