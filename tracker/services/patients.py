"""Patients: add and edit demographics, record email consent and opt-outs, with an audit trail."""
import logging
import re
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select, update

from ..extensions import db
from ..models import Patient, Reminder, utcnow
from ..validators import email_problem, name_problem, normalized_email, normalized_name
from . import audit
from .errors import RuleError

log = logging.getLogger(__name__)

PATIENT_FIELDS = ("mrn", "first_name", "last_name", "date_of_birth", "email", "phone",
                  "email_consent", "consent_recorded_at", "email_opt_out_at")
EARLIEST_BIRTH = date(1900, 1, 1)


def clean_values(values: dict) -> dict:
    """Trimmed text (names and MRN in NFKC), empty optional text as None, booleans as booleans."""
    cleaned = dict(values)
    for name in ("mrn", "first_name", "last_name"):
        cleaned[name] = normalized_name(cleaned.get(name))
    for name in ("email", "phone"):
        cleaned[name] = (cleaned.get(name) or "").strip() or None
    cleaned["email"] = normalized_email(cleaned["email"])
    cleaned["email_consent"] = bool(cleaned.get("email_consent"))
    cleaned["email_opt_out"] = bool(cleaned.get("email_opt_out"))
    return cleaned


def patient_problems(values: dict, *, today: date, patient_id: int | None = None) -> dict:
    """Field errors {field: message} for a patient's cleaned values; empty when acceptable."""
    errors = {}
    mrn = values.get("mrn")
    if not mrn:
        errors["mrn"] = "Enter the MRN."
    elif len(mrn) > 40:
        errors["mrn"] = "Use at most 40 characters."
    elif problem := name_problem(mrn):
        errors["mrn"] = problem
    else:
        query = select(Patient.id).where(Patient.mrn == mrn)
        if patient_id is not None:
            query = query.where(Patient.id != patient_id)
        if db.session.scalar(query.limit(1)) is not None:
            errors["mrn"] = "Another patient already has this MRN."
    for name, label in (("first_name", "first name"), ("last_name", "last name")):
        if not values.get(name):
            errors[name] = f"Enter the {label}."
        elif len(values[name]) > 80:
            errors[name] = "Use at most 80 characters."
        elif problem := name_problem(values[name]):
            errors[name] = problem
    born = values.get("date_of_birth")
    if born is None:
        errors["date_of_birth"] = "Enter the date of birth as YYYY-MM-DD."
    elif born > today:
        errors["date_of_birth"] = "The date of birth cannot be in the future."
    elif born < EARLIEST_BIRTH:
        errors["date_of_birth"] = "Check the year of birth."
    email = values.get("email")
    if email:
        problem = email_problem(email)
        if problem:
            errors["email"] = problem
    elif values.get("email_consent") and not values.get("email_opt_out"):
        errors["email"] = "Enter an email address to record consent to email reminders."
    phone = values.get("phone")
    if phone and len(phone) > 40:
        errors["phone"] = "Use at most 40 characters."
    elif phone and (problem := phone_problem(phone)):
        errors["phone"] = problem
    if values.get("email_consent") and values.get("email_opt_out"):
        errors["email_opt_out"] = ("Tick one, not both: consent to email reminders, or opted out "
                                   "of email.")
    return errors


# A phone number as people write it: digits with spaces, dots, dashes or brackets, an optional
# leading +, and an optional extension ("x 12", "ext. 12").
PHONE_SHAPE = re.compile(r"^\+?[\d\s().-]+((x|ext\.?)\s*\d{1,6})?$", re.IGNORECASE)
PHONE_DIGITS = (7, 15)


def phone_digits(phone: str) -> str:
    """The digits of the number itself (an extension left out), for comparing two numbers."""
    return re.sub(r"\D", "", re.split(r"x|ext", phone, maxsplit=1, flags=re.IGNORECASE)[0])


def phone_problem(phone: str) -> str | None:
    """Why a typed phone number is not one, or None."""
    digits = len(phone_digits(phone))
    if not PHONE_SHAPE.match(phone) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
        return (f"Enter a phone number of {PHONE_DIGITS[0]} to {PHONE_DIGITS[1]} digits, such as "
                "555 0100 or +1 555 010 0199.")
    return None


def _digits_only(column):
    """SQL: the column with the usual phone separators taken out (SQLite and PostgreSQL)."""
    for separator in (" ", "-", "(", ")", ".", "+"):
        column = func.replace(column, separator, "")
    return column


