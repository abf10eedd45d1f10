"""Recording outcome measures and striking them out; only this package writes their table.
Services flush; the view commits."""

import logging
from datetime import date, datetime

from sqlalchemy import select

from ..extensions import db
from ..models import MEASURE_SOURCES, Infusion, OutcomeMeasure, Patient
from ..services import audit
from ..services.errors import RuleError
from ..services.in_error import mark_entered_in_error
from .instruments import INSTRUMENTS, answer_problem, score

log = logging.getLogger(__name__)

MEASURE_FIELDS = (
    "instrument",
    "taken_at",
    "answers",
    "complete",
    "score",
    "band",
    "source",
    "infusion_id",
)


def record_measure(
    patient: Patient,
    *,
    actor,
    instrument: str,
    answers: list,
    taken_at: datetime,
    taken_on: date,
    today: date,
    source: str = "in_clinic",
    course_id: int | None = None,
    infusion_id: int | None = None,
) -> OutcomeMeasure:
    """Store one instrument's answers and their score; with an unanswered item the measure is
    incomplete (no score, no band). Flushes and audits."""
    found = INSTRUMENTS.get(instrument)
    if found is None:
        raise RuleError("Choose one of the instruments.", "instrument")
    problem = answer_problem(found, answers)
    if problem:
        raise RuleError(problem)
    if all(answer is None for answer in answers):
        raise RuleError("Answer at least one item; with none there is nothing to record.", "item_1")
    if source not in MEASURE_SOURCES:
        raise RuleError("Say how the answers were taken.", "source")
    if taken_on > today:
        raise RuleError("The date cannot be in the future.", "taken_at")
    if taken_on < patient.date_of_birth:
        raise RuleError("The date is before the patient's date of birth.", "taken_at")
    if infusion_id is not None:
        infusion = db.session.get(Infusion, infusion_id)
        if infusion is None or infusion.patient_id != patient.id:
            raise RuleError("That session is not this patient's.", "infusion_id")
    result = score(found, answers)
    measure = OutcomeMeasure(
        patient_id=patient.id,
        course_id=course_id,
        infusion_id=infusion_id,
        instrument=instrument,
        taken_at=taken_at,
        taken_on=taken_on,
        answers=list(answers),
        complete=result.complete,
        score=result.score,
        band=result.band,
        source=source,
        recorded_by_id=audit.actor_fields(actor)[0],
    )
    db.session.add(measure)
    db.session.flush()
    audit.record(
        actor,
        entity="outcome_measure",
        entity_id=measure.id,
        patient_id=patient.id,
        action="create",
        after=audit.snapshot(measure, MEASURE_FIELDS),
    )
    log.info("outcome measure %s (%s) recorded for patient %s", measure.id, instrument, patient.id)
    return measure


def mark_in_error(measure: OutcomeMeasure, *, actor, reason: str, now: datetime) -> OutcomeMeasure:
    """Strike a measure out with the reason; it stays on record and leaves the charts."""
    return mark_entered_in_error(
        measure,
        noun="measure",
        entity="outcome_measure",
        patient_id=measure.patient_id,
        actor=actor,
        reason=reason,
        now=now,
    )


def measures_of(patient_id: int) -> list[OutcomeMeasure]:
    """Every measure of the patient, oldest first (entered in error ones included)."""
    return list(
        db.session.scalars(
            select(OutcomeMeasure)
            .where(OutcomeMeasure.patient_id == patient_id)
            .order_by(OutcomeMeasure.taken_at, OutcomeMeasure.id)
        )
    )
