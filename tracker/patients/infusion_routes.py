"""Recording an infusion (directly or from an appointment) and marking one entered in error."""
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from .. import scheduling
from ..bounds import record_id
from ..extensions import db
from ..in_error_page import confirm_in_error
from ..models import Appointment, Course, Infusion, Patient, utcnow
from ..saving import acting_user, commit, put_error, refused_status
from ..security import roles_required
from ..services import appointments as appointment_service
from ..services import clinic
from ..services import courses as course_service
from ..services import infusions as infusion_service
from ..services.clinic import get_settings, local_to_utc
from ..services.errors import RuleError
from .blueprint import bp
from .forms import InfusionForm
from .sessions import session_messages


def _appointment_for(patient: Patient) -> Appointment | None:
    """The appointment named by ?appointment_id=, which must be this patient's (else 404)."""
    appointment_id = record_id(request.args.get("appointment_id"))
    if appointment_id is None:
        if request.args.get("appointment_id"):
            abort(404)
        return None
    appointment = db.get_or_404(Appointment, appointment_id)
    if appointment.patient_id != patient.id:
        abort(404)
    return appointment


def _appointment_problem(appointment: Appointment | None) -> str | None:
    """Why no session can be recorded against this appointment (the service's rule), or None."""
    if appointment is None:
        return None
    if db.session.scalar(select(Infusion.id).where(Infusion.appointment_id == appointment.id,
                                               Infusion.entered_in_error_at.is_(None)).limit(1)):
        return "An infusion is already recorded for that appointment."
    if appointment_service.can_complete(appointment):
        return None
    if appointment.status == "pending":
        return str(appointment_service.not_completable(appointment))
    label = appointment_service.STATUS_LABELS[appointment.status]
    return f"That appointment is {label}; record the infusion without it."


@bp.route("/<int:patient_id>/infusions/new", methods=["GET", "POST"])
@roles_required("clinician")
def record_infusion(patient_id: int):
    """Record one session on the open course; every field problem goes back on its field."""
    patient = db.get_or_404(Patient, patient_id)
    appointment = _appointment_for(patient)
    course = course_service.open_course_for(patient.id)
    settings = get_settings()
    zone = ZoneInfo(settings.timezone)
    form = InfusionForm()
    last = infusion_service.last_recorded(patient.id)
    if request.method == "GET":
        if appointment is not None:
            form.given_at.data = appointment.start_at.astimezone(zone).replace(tzinfo=None)
        else:  # a session is usually recorded as it happens: now, clinic time, to the minute
            form.given_at.data = utcnow().astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
        if last is not None:  # carried forward: the clinician checks them, rather than retyping
            form.weight_kg.data, form.dose_mg_per_kg.data = last.weight_kg, last.dose_mg_per_kg
    if course is None:
        form.form_errors.append("This patient has no open course: open a course first.")
    elif course.state not in ("series_in_progress", "maintenance") and not \
            course_service.hold_has_ended(course, clinic.clinic_today()):
        form.form_errors.append("The course is on hold: resume it before recording an infusion.")
    elif (problem := _appointment_problem(appointment)) is not None:
        form.form_errors.append(problem)
    elif request.method == "POST":
        previous_dose = last.dose_mg_per_kg if last is not None else None
        infusion = _record(form, patient, course, appointment, settings)
        if infusion is not None:
            for message, category in session_messages(infusion, course, previous_dose, settings):
                flash(message, category)
            return redirect(url_for(".detail", patient_id=patient.id), 303)
    status = refused_status(form) if request.method == "POST" else 200
    return render_template("patients/infusion_form.html", form=form, patient=patient, course=course,
                           appointment=appointment, settings=settings, last=last), status


def _record(form: InfusionForm, patient: Patient, course: Course, appointment, settings):
    """Validate everything at once, then record and commit; None with errors on the form."""
    valid = form.validate_on_submit()
    today = clinic.clinic_today()
    given_at = None
    if form.given_at.data is not None and not form.given_at.errors:
        try:
            given_at = local_to_utc(form.given_at.data, ZoneInfo(settings.timezone))
        except RuleError as error:
            put_error(form, error)
    if given_at is not None:
        # Clinic rules are checked on the values the form could read, so all problems show at once.
        values = {name: None if getattr(form, name).errors else value
                  for name, value in form.infusion_values().items()}
        values["given_on"] = scheduling.local_date(given_at, settings.timezone)
        problems = infusion_service.check_values(values, patient=patient, settings=settings, today=today)
        for name, message in problems.items():
            if not getattr(form, name).errors:
                put_error(form, RuleError(message, name))
    if not valid or given_at is None or form.errors:
        return None

    def change() -> Infusion:
        if course_service.hold_has_ended(course, today):  # the hold ran out: it ends now
            course_service.resume(course, actor=acting_user())
        infusion = infusion_service.record_infusion(
            course, actor=acting_user(), settings=settings, today=today, given_at=given_at,
            appointment_id=appointment.id if appointment else None, **form.infusion_values())
        if appointment is not None:
            appointment_service.fulfil_from_infusion(appointment, infusion, acting_user())
        return infusion

    saved = commit(form, change)
    return saved.result if saved else None


@bp.route("/<int:patient_id>/infusions/<int:infusion_id>/entered-in-error", methods=["GET", "POST"])
@roles_required("clinician")
def infusion_in_error(patient_id: int, infusion_id: int):
    """Confirm, with a reason, that an infusion was entered in error: the row stays, struck out,
    and the course's window returns to what it was without it."""
    infusion = db.get_or_404(Infusion, infusion_id)
    if infusion.patient_id != patient_id:
        abort(404)
    return confirm_in_error(
        infusion, noun="infusion", mark=infusion_service.mark_in_error,
        problem=infusion_service.in_error_problem(infusion),
        template="patients/infusion_in_error.html",
        page={"patient": db.get_or_404(Patient, patient_id), "infusion": infusion},
        message="Marked as entered in error; it no longer counts and the course dates were recalculated.",
        to=url_for(".detail", patient_id=patient_id))
