"""Routes of the patients area: find, add and edit patients; the patient page; clinical actions."""
import logging
import re
from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import scheduling
from ..extensions import db
from ..models import OPEN_STATES, Appointment, Course, Infusion, Patient
from ..security import roles_required
from ..services import courses as course_service
from ..services import infusions as infusion_service
from ..services import patients as patient_service
from ..services.clinic import clinic_today, get_settings, local_to_utc
from ..services.errors import RuleError
from . import charts
from .forms import (
    ConfirmForm, DischargeForm, HoldForm, InfusionForm, IntervalForm, ModeForm, OpenCourseForm,
    PatientForm, SeriesPlannedForm,
)

bp = Blueprint("patients", __name__, url_prefix="/patients")
log = logging.getLogger(__name__)

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_SEARCH_TERMS = 4
CLOSED_APPOINTMENT_STATUSES = ("cancelled", "noshow", "entered-in-error")

# action -> (form class, form prefix, message after success). Prefixes keep the ids of the
# small forms on the patient page apart; one-button forms carry only the plain CSRF token.
COURSE_ACTIONS = {
    "interval": (IntervalForm, "interval", "Interval changed."),
    "mode": (ModeForm, "mode", "Maintenance mode changed."),
    "series_planned": (SeriesPlannedForm, "series", "Planned series changed."),
    "end_series": (ConfirmForm, None, "Series ended early; maintenance has started."),
    "hold": (HoldForm, "hold", "Course on hold."),
    "resume": (ConfirmForm, None, "Course resumed."),
    "discharge": (DischargeForm, "discharge", "Patient discharged from the course."),
    "restart": (ConfirmForm, None, "Series restarted as a new course."),
}


def _actor():
    return current_user._get_current_object()


def _put_error(form, error: RuleError) -> None:
    """A service's RuleError back on its form field, or on the form as a whole."""
    target = getattr(form, error.field, None) if error.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, str(error)]
    else:
        form.form_errors.append(str(error))


def _search(statement, q: str):
    """Narrow the patients select by a typed date of birth, an MRN, or name beginnings."""
    if ISO_DATE.match(q):
        try:
            return statement.where(Patient.date_of_birth == date.fromisoformat(q)), None
        except ValueError:
            return None, "That is not a valid date; type a date of birth as YYYY-MM-DD."
    terms = q.split()[:MAX_SEARCH_TERMS]
    by_name = and_(*(or_(Patient.first_name.istartswith(term, autoescape=True),
                         Patient.last_name.istartswith(term, autoescape=True)) for term in terms))
    by_mrn = or_(Patient.mrn == q, Patient.mrn.istartswith(q, autoescape=True))
    return statement.where(or_(by_mrn, by_name)), None


