"""The staff digest's content: the worklist's unbooked due, overdue and lapsed patients."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..extensions import db
from ..models import Course, Patient
from .clock import Clock

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
    """The worklist's unbooked due, overdue and lapsed patients (tracker.status: the worklist's
    own rules), most urgent first within each status."""
    from .. import status

    rules = status.clock_for(clock.today, settings)
    query = (status.open_courses(rules, SECTIONS)
             .order_by(Course.window_closes, Patient.last_name, Patient.first_name, Course.id))
    digest = Digest(on=clock.today, sections={s: [] for s in SECTIONS}, totals={s: 0 for s in SECTIONS})
    for row in status.stream(db.session, query):
        if row.booked or row.status not in SECTIONS or row.window_opens is None:
            continue
        digest.totals[row.status] += 1
        if len(digest.sections[row.status]) < MAX_LINES_PER_SECTION:
            digest.sections[row.status].append(DigestLine(
                row.patient_id, f"{row.last_name}, {row.first_name}", row.mrn, row.status,
                row.window_opens, row.window_closes))
    return digest