def possible_duplicates(values: dict, *, patient_id: int | None = None, limit: int = 5) -> list[Patient]:
    """Patients who may be the same person: same name and date of birth, or the same email or
    phone number. `values` are cleaned (clean_values)."""
    same = []
    if values.get("first_name") and values.get("last_name") and values.get("date_of_birth"):
        same.append(and_(Patient.date_of_birth == values["date_of_birth"],
                         func.lower(Patient.first_name) == values["first_name"].lower(),
                         func.lower(Patient.last_name) == values["last_name"].lower()))
    if values.get("email"):
        same.append(Patient.email == values["email"])
    if values.get("phone") and len(phone_digits(values["phone"])) >= PHONE_DIGITS[0]:
        same.append(_digits_only(Patient.phone) == phone_digits(values["phone"]))
    if not same:
        return []
    query = select(Patient).where(or_(*same))
    if patient_id is not None:
        query = query.where(Patient.id != patient_id)
    return list(db.session.scalars(query.order_by(Patient.last_name, Patient.id).limit(limit)))


def _raise_first(errors: dict) -> None:
    if errors:
        field, message = next(iter(errors.items()))
        raise RuleError(message, field)


def record_consent(patient: Patient, *, now: datetime | None = None) -> None:
    """Consent to email reminders, timed now; a fresh consent also ends an earlier opt-out."""
    now = now or utcnow()
    patient.email_consent = True
    patient.consent_recorded_at = now
    patient.email_opt_out_at = None


def record_opt_out(patient: Patient, *, now: datetime) -> bool:
    """The patient opted out of email: kept with its time and honoured at once (their pending
    mail is skipped), whether staff or the patient's unsubscribe link recorded it.

    Returns False when the patient had already opted out (nothing changes).
    """
    if patient.email_opt_out_at is not None:
        return False
    patient.email_opt_out_at = now
    if patient.id is not None:
        db.session.execute(
            update(Reminder)
            .where(Reminder.patient_id == patient.id, Reminder.status == "pending")
            .values(status="skipped", skip_reason="opted out")
            .execution_options(synchronize_session=False)
        )
    return True


def withdraw_consent(patient: Patient) -> None:
    """No consent on file (a correction, not an opt-out)."""
    patient.email_consent = False
    patient.consent_recorded_at = None


def _apply_consent(patient: Patient, consent: bool, opt_out: bool, now: datetime) -> None:
    """Turn the two consent checkboxes into facts with their times."""
    if opt_out:
        # An opt-out already on file is kept as it is (the form shows no consent beside it).
        if record_opt_out(patient, now=now) and not consent:
            withdraw_consent(patient)
        return
    if consent and (not patient.email_consent or patient.email_opt_out_at is not None):
        record_consent(patient, now=now)
    elif not consent:
        withdraw_consent(patient)
        patient.email_opt_out_at = None


def create_patient(values: dict, *, actor, today: date, now: datetime | None = None) -> Patient:
    """Add a patient after checking the values; RuleError on the first bad field. Flushes."""
    values = clean_values(values)
    _raise_first(patient_problems(values, today=today))
    now = now or utcnow()
    patient = Patient(mrn=values["mrn"], first_name=values["first_name"],
                      last_name=values["last_name"], date_of_birth=values["date_of_birth"],
                      email=values["email"], phone=values["phone"], email_consent=False)
    _apply_consent(patient, values["email_consent"], values["email_opt_out"], now)
    db.session.add(patient)
    db.session.flush()
    audit.record(actor, entity="patient", entity_id=patient.id, patient_id=patient.id,
                 action="create", after=audit.snapshot(patient, PATIENT_FIELDS))
    log.info("patient %s created", patient.id)
    return patient


def update_patient(patient: Patient, values: dict, *, actor, today: date,
                   now: datetime | None = None) -> Patient:
    """Change a patient's demographics and consent; audit what changed. Flushes."""
    values = clean_values(values)
    _raise_first(patient_problems(values, today=today, patient_id=patient.id))
    before = audit.snapshot(patient, PATIENT_FIELDS)
    for name in ("mrn", "first_name", "last_name", "date_of_birth", "email", "phone"):
        setattr(patient, name, values[name])
    _apply_consent(patient, values["email_consent"], values["email_opt_out"], now or utcnow())
    db.session.flush()
    audit.record(actor, entity="patient", entity_id=patient.id, patient_id=patient.id,
                 action="update", before=before, after=audit.snapshot(patient, PATIENT_FIELDS))
    log.info("patient %s updated", patient.id)
    return patient