@bp.get("/")
@login_required
def index():
    """Find a patient by name, MRN or date of birth; one page at a time."""
    q = " ".join((request.args.get("q") or "").split())[:100]
    statement = select(Patient).options(selectinload(Patient.courses))
    search_error = None
    if q:
        statement, search_error = _search(statement, q)
    page = None
    if statement is not None:
        statement = statement.order_by(Patient.last_name, Patient.first_name, Patient.id)
        page = db.paginate(statement, per_page=current_app.config.get("PAGE_SIZE", 50),
                           max_per_page=100, error_out=False)
    settings, today = get_settings(), clinic_today()
    rows = []
    for patient in page.items if page is not None else []:
        course = next((c for c in patient.courses if c.state in OPEN_STATES), None)
        rows.append((patient, course, charts.course_view(course, settings, today).status if course else None))
    return render_template("patients/index.html", q=q, page=page, rows=rows,
                           search_error=search_error, status_labels=charts.STATUS_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Add a patient; field errors keep what was typed and save nothing."""
    form = PatientForm()
    if form.validate_on_submit():
        patient = _save_patient(form, None)
        if patient is not None:
            flash("Patient added.", "success")
            return redirect(url_for(".detail", patient_id=patient.id), 303)
    return render_template("patients/form.html", form=form, patient=None), 400 if form.errors else 200


@bp.route("/<int:patient_id>/edit", methods=["GET", "POST"])
@login_required
def edit(patient_id: int):
    """Edit a patient's demographics and email consent; every change is audited."""
    patient = db.get_or_404(Patient, patient_id)
    form = PatientForm(obj=patient)
    if request.method == "GET":
        form.email_opt_out.data = patient.email_opt_out_at is not None
    if form.validate_on_submit():
        if _save_patient(form, patient) is not None:
            flash("Patient saved.", "success")
            return redirect(url_for(".detail", patient_id=patient.id), 303)
    return render_template("patients/form.html", form=form, patient=patient), 400 if form.errors else 200


def _save_patient(form: PatientForm, patient: Patient | None) -> Patient | None:
    """Create or update through the service and commit; None with errors put on the form."""
    values = form.patient_values()
    today = clinic_today()
    problems = patient_service.patient_problems(
        patient_service.clean_values(values), today=today,
        patient_id=patient.id if patient else None)
    for name, message in problems.items():
        _put_error(form, RuleError(message, name))
    if problems:
        return None
    try:
        if patient is None:
            patient = patient_service.create_patient(values, actor=_actor(), today=today)
        else:
            patient = patient_service.update_patient(patient, values, actor=_actor(), today=today)
        db.session.commit()
    except RuleError as error:
        db.session.rollback()
        _put_error(form, error)
        return None
    except IntegrityError:  # another user saved the same MRN a moment earlier
        db.session.rollback()
        _put_error(form, RuleError("Another patient already has this MRN.", "mrn"))
        return None
    return patient


def _load_patient(patient_id: int) -> Patient:
    """The patient with every course and infusion, in three statements whatever their number."""
    return db.one_or_404(
        select(Patient).where(Patient.id == patient_id)
        .options(selectinload(Patient.courses).selectinload(Course.infusions))
        .execution_options(populate_existing=True)
    )


def _page_forms(course: Course | None, settings, submitted: dict) -> dict:
    """The clinician's forms on the patient page: the submitted one keeps its data and errors."""
    def make(key, form_class, prefix=None, **data):
        if key in submitted:
            return submitted[key]
        return form_class(formdata=None, prefix=prefix or "", data=data)

    forms = {
        "open": make("open", OpenCourseForm, "open", series_planned=settings.default_series_planned,
                     min_days=settings.default_min_days, max_days=settings.default_max_days,
                     mode="scheduled"),
        "confirm": make("confirm", ConfirmForm),
    }
    if course is not None:
        forms.update(
            interval=make("interval", IntervalForm, "interval", min_days=course.min_days,
                          max_days=course.max_days),
            mode=make("mode", ModeForm, "mode", mode=course.mode),
            series=make("series", SeriesPlannedForm, "series", series_planned=course.series_planned),
            hold=make("hold", HoldForm, "hold"),
            discharge=make("discharge", DischargeForm, "discharge"),
        )
    return forms


def _render_detail(patient_id: int, *, status: int = 200, submitted: dict | None = None,
                   failed_action: str | None = None):
    """The patient page; after a refused POST, the submitted form shows its errors."""
    patient = _load_patient(patient_id)
    settings, today = get_settings(), clinic_today()
    failed_messages = [f"{form[name].label.text}: {message}" if name else message
                       for form in (submitted or {}).values()
                       for name, messages in form.errors.items() for message in messages]
    open_course = next((c for c in patient.courses if c.state in OPEN_STATES), None)
    earlier = [c for c in reversed(patient.courses) if c is not open_course]
    view = charts.course_view(open_course, settings, today) if open_course else None
    line = None
    if view is not None and view.window is not None:
        line = charts.timeline(view.window, today, view.lapsed_from,
                               [i.given_on for i in open_course.infusions if i.qualifies])
    infusions = sorted((i for c in patient.courses for i in c.infusions),
                       key=lambda i: i.given_at, reverse=True)
    return render_template(
        "patients/detail.html", patient=patient, open_course=open_course, view=view,
        timeline=line, earlier=earlier, infusions=infusions, today=today,
        zone=ZoneInfo(settings.timezone), pain=charts.pain_chart(infusions),
        forms=_page_forms(open_course, settings, submitted or {}), failed_action=failed_action,
        failed_messages=failed_messages,
        status_labels=charts.STATUS_LABELS, settings=settings,
    ), status


@bp.get("/<int:patient_id>")
@login_required
def detail(patient_id: int):
    """The patient, the current course with its status and window, infusions, pain chart."""
    return _render_detail(patient_id)


@bp.post("/<int:patient_id>/courses")
@roles_required("clinician")
def open_course(patient_id: int):
    """Open a new course for the patient; empty numbers take the clinic defaults."""
    patient = db.get_or_404(Patient, patient_id)
    form = OpenCourseForm(prefix="open")
    if form.validate_on_submit():
        try:
            course_service.open_course(
                patient, get_settings(), actor=_actor(), opened_on=clinic_today(),
                indication=form.indication.data, series_planned=form.series_planned.data,
                min_days=form.min_days.data, max_days=form.max_days.data, mode=form.mode.data)
            db.session.commit()
            flash("Course opened.", "success")
            return redirect(url_for(".detail", patient_id=patient.id), 303)
        except RuleError as error:
            db.session.rollback()
            _put_error(form, error)
    return _render_detail(patient_id, status=400, submitted={"open": form}, failed_action="open")


def _course_of(patient_id: int, course_id: int) -> Course:
    course = db.get_or_404(Course, course_id)
    if course.patient_id != patient_id:
        abort(404)
    return course


def _apply_course_action(action: str, course: Course, form) -> None:
    """Call the course service that matches the action."""
    actor = _actor()
    if action == "interval":
        course_service.set_interval(course, actor=actor, min_days=form.min_days.data,
                                    max_days=form.max_days.data)
    elif action == "mode":
        course_service.set_mode(course, actor=actor, mode=form.mode.data)
    elif action == "series_planned":
        course_service.set_series_planned(course, actor=actor, series_planned=form.series_planned.data)
    elif action == "end_series":
        course_service.end_series_early(course, actor=actor)
    elif action == "hold":
        course_service.hold(course, actor=actor, reason=form.reason.data)
    elif action == "resume":
        course_service.resume(course, actor=actor)
    elif action == "discharge":
        course_service.discharge(course, actor=actor, on=clinic_today(), reason=form.reason.data)
    elif action == "restart":
        course_service.restart_series(course, actor=actor, on=clinic_today(), settings=get_settings())


@bp.post("/<int:patient_id>/courses/<int:course_id>/<action>")
@roles_required("clinician")
def course_action(patient_id: int, course_id: int, action: str):
    """A clinician's course action: interval, mode, series size, end series, hold, discharge ..."""
    if action not in COURSE_ACTIONS:
        abort(404)
    course = _course_of(patient_id, course_id)
    form_class, prefix, message = COURSE_ACTIONS[action]
    form = form_class(prefix=prefix or "")
    if form.validate_on_submit():
        try:
            _apply_course_action(action, course, form)
            db.session.commit()
            flash(message, "success")
            return redirect(url_for(".detail", patient_id=patient_id), 303)
        except RuleError as error:
            db.session.rollback()
            _put_error(form, error)
    key = prefix or "confirm"
    return _render_detail(patient_id, status=400, submitted={key: form}, failed_action=action)


def _appointment_for(patient: Patient) -> Appointment | None:
    """The appointment named by ?appointment_id=, which must be this patient's (else 404)."""
    appointment_id = request.args.get("appointment_id", type=int)
    if appointment_id is None:
        if request.args.get("appointment_id"):
            abort(404)
        return None
    appointment = db.get_or_404(Appointment, appointment_id)
    if appointment.patient_id != patient.id:
        abort(404)
    return appointment


def _fulfil(appointment: Appointment, infusion: Infusion) -> None:
    """Let the booking service mark the appointment fulfilled, when that service exists."""
    try:
        from ..services import appointments as appointment_service
    except ImportError:
        return
    fulfil = getattr(appointment_service, "fulfil_from_infusion", None)
    if fulfil is not None:
        fulfil(appointment, infusion, _actor())


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
    if request.method == "GET" and appointment is not None:
        form.given_at.data = appointment.start_at.astimezone(zone).replace(tzinfo=None)
    if course is None:
        form.form_errors.append("This patient has no open course: open a course first.")
    elif course.state not in ("series_in_progress", "maintenance"):
        form.form_errors.append("The course is on hold: resume it before recording an infusion.")
    elif request.method == "POST":
        infusion = _record(form, patient, course, appointment, settings)
        if infusion is not None:
            total = f" Total dose {infusion.total_mg} mg." if infusion.total_mg is not None else ""
            flash(f"Infusion recorded.{total}", "success")
            return redirect(url_for(".detail", patient_id=patient.id), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("patients/infusion_form.html", form=form, patient=patient, course=course,
                           appointment=appointment, settings=settings, zone=zone), status


def _record(form: InfusionForm, patient: Patient, course: Course, appointment, settings):
    """Validate everything at once, then record and commit; None with errors on the form."""
    valid = form.validate_on_submit()
    today = clinic_today()
    given_at = None
    if form.given_at.data is not None and not form.given_at.errors:
        try:
            given_at = local_to_utc(form.given_at.data, ZoneInfo(settings.timezone))
        except RuleError as error:
            _put_error(form, error)
    if given_at is not None:
        # Clinic rules are checked on the values the form could read, so all problems show at once.
        values = {name: None if getattr(form, name).errors else value
                  for name, value in form.infusion_values().items()}
        values["given_on"] = scheduling.local_date(given_at, settings.timezone)
        problems = infusion_service.check_values(values, patient=patient, settings=settings, today=today)
        for name, message in problems.items():
            if not getattr(form, name).errors:
                _put_error(form, RuleError(message, name))
    if appointment is not None:
        if appointment.status in CLOSED_APPOINTMENT_STATUSES:
            form.form_errors.append(f"That appointment is {appointment.status}; record the infusion without it.")
        elif db.session.scalar(select(Infusion.id).where(Infusion.appointment_id == appointment.id).limit(1)):
            form.form_errors.append("An infusion is already recorded for that appointment.")
    if not valid or given_at is None or form.errors:
        return None
    try:
        infusion = infusion_service.record_infusion(
            course, actor=_actor(), settings=settings, today=today, given_at=given_at,
            appointment_id=appointment.id if appointment else None, **form.infusion_values())
        if appointment is not None:
            _fulfil(appointment, infusion)
        db.session.commit()
    except RuleError as error:
        db.session.rollback()
        _put_error(form, error)
        return None
    return infusion


@bp.post("/<int:patient_id>/infusions/<int:infusion_id>/delete")
@roles_required("clinician")
def delete_infusion(patient_id: int, infusion_id: int):
    """Remove an infusion entered in error; the course re-anchors."""
    infusion = db.get_or_404(Infusion, infusion_id)
    if infusion.patient_id != patient_id:
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if infusion.course.state not in ("series_in_progress", "maintenance", "on_hold"):
        flash("That infusion belongs to a closed course and cannot be removed.", "error")
        return redirect(url_for(".detail", patient_id=patient_id), 303)
    infusion_service.remove_infusion(infusion, actor=_actor())
    db.session.commit()
    flash("Infusion removed; the course dates were recalculated.", "success")
    return redirect(url_for(".detail", patient_id=patient_id), 303)
