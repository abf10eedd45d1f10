"""Writing the REMS records: turning the requirement on or off for a course, the form of a
session, its filing and its correction. Services flush; the view commits. Only this package
writes the REMS tables."""

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import and_, select

from ..extensions import db
from ..models import Course, Infusion, Patient, RemsCourse, RemsForm, User
from ..models.in_error import REASON_MAX
from ..models.rems import BP_COLUMNS, SAE_DESCRIPTION_MAX
from ..services import audit
from ..services.errors import RuleError
from ..services.in_error import mark_entered_in_error
from . import rules

log = logging.getLogger(__name__)

GIVEN_OUTCOMES = ("completed", "stopped_early")  # the drug was given: a form is needed
ANSWER_FIELDS = (
    "dose_mg",
    "devices",
    "lot_number",
    "monitoring_started_at",
    "monitoring_ended_at",
    *BP_COLUMNS,
    "sedation",
    "dissociation",
    "respiratory_depression",
    "serious_adverse_event",
    "serious_adverse_event_description",
)
FILED_FIELDS = ("filed_on", "filed_by_id")


def _reason(reason: str, field: str = "reason") -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise RuleError("Say why.", field)
    if len(reason) > REASON_MAX:
        raise RuleError(f"Use at most {REASON_MAX} characters.", field)
    return reason


def rems_course(course: Course) -> RemsCourse | None:
    """The course's REMS row, on or off; None when it was never turned on."""
    return db.session.get(RemsCourse, course.id)


def is_on(course: Course) -> bool:
    """Each session of the course needs a REMS monitoring form."""
    row = rems_course(course)
    return row is not None and row.on


def turn_on(course: Course, *, actor, now: datetime, today: date) -> RemsCourse:
    """Require a REMS form after each session of the course (again, if it was turned off),
    from the sessions of the last 7 days on: their forms can still be filed in time."""
    row = rems_course(course)
    if row is not None and row.on:
        raise RuleError("REMS forms are already on for this course.")
    actor_id = audit.actor_fields(actor)[0]
    before = audit.snapshot(row, ("turned_off_at", "turned_off_reason")) if row else None
    if row is None:
        row = RemsCourse(course_id=course.id, turned_on_at=now, turned_on_by_id=actor_id)
        db.session.add(row)
    if row.sessions_from is None or not row.on:
        row.sessions_from = today - timedelta(days=rules.FILE_WITHIN_DAYS)
    if row.turned_off_at is not None:
        row.turned_on_at, row.turned_on_by_id = now, actor_id
        row.turned_off_at = row.turned_off_by_id = row.turned_off_reason = None
    db.session.flush()
    audit.record(
        actor,
        entity="rems_course",
        entity_id=course.id,
        patient_id=course.patient_id,
        action="rems_on",
        before=before,
        after={"on": True},
    )
    log.info("REMS forms turned on for course %s", course.id)
    return row


def turn_off(course: Course, *, actor, reason: str, now: datetime) -> RemsCourse:
    """No more REMS forms for the course's sessions; forms already written stay."""
    row = rems_course(course)
    if row is None or not row.on:
        raise RuleError("REMS forms are not on for this course.")
    row.turned_off_reason = _reason(reason)
    row.turned_off_at, row.turned_off_by_id = now, audit.actor_fields(actor)[0]
    db.session.flush()
    audit.record(
        actor,
        entity="rems_course",
        entity_id=course.id,
        patient_id=course.patient_id,
        action="rems_off",
        after={"on": False, "reason": row.turned_off_reason},
    )
    log.info("REMS forms turned off for course %s", course.id)
    return row


def live_form(infusion: Infusion) -> RemsForm | None:
    """The session's form not entered in error, if one was written."""
    return db.session.scalar(
        select(RemsForm).where(
            RemsForm.infusion_id == infusion.id, RemsForm.entered_in_error_at.is_(None)
        )
    )


def needs_form(infusion: Infusion) -> bool:
    """The session was given on a course with REMS forms on."""
    row = rems_course(infusion.course)
    return (
        row is not None
        and row.on
        and not infusion.in_error
        and infusion.outcome in GIVEN_OUTCOMES
        and infusion.given_on >= row.sessions_from
    )


