"""Check-ins: storing what a patient sends from their check-in link, and the clinically-due
entry it (or a score) raises for a clinician to accept or dismiss (decisions.py).

Only this package writes its tables (models/check_ins.py); the answers themselves are outcome
measures, stored through tracker.outcomes.service. Services flush; the caller commits.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from ..extensions import db
from ..models import (
    OPEN_STATES,
    CheckInResponse,
    ClinicallyDue,
    Course,
    Infusion,
    OutcomeMeasure,
    Patient,
)
from ..outcomes import rules
from ..outcomes import service as outcomes
from ..services import audit
from ..services.errors import RuleError
from .settings import due_rules, get_check_in_settings

log = logging.getLogger(__name__)

# The instruments a clinically-due rule reads (tracker/outcomes/rules.py).
RULED_INSTRUMENTS = ("phq9", "pain_nrs")


def finished(course: Course) -> bool:
    """The course has ended (discharged or entered in error): its check-in link asks nothing."""
    return course.state not in OPEN_STATES


def last_session(course: Course) -> Infusion | None:
    """The course's latest qualifying session: the check-in schedule counts from it."""
    qualifying = [i for i in course.infusions if i.qualifies]
    return max(qualifying, key=lambda i: (i.given_on, i.given_at), default=None)


def answered_on(course_id: int, day: date) -> CheckInResponse | None:
    """The check-in already sent for the course on this clinic day, if any."""
    return db.session.scalar(
        select(CheckInResponse).where(
            CheckInResponse.course_id == course_id, CheckInResponse.answered_on == day
        )
    )


def record_check_in(
    patient: Patient,
    course: Course,
    *,
    answers: dict[str, list],
    relief_worn_off: str | None,
    visit_requested: bool,
    now: datetime,
    today: date,
) -> CheckInResponse:
    """Store a check-in: each instrument answered at all becomes an outcome measure (incomplete
    when an item is missing, never imputed), then the response; then raise what it makes
    clinically due. Refused for a finished course, a second check-in the same day, or nothing
    answered. Flushes."""
    if finished(course):
        raise RuleError("This check-in has ended.")
    if answered_on(course.id, today) is not None:
        raise RuleError("You have already answered today. Thank you.")
    given = {code: items for code, items in answers.items() if any(a is not None for a in items)}
    if not given and relief_worn_off is None and not visit_requested:
        raise RuleError("Please answer at least one question.")
    session = last_session(course)
    measures = [
        outcomes.record_measure(
            patient,
            actor="patient",
            instrument=code,
            answers=items,
            taken_at=now,
            taken_on=today,
            today=today,
            source="check_in_link",
            course_id=course.id,
            infusion_id=session.id if session else None,
        )
        for code, items in given.items()
    ]
    response = CheckInResponse(
        patient_id=patient.id,
        course_id=course.id,
        infusion_id=session.id if session else None,
        session_on=session.given_on if session else None,
        answered_at=now,
        answered_on=today,
        relief_worn_off=relief_worn_off,
        visit_requested=bool(visit_requested and course.mode == "as_needed"),
    )
    db.session.add(response)
    db.session.flush()
    audit.record(
        "patient",
        entity="check_in",
        entity_id=response.id,
        patient_id=patient.id,
        action="create",
        after=audit.snapshot(response, ("relief_worn_off", "visit_requested", "session_on")),
    )
    _raise_from(patient, course, response, measures, now=now, today=today)
    log.info("check-in %s recorded for patient %s", response.id, patient.id)
    return response


def _raise_from(patient, course, response, measures, *, now, today) -> None:
    """The clinically-due entry a check-in calls for: for the patient's own word first (relief
    worn off, a visit asked for), else for the first score crossing a rule; the detail names
    every score that crossed one."""
    settings = due_rules(get_check_in_settings())
    baseline = pain_baseline(course) if any(m.instrument == "pain_nrs" for m in measures) else None
    crossed = [
        (found, measure)
        for measure in measures
        if (found := rules.crossing(measure.instrument, measure.score, settings, baseline))
    ]
    reasons = [
        reason
        for reason, said in (
            ("relief_worn_off", response.relief_worn_off == "yes"),
            ("visit_requested", response.visit_requested),
        )
        if said
    ] + [found.reason for found, _ in crossed]
    if not reasons:
        return
    raise_due(
        course,
        reasons[0],
        "; ".join(found.detail for found, _ in crossed),
        session_on=response.session_on,
        response_id=response.id,
        measure_id=crossed[0][1].id if crossed else None,
        now=now,
        today=today,
    )


