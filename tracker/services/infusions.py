"""Recording infusions: validation, total dose, booster flags, re-anchoring."""
import logging
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from .. import scheduling
from ..extensions import db
from ..models import OUTCOMES, ClinicSettings, Course, Infusion, Patient
from . import audit
from .courses import refresh_course
from .errors import RuleError
from .in_error import already_marked, mark_entered_in_error

log = logging.getLogger(__name__)

# The plausible range of each measured value, inclusive (the form, the service and the import).
PAIN_RANGE = (0, 10)
WEIGHT_KG_RANGE = (Decimal("0.5"), Decimal("400"))
DURATION_MIN_RANGE = (0, 24 * 60)
# The longest free text kept on an infusion, in characters (the form, the service and the import).
TEXT_MAX_LENGTHS = {"notes": 4000, "adverse_effects": 2000}

INFUSION_FIELDS = (
    "given_at", "given_on", "outcome", "counts_toward_series", "weight_kg", "dose_mg_per_kg",
    "total_mg", "duration_min", "pain_before", "pain_after", "adverse_effects", "notes",
    "is_booster", "early", "late",
    "early_reason", "appointment_id",
)


def total_mg(weight_kg, dose_mg_per_kg) -> Decimal | None:
    """weight x mg/kg, rounded to 0.01 mg; None when either is missing."""
    if weight_kg is None or dose_mg_per_kg is None:
        return None
    return (Decimal(weight_kg) * Decimal(dose_mg_per_kg)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def check_values(values: dict, *, patient: Patient, settings: ClinicSettings, today: date) -> dict:
    """Field errors {field: message} for an infusion's values; empty when all are acceptable."""
    errors = {}
    given_on = values.get("given_on")
    if given_on is not None:
        if given_on > today:
            errors["given_at"] = "The infusion date cannot be in the future."
        elif given_on < patient.date_of_birth:
            errors["given_at"] = "The infusion date is before the patient's date of birth."
    if values.get("outcome") not in OUTCOMES:
        errors["outcome"] = "Choose completed, stopped early or not started."
    for name in ("pain_before", "pain_after"):
        value = values.get(name)
        if value is not None and not PAIN_RANGE[0] <= value <= PAIN_RANGE[1]:
            errors[name] = "Pain is scored from 0 to 10."
    dose = values.get("dose_mg_per_kg")
    if dose is not None:
        if dose < 0:
            errors["dose_mg_per_kg"] = "The dose cannot be negative."
        elif dose > settings.max_dose_mg_per_kg:
            errors["dose_mg_per_kg"] = (
                f"The dose is above the clinic maximum of {settings.max_dose_mg_per_kg} mg/kg."
            )
    weight = values.get("weight_kg")
    if weight is not None and not WEIGHT_KG_RANGE[0] <= weight <= WEIGHT_KG_RANGE[1]:
        errors["weight_kg"] = "Weight must be between 0.5 and 400 kg."
    duration = values.get("duration_min")
    if duration is not None and not DURATION_MIN_RANGE[0] <= duration <= DURATION_MIN_RANGE[1]:
        errors["duration_min"] = "Duration must be between 0 and 1440 minutes."
    for name, limit in TEXT_MAX_LENGTHS.items():
        if len(values.get(name) or "") > limit:
            errors[name] = f"Use at most {limit} characters."
    return errors


def booster_timing_for(course: Course, given_on: date, qualifies: bool) -> str | None:
    """'early', 'on_time' or 'late' when this session would be a booster, else None."""
    if not qualifies or course.anchor_date is None or course.state not in ("maintenance", "on_hold"):
        return None
    if given_on < course.anchor_date:
        return None  # entered out of order: refresh_course sorts it out
    return scheduling.booster_timing(course.anchor_date, given_on, course.min_days, course.max_days)


def record_infusion(course: Course, *, actor, settings: ClinicSettings, today: date,
                    given_at: datetime, require_early_reason: bool = True,
                    appointment_id: int | None = None, **values) -> Infusion:
    """Validate and add an infusion to a course, then re-anchor the course; flush.

    Raises RuleError for the first field problem (views show them all through check_values).
    An early booster needs a reason unless `require_early_reason` is False (imports).
    """
    if course.state not in ("series_in_progress", "maintenance"):
        raise RuleError("Infusions can only be recorded on a course in its series or maintenance.", None)
    patient = db.session.get(Patient, course.patient_id)
    given_on = scheduling.local_date(given_at, settings.timezone)
    values.setdefault("outcome", "completed")
    errors = check_values(dict(values, given_on=given_on), patient=patient, settings=settings, today=today)
    if errors:
        field, message = next(iter(errors.items()))
        raise RuleError(message, field)
    qualifies = scheduling.qualifies(values["outcome"], values.get("counts_toward_series", False))
    reason = (values.pop("early_reason", None) or "").strip()
    if booster_timing_for(course, given_on, qualifies) == "early" and require_early_reason and not reason:
        raise RuleError("This booster is before the window opens: give the reason for an early booster.",
                        "early_reason")
    infusion = Infusion(course=course, patient_id=course.patient_id, given_at=given_at,
                        given_on=given_on, appointment_id=appointment_id,
                        early_reason=reason or None,
                        total_mg=total_mg(values.get("weight_kg"), values.get("dose_mg_per_kg")),
                        recorded_by_id=audit.actor_fields(actor)[0],
                        **values)
    db.session.add(infusion)
    db.session.flush()
    refresh_course(course)
    audit.record(actor, entity="infusion", entity_id=infusion.id, patient_id=course.patient_id,
                 action="create", after=audit.snapshot(infusion, INFUSION_FIELDS))
    log.info("infusion %s recorded on course %s", infusion.id, course.id)
    return infusion


CLOSED_COURSE = "That infusion belongs to a closed course and cannot be changed."


def in_error_problem(infusion: Infusion) -> str | None:
    """Why this infusion cannot be marked entered in error now, or None."""
    if infusion.in_error:
        return already_marked("infusion")
    if not infusion.course.is_open:
        return CLOSED_COURSE
    return None


def mark_in_error(infusion: Infusion, *, actor, reason: str, now: datetime) -> Infusion:
    """Mark an infusion entered in error: the row stays (struck out, with the reason), counts for
    nothing, and the course re-anchors as if it had never been recorded; audited. Flushes."""
    problem = in_error_problem(infusion)
    if problem is not None:
        raise RuleError(problem, None)
    mark_entered_in_error(infusion, noun="infusion", entity="infusion",
                          patient_id=infusion.patient_id, actor=actor, reason=reason, now=now)
    refresh_course(infusion.course)
    return infusion


def last_recorded(patient_id: int) -> Infusion | None:
    """The patient's latest infusion not entered in error (the session form carries it forward)."""
    return db.session.scalar(
        select(Infusion).where(Infusion.patient_id == patient_id, Infusion.entered_in_error_at.is_(None))
        .order_by(Infusion.given_at.desc(), Infusion.id.desc()).limit(1))


def dose_change_percent(previous: Decimal | None, dose: Decimal | None) -> Decimal | None:
    """How far `dose` is from `previous`, in percent of `previous`; None when either is missing."""
    if previous is None or dose is None or previous == 0:
        return None
    return (abs(Decimal(dose) - Decimal(previous)) * 100 / Decimal(previous)).quantize(Decimal("1"))