def save_form(infusion: Infusion, *, actor, answers: dict, now: datetime) -> RemsForm:
    """Write (or correct, until it is filed) the session's form. Refused on the field: under 120
    minutes of monitoring, a serious adverse event without its description. Flushes, audits."""
    if infusion.in_error:
        raise RuleError("This session was entered in error: it needs no REMS form.")
    problem = rules.monitoring_problem(
        answers.get("monitoring_started_at"), answers.get("monitoring_ended_at")
    )
    if problem:
        raise RuleError(problem, "monitoring_ended_at")
    description = (answers.get("serious_adverse_event_description") or "").strip()
    if answers.get("serious_adverse_event") and not description:
        raise RuleError(
            "Describe the serious adverse event (what happened, when, what was done).",
            "serious_adverse_event_description",
        )
    if len(description) > SAE_DESCRIPTION_MAX:
        raise RuleError(
            f"Use at most {SAE_DESCRIPTION_MAX} characters.", "serious_adverse_event_description"
        )
    for moment in ("before", "at_40", "end"):
        systolic, diastolic = (
            answers.get(f"bp_{moment}_systolic"),
            answers.get(f"bp_{moment}_diastolic"),
        )
        if systolic is not None and diastolic is not None and diastolic >= systolic:
            raise RuleError(
                "The diastolic pressure must be lower than the systolic; check both numbers.",
                f"bp_{moment}_diastolic",
            )
    form = live_form(infusion)
    if form is not None and form.filed_on is not None:
        raise RuleError(
            "This form was filed with the REMS; to correct it, mark it entered in error and "
            "write it again."
        )
    before = audit.snapshot(form, ANSWER_FIELDS) if form else None
    if form is None:
        form = RemsForm(infusion_id=infusion.id, patient_id=infusion.patient_id)
        db.session.add(form)
    for name in ANSWER_FIELDS:
        setattr(form, name, answers.get(name))
    form.lot_number = (answers.get("lot_number") or "").strip()
    form.serious_adverse_event_description = description
    form.completed_at, form.completed_by_id = now, audit.actor_fields(actor)[0]
    db.session.flush()
    audit.record(
        actor,
        entity="rems_form",
        entity_id=form.id,
        patient_id=infusion.patient_id,
        action="update" if before else "create",
        before=before,
        after=audit.snapshot(form, ANSWER_FIELDS),
    )
    log.info("REMS form %s saved for session %s", form.id, infusion.id)
    return form


def mark_filed(form: RemsForm, *, actor, filed_on: date, session_on: date, today: date) -> RemsForm:
    """Mark the form filed with the REMS on `filed_on` (from the session's day to today)."""
    if form.in_error:
        raise RuleError("This form was entered in error.")
    if form.filed_on is not None:
        raise RuleError("This form is already marked filed.")
    if filed_on > today:
        raise RuleError("The filing date cannot be in the future; check the date.", "filed_on")
    if filed_on < session_on:
        raise RuleError("The filing date cannot be before the session; check the date.", "filed_on")
    form.filed_on, form.filed_by_id = filed_on, audit.actor_fields(actor)[0]
    db.session.flush()
    audit.record(
        actor,
        entity="rems_form",
        entity_id=form.id,
        patient_id=form.patient_id,
        action="filed",
        after=audit.snapshot(form, FILED_FIELDS),
    )
    return form


def mark_in_error(form: RemsForm, *, actor, reason: str, now: datetime) -> RemsForm:
    """Strike the form out with the reason; it stays, and the session needs a new form."""
    return mark_entered_in_error(
        form,
        noun="form",
        entity="rems_form",
        patient_id=form.patient_id,
        actor=actor,
        reason=reason,
        now=now,
    )


def due_sessions(*, filed: bool, since: date | None = None):
    """The query of (infusion, patient, live form or None) for sessions of REMS courses: not
    yet filed, oldest first; or (`filed`) filed on or after `since`, newest first."""
    live = and_(RemsForm.infusion_id == Infusion.id, RemsForm.entered_in_error_at.is_(None))
    query = (
        select(Infusion, Patient, RemsForm)
        .join(RemsCourse, RemsCourse.course_id == Infusion.course_id)
        .join(Patient, Patient.id == Infusion.patient_id)
        .outerjoin(RemsForm, live)
        .where(
            RemsCourse.turned_off_at.is_(None),
            Infusion.entered_in_error_at.is_(None),
            Infusion.outcome.in_(GIVEN_OUTCOMES),
        )
    )
    if filed:
        return query.where(RemsForm.filed_on >= since).order_by(
            RemsForm.filed_on.desc(), Infusion.given_at.desc()
        )
    return query.where(
        RemsForm.filed_on.is_(None), Infusion.given_on >= RemsCourse.sessions_from
    ).order_by(Infusion.given_at, Infusion.id)


def filed_by(form: RemsForm | None) -> User | None:
    """Who marked the form filed."""
    return db.session.get(User, form.filed_by_id) if form and form.filed_by_id else None
