"""Minimum necessary: what each role may see of a patient's sessions.

The front desk books and phones; it sees that a session happened, when, and its outcome, never
doses, weights, vitals, pain scores, adverse effects or clinical notes. The rows for the front
desk are built without those values, so no template or export can show them by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

REMOVABLE_STATES = ("series_in_progress", "maintenance", "on_hold")


@dataclass(frozen=True)
class SessionRow:
    """One session as the patient page shows it; clinical values are None for the front desk."""

    id: int
    given_at: datetime
    given_on: date
    outcome: str
    counts_toward_series: bool
    is_booster: bool
    early: bool
    late: bool
    early_reason: str | None
    qualifies: bool
    in_error: bool
    correctable: bool  # may still be marked entered in error (a clinician, an open course)
    entered_in_error_reason: str | None = None
    weight_kg: Decimal | None = None
    dose_mg_per_kg: Decimal | None = None
    total_mg: Decimal | None = None
    duration_min: int | None = None
    pain_before: int | None = None
    pain_after: int | None = None
    adverse_effects: str | None = None
    notes: str | None = None
    monitoring: str | None = None  # the monitoring sheet in brief ("4 readings, 1 flagged")
    rems: str | None = None  # the REMS form in brief ("REMS form not written: due in 3 days")


CLINICAL_FIELDS = (
    "weight_kg",
    "dose_mg_per_kg",
    "total_mg",
    "duration_min",
    "pain_before",
    "pain_after",
    "adverse_effects",
    "notes",
)


def sees_clinical(user) -> bool:
    """Clinicians (and admins, who hold every role) see clinical values; the front desk does not."""
    return bool(user.is_authenticated and user.has_role("clinician"))


def session_rows(
    infusions, *, clinical: bool, monitoring: dict | None = None, rems: dict | None = None
) -> list[SessionRow]:
    """The sessions, newest first, with clinical values (and the monitoring sheets and REMS
    forms in brief, {infusion id: text}) only when `clinical`."""
    rows = []
    for infusion in sorted(infusions, key=lambda i: i.given_at, reverse=True):
        clinical_values = (
            {name: getattr(infusion, name) for name in CLINICAL_FIELDS} if clinical else {}
        )
        rows.append(
            SessionRow(
                id=infusion.id,
                given_at=infusion.given_at,
                given_on=infusion.given_on,
                outcome=infusion.outcome,
                counts_toward_series=infusion.counts_toward_series,
                is_booster=infusion.is_booster,
                early=infusion.early,
                late=infusion.late,
                early_reason=infusion.early_reason if clinical else None,
                qualifies=infusion.qualifies,
                in_error=infusion.in_error,
                correctable=clinical
                and not infusion.in_error
                and infusion.course.state in REMOVABLE_STATES,
                entered_in_error_reason=infusion.entered_in_error_reason if clinical else None,
                monitoring=(monitoring or {}).get(infusion.id) if clinical else None,
                rems=(rems or {}).get(infusion.id) if clinical else None,
                **clinical_values,
            )
        )
    return rows