def raise_from_recorded(
    course: Course | None, measure: OutcomeMeasure, *, now: datetime, today: date
) -> ClinicallyDue | None:
    """A score recorded by staff (in the clinic, on the phone) that crosses a clinic rule raises
    the course's clinically-due entry as a check-in's would; nothing for an open series, a
    finished course or an incomplete score."""
    if course is None or course.state != "maintenance" or measure.score is None:
        return None
    settings = due_rules(get_check_in_settings())
    baseline = pain_baseline(course) if measure.instrument == "pain_nrs" else None
    found = rules.crossing(measure.instrument, measure.score, settings, baseline)
    if found is None:
        return None
    session = last_session(course)
    return raise_due(
        course,
        found.reason,
        found.detail,
        session_on=session.given_on if session else None,
        measure_id=measure.id,
        now=now,
        today=today,
    )


def waiting_entry(course_id: int, session_on: date | None) -> ClinicallyDue | None:
    """The course's entry for this session still open or accepted, if any."""
    same_session = (
        ClinicallyDue.session_on.is_(None)
        if session_on is None
        else ClinicallyDue.session_on == session_on
    )
    return db.session.scalar(
        select(ClinicallyDue)
        .where(
            ClinicallyDue.course_id == course_id,
            same_session,
            ClinicallyDue.state.in_(("open", "accepted")),
        )
        .limit(1)
    )


def raise_due(
    course: Course,
    reason: str,
    detail: str,
    *,
    session_on: date | None,
    now: datetime,
    today: date,
    response_id: int | None = None,
    measure_id: int | None = None,
) -> ClinicallyDue | None:
    """A new clinically-due entry, unless one for the same session is still open or accepted
    (one entry per session waits for a clinician). Audited; flushes."""
    if waiting_entry(course.id, session_on) is not None:
        return None
    entry = ClinicallyDue(
        patient_id=course.patient_id,
        course_id=course.id,
        session_on=session_on,
        reason=reason,
        detail=detail[:200],
        response_id=response_id,
        measure_id=measure_id,
        raised_at=now,
        raised_on=today,
        state="open",
    )
    db.session.add(entry)
    db.session.flush()
    audit.record(
        "patient" if response_id else "system",
        entity="clinically_due",
        entity_id=entry.id,
        patient_id=course.patient_id,
        action="create",
        after={
            "reason": reason,
            "session_on": audit.snapshot(entry, ("session_on",))["session_on"],
        },
    )
    log.info("patient %s clinically due (%s), entry %s", course.patient_id, reason, entry.id)
    return entry


def pain_baseline(course: Course, measures=None) -> Decimal | None:
    """The course's pain baseline: the pain before its first qualifying session, else the first
    complete pain NRS of the course taken on or before that day; None when neither exists.
    `measures`: the patient's measures when the caller has them (else they are read)."""
    qualifying = sorted((i for i in course.infusions if i.qualifies), key=lambda i: i.given_at)
    if not qualifying:
        return None
    first = qualifying[0]
    if first.pain_before is not None:
        return Decimal(first.pain_before)
    if measures is None:
        measures = db.session.scalars(
            select(OutcomeMeasure).where(OutcomeMeasure.course_id == course.id)
        ).all()
    before = sorted(
        (
            m
            for m in measures
            if m.course_id == course.id
            and m.instrument == "pain_nrs"
            and m.complete
            and not m.in_error
            and m.taken_on <= first.given_on
        ),
        key=lambda m: (m.taken_at, m.id),
    )
    return before[0].score if before else None
