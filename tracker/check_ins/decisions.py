"""A clinician's decision on a clinically-due entry (accept: due now until the next session;
dismiss, with the reason), the entries still current for the worklist and the patient page,
and the observed relief duration. Services flush; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, select

from ..extensions import db
from ..models import OPEN_STATES, ClinicallyDue, Course, Patient
from ..outcomes import rules
from ..services import audit
from ..services.errors import RuleError
from .service import RULED_INSTRUMENTS, pain_baseline
from .settings import due_rules, get_check_in_settings

REASON_MAX = 200
DUE_FIELDS = ("state", "decided_at", "dismiss_reason")


def _decide(entry: ClinicallyDue, state: str, *, actor, now: datetime, reason: str | None = None):
    if entry.state != "open":
        raise RuleError("A clinician has already decided on this entry.")
    before = audit.snapshot(entry, DUE_FIELDS)
    entry.state, entry.decided_at, entry.dismiss_reason = state, now, reason
    entry.decided_by_id = audit.actor_fields(actor)[0]
    db.session.flush()
    audit.record(
        actor,
        entity="clinically_due",
        entity_id=entry.id,
        patient_id=entry.patient_id,
        action=state,
        before=before,
        after=audit.snapshot(entry, DUE_FIELDS),
    )
    return entry


def accept(entry: ClinicallyDue, *, actor, now: datetime) -> ClinicallyDue:
    """Accept: the patient is due now, until their next qualifying session. Audited."""
    return _decide(entry, "accepted", actor=actor, now=now)


def dismiss(entry: ClinicallyDue, *, actor, reason: str, now: datetime) -> ClinicallyDue:
    """Dismiss with the reason; the entry stays on record. Audited."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise RuleError("Say why this entry is dismissed.", "reason")
    if len(reason) > REASON_MAX:
        raise RuleError(f"Use at most {REASON_MAX} characters.", "reason")
    return _decide(entry, "dismissed", actor=actor, now=now, reason=reason)


def still_current():
    """SQL: an entry whose course is open and has had no qualifying session since it arose
    (accepted, it counts as due now until then)."""
    return and_(
        Course.id == ClinicallyDue.course_id,
        Course.state.in_(OPEN_STATES),
        or_(
            Course.last_qualifying_on.is_(None),
            and_(
                ClinicallyDue.session_on.is_not(None),
                Course.last_qualifying_on <= ClinicallyDue.session_on,
            ),
        ),
    )


def current_entries(patient_id: int | None = None) -> list:
    """(entry, patient, course) for every open or accepted entry still current, open ones first
    and oldest first; one patient's with `patient_id`."""
    stmt = (
        select(ClinicallyDue, Patient, Course)
        .join(Patient, Patient.id == ClinicallyDue.patient_id)
        .join(Course, still_current())
        .where(ClinicallyDue.state.in_(("open", "accepted")))
        .order_by(ClinicallyDue.state.desc(), ClinicallyDue.raised_at, ClinicallyDue.id)
    )
    if patient_id is not None:
        stmt = stmt.where(ClinicallyDue.patient_id == patient_id)
    return [tuple(row) for row in db.session.execute(stmt.limit(200))]


@dataclass(frozen=True)
class DueRow:
    """A clinically-due entry as the worklist and the patient page show it; `detail` (a score)
    is None for the front desk, so no template can show it by mistake."""

    id: int
    version: int
    patient_id: int
    name: str
    reason: str
    state: str
    raised_at: datetime
    decided_at: datetime | None
    session_on: date | None
    detail: str | None = None


def due_rows(patient_id: int | None = None, *, clinical: bool) -> list[DueRow]:
    """The current entries (open first), with the score shown only to clinical staff."""
    return [
        DueRow(
            entry.id,
            entry.version,
            patient.id,
            f"{patient.last_name}, {patient.first_name}",
            entry.reason,
            entry.state,
            entry.raised_at,
            entry.decided_at,
            entry.session_on,
            entry.detail if clinical else None,
        )
        for entry, patient, _course in current_entries(patient_id)
    ]


def relief_summary(course: Course | None, measures) -> rules.ReliefDuration | None:
    """The observed relief of the course (median days from a session until a score crossed a
    clinic rule) and the interval it suggests; None with no data. `measures`: the patient's."""
    if course is None:
        return None
    scored = [
        rules.Scored(m.taken_on, m.instrument, m.score)
        for m in measures
        if m.course_id == course.id
        and m.instrument in RULED_INSTRUMENTS
        and m.complete
        and not m.in_error
        and m.score is not None
    ]
    if not scored:  # no data: nothing to read further
        return None
    sessions = [i.given_on for i in course.infusions if i.qualifies]
    settings = due_rules(get_check_in_settings())
    return rules.relief_duration(
        rules.relief_days(sessions, scored, settings, pain_baseline(course, measures))
    )
