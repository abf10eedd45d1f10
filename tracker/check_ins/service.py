"""Check-ins: the clinic's settings, storing what a patient sends from their check-in link, and
the clinically-due entries it (or a score) raises, accepted or dismissed by a clinician.

Only this package writes its tables (models/check_ins.py); the answers themselves are outcome
measures, stored through tracker.outcomes.service. Services flush; the caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select

from ..extensions import db
from ..models import (
    CHECK_IN_DEFAULTS,
    OPEN_STATES,
    CheckInResponse,
    CheckInSettings,
    ClinicallyDue,
    Course,
    Infusion,
    OutcomeMeasure,
    Patient,
)
from ..outcomes import rules
from ..outcomes import service as outcomes
from ..outcomes.instruments import INSTRUMENTS
from ..services import audit
from ..services.errors import RuleError

log = logging.getLogger(__name__)

# Courses whose patient is sent check-in links: in maintenance (during a series the next session
# comes within days; a course on hold, discharged or in error is sent none).
CHECK_IN_STATES = ("maintenance",)
# Limits the settings service checks (the admin form reads them).
MAX_DAY = 180
MAX_DAYS = 8
REASON_MAX = 200
SETTINGS_FIELDS = ("enabled", "days", "instruments", "phq9_threshold", "pain_return_percent")
DUE_FIELDS = ("state", "decided_at", "dismiss_reason")
# The instruments a patient may answer at home (CADSS-6 is taken in the chair).
HOME_INSTRUMENTS = tuple(code for code in INSTRUMENTS if code != "cadss6")
# The instruments a clinically-due rule reads (tracker/outcomes/rules.py).
RULED_INSTRUMENTS = ("phq9", "pain_nrs")


def get_check_in_settings() -> CheckInSettings:
    """The clinic's check-in settings: a pure read; before any save, the defaults (unsaved)."""
    found = db.session.get(CheckInSettings, 1)
    if found is not None:
        return found
    return CheckInSettings(id=1, **CHECK_IN_DEFAULTS)


def schedule_days(settings: CheckInSettings) -> tuple[int, ...]:
    """The days after each qualifying session on which the check-in link goes out."""
    return tuple(sorted({int(day) for day in settings.days.split(",") if day.strip()}))


def chosen_instruments(settings: CheckInSettings) -> tuple[str, ...]:
    """The instruments the check-in asks, in the clinic's order."""
    return tuple(code for code in settings.instruments.split(",") if code in HOME_INSTRUMENTS)


def due_rules(settings: CheckInSettings) -> rules.DueRules:
    """The clinically-due rules of the settings."""
    return rules.DueRules(settings.phq9_threshold, settings.pain_return_percent)


def parse_days(text: str) -> str:
    """Days as typed ("7, 14, 21") in the stored form ("7,14,21"); RuleError when not days."""
    parts = [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]
    if not parts:
        raise RuleError("Enter at least one day, for example 7, 14, 21, 28.", "days")
    if not all(part.isdigit() and len(part) <= 3 for part in parts):
        raise RuleError("Enter whole numbers of days separated by commas.", "days")
    days = sorted({int(part) for part in parts})
    if days[0] < 1 or days[-1] > MAX_DAY:
        raise RuleError(f"Each day must be from 1 to {MAX_DAY}.", "days")
    if len(days) > MAX_DAYS:
        raise RuleError(f"Enter at most {MAX_DAYS} days.", "days")
    return ",".join(str(day) for day in days)


def update_settings(actor, values: dict) -> CheckInSettings:
    """Save the check-in settings (creating the row on the first save); audited. Flushes."""
    days = parse_days(values.get("days", ""))
    chosen = [code for code in values.get("instruments") or () if code in HOME_INSTRUMENTS]
    if values.get("enabled") and not chosen:
        raise RuleError("Choose at least one instrument, or leave check-ins off.", "instruments")
    threshold, percent = values.get("phq9_threshold"), values.get("pain_return_percent")
    if threshold is not None and not 1 <= threshold <= 27:
        raise RuleError("Enter a PHQ-9 total from 1 to 27, or leave it empty.", "phq9_threshold")
    if percent is not None and not 0 <= percent <= 100:
        raise RuleError(
            "Enter a percentage from 0 to 100, or leave it empty.", "pain_return_percent"
        )
    settings = db.session.get(CheckInSettings, 1)
    if settings is None:
        settings = get_check_in_settings()
        db.session.add(settings)
    before = audit.snapshot(settings, SETTINGS_FIELDS)
    settings.enabled = bool(values.get("enabled"))
    settings.days = days
    settings.instruments = ",".join(chosen)
    settings.phq9_threshold, settings.pain_return_percent = threshold, percent
    db.session.flush()
    audit.record(
        actor,
        entity="check_in_settings",
        entity_id=settings.id,
        patient_id=None,
        action="update",
        before=before,
        after=audit.snapshot(settings, SETTINGS_FIELDS),
    )
    return settings


# --- the patient's check-in ------------------------------------------------------------------


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


# --- the clinician's decision ------------------------------------------------------------------


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
