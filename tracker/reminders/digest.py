"""The staff digest's content: the worklist's unbooked due, overdue and lapsed patients."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from .. import scheduling
from ..extensions import db
from ..models import Course, Patient
from .clock import Clock
from .planning import is_booked, last_active_appointment_days

SECTIONS = ("overdue", "due", "lapsed")
MAX_LINES_PER_SECTION = 100


@dataclass(frozen=True)
class DigestLine:
    """One unbooked patient on the digest (staff mail: name and MRN are allowed)."""

    patient_id: int
    name: str
    mrn: str
    status: str
    window_opens: date
    window_closes: date


@dataclass
class Digest:
    """Unbooked patients per status, most urgent first, with totals beyond the shown lines."""

    on: date
    sections: dict = field(default_factory=dict)  # status -> list[DigestLine]
    totals: dict = field(default_factory=dict)  # status -> int

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def build_digest(clock: Clock, settings) -> Digest:
    """Scheduled-maintenance courses whose window has opened, unbooked, grouped by status."""
    today = clock.today
    rows = db.session.execute(
        select(Course.patient_id, Course.anchor_date, Course.window_opens, Course.window_closes,
               Patient.first_name, Patient.last_name, Patient.mrn)
        .join(Patient, Patient.id == Course.patient_id)
        .where(Course.state == "maintenance", Course.mode == "scheduled",
               Course.anchor_date.is_not(None), Course.window_opens <= today)
        .order_by(Course.window_closes, Patient.last_name, Patient.first_name)
    ).all()
    latest = last_active_appointment_days([row.patient_id for row in rows], clock)
    digest = Digest(on=today, sections={s: [] for s in SECTIONS}, totals={s: 0 for s in SECTIONS})
    for row in rows:
        if is_booked(latest.get(row.patient_id), row.anchor_date):
            continue
        window = scheduling.Window(row.anchor_date, row.window_opens, row.window_closes)
        status = scheduling.maintenance_status(window, today, settings.lapse_grace_days)
        if status not in SECTIONS:
            continue
        digest.totals[status] += 1
        if len(digest.sections[status]) < MAX_LINES_PER_SECTION:
            digest.sections[status].append(DigestLine(row.patient_id, f"{row.last_name}, {row.first_name}",
                                                      row.mrn, status, row.window_opens, row.window_closes))
    return digest
