"""Routes of the patients area: find, add and edit patients, and the patient page.

The clinicians' routes (course actions, infusions) are in course_routes.py and infusion_routes.py,
registered on the same blueprint.
"""
import logging
from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..formatting import request_style
from ..models import OPEN_STATES, Course, Patient, Protocol
from ..saving import acting_user, commit, put_error, refused_status
from ..services import clinic, search
from ..services import protocols as protocol_service
from ..services import patients as patient_service
from ..services.clinic import get_settings
from ..services.errors import RuleError, expect_version
from ..vocabulary import MAINTENANCE_STATUS
from ..monitoring.summary import sheet_summaries
from ..rems.service import is_on as rems_on
from ..rems.summary import form_summaries
from ..outcomes import charts as outcome_charts
from ..outcomes import service as outcome_service
from ..outcomes.forms import STAFF_SOURCES
from ..outcomes.instruments import INSTRUMENTS
from . import charts
from .minimum import sees_clinical, session_rows
from .forms import (
    ConfirmForm, HoldForm, IntervalForm, ModeForm, OpenCourseForm, PatientForm,
    SeriesPlannedForm,
)

bp = Blueprint("patients", __name__, url_prefix="/patients")
log = logging.getLogger(__name__)


@bp.get("/")
@login_required
def index():
    """Every patient, or those the search finds (services/search.py); one page at a time."""
    settings, today = get_settings(), clinic.clinic_today()
    query = search.parse(request.args.get("q"), date_order=settings.date_order, today=today)
    if query.text:
        statement = search.patients_statement(query)
    else:
        statement = select(Patient).order_by(Patient.last_name, Patient.first_name, Patient.id)
    page = None
    if statement is not None:
        page = db.paginate(statement.options(selectinload(Patient.courses)),
                           per_page=current_app.config.get("PAGE_SIZE", 50),
                           max_per_page=100, error_out=False)
    rows = []
    for patient in page.items if page is not None else []:
        course = next((c for c in patient.courses if c.state in OPEN_STATES), None)
        rows.append((patient, course, charts.course_view(course, settings, today).status if course else None))
    return render_template("patients/index.html", q=query.text, page=page, rows=rows,
                           search_error=query.problem, status_labels=MAINTENANCE_STATUS)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Add a patient; field errors keep what was typed and save nothing."""
    form = PatientForm()
    duplicates = []
    if form.validate_on_submit():
        if not form.add_anyway.data:
            duplicates = patient_service.possible_duplicates(patient_service.clean_values(form.patient_values()))
        patient = None if duplicates else _save_patient(form, None)
        if patient is not None:
            flash("Patient added.", "success")
            return redirect(url_for(".detail", patient_id=patient.id), 303)
    return render_template("patients/form.html", form=form, patient=None,
                           duplicates=duplicates), 400 if form.errors else 200


@bp.route("/<int:patient_id>/edit", methods=["GET", "POST"])
@login_required
def edit(patient_id: int):
    """Edit a patient's demographics and email consent; every change is audited."""
    patient = db.get_or_404(Patient, patient_id)
    form = PatientForm(obj=patient)
    if request.method == "GET":
        form.email_opt_out.data = patient.email_opt_out_at is not None
        form.email_consent.data = patient.email_consent and patient.email_opt_out_at is None
    if form.validate_on_submit():
        if _save_patient(form, patient) is not None:
            flash("Patient saved.", "success")
            return redirect(url_for(".detail", patient_id=patient.id), 303)
        if getattr(form, "stale", False):
            _show_saved_values(form, patient)
    status = refused_status(form) if form.errors else 200
    return render_template("patients/form.html", form=form, patient=patient), status


def _show_saved_values(form: PatientForm, patient: Patient) -> None:
    """After a stale edit: what is saved now, beside each field that differs, and the current
    version on the form so that saving again (after checking) goes through."""
    for name in ("mrn", "first_name", "last_name", "date_of_birth", "email", "phone"):
        saved, typed = getattr(patient, name), form[name].data
        if (saved or None) != (typed.strip() if isinstance(typed, str) else typed or None):
            shown = request_style().day(saved) if isinstance(saved, date) else saved or "nothing"
            put_error(form, RuleError(f"Saved meanwhile: {shown}.", name))
    form.version.data = str(patient.version)


def _save_patient(form: PatientForm, patient: Patient | None) -> Patient | None:
    """Create or update through the service and commit; None with errors put on the form."""
    values = form.patient_values()
    today = clinic.clinic_today()
    problems = patient_service.patient_problems(
        patient_service.clean_values(values), today=today,
        patient_id=patient.id if patient else None)
    for name, message in problems.items():
        put_error(form, RuleError(message, name))
    if problems:
        return None

    def change() -> Patient:
        if patient is None:
            return patient_service.create_patient(values, actor=acting_user(), today=today)
        expect_version(patient, form.version.data, "patient")
        return patient_service.update_patient(patient, values, actor=acting_user(), today=today)

    # A unique MRN taken by another user a moment earlier comes back from the database.
    saved = commit(form, change, on_duplicate=RuleError("Another patient already has this MRN.", "mrn"))
    return saved.result if saved else None


def _load_patient(patient_id: int) -> Patient:
    """The patient with every course and infusion, in three statements whatever their number."""
    return db.one_or_404(
        select(Patient).where(Patient.id == patient_id)
        .options(selectinload(Patient.courses).selectinload(Course.infusions),
                 selectinload(Patient.courses).selectinload(Course.protocol)
                 .selectinload(Protocol.phases))
        .execution_options(populate_existing=True)
    )


def _page_forms(course: Course | None, settings, submitted: dict) -> dict:
    """The clinician's forms on the patient page: the submitted one keeps its data and errors."""
    def make(key, form_class, prefix=None, **data):
        if key in submitted:
            return submitted[key]
        return form_class(formdata=None, prefix=prefix or "", data=data)

    forms = {"confirm": make("confirm", ConfirmForm)}
    if course is None:
        forms["open"] = make("open", OpenCourseForm, "open",
                             series_planned=settings.default_series_planned,
                             min_days=settings.default_min_days,
                             max_days=settings.default_max_days, mode="scheduled")
        offer_protocols(forms["open"])
    else:
        version = course.version
        forms.update(
            interval=make("interval", IntervalForm, "interval", min_days=course.min_days,
                          max_days=course.max_days, version=version),
            mode=make("mode", ModeForm, "mode", mode=course.mode, version=version),
            series=make("series", SeriesPlannedForm, "series", series_planned=course.series_planned,
                        version=version),
            hold=make("hold", HoldForm, "hold", version=version),
        )
    return forms


def offer_protocols(form: OpenCourseForm) -> None:
    """The open-course form's protocol choices: the active templates, the standard one first
    and chosen unless another was."""
    choices = protocol_service.active_protocols()
    form.protocol_id.choices = {p.id: p.name for p in choices}
    if form.protocol_id.data is None and choices:
        form.protocol_id.data = choices[0].id


def render_detail(patient_id: int, *, status: int = 200, submitted: dict | None = None,
                   failed_action: str | None = None):
    """The patient page; after a refused POST, the submitted form shows its errors."""
    patient = _load_patient(patient_id)
    settings, today = get_settings(), clinic.clinic_today()
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
    infusions = [i for c in patient.courses for i in c.infusions]
    clinical = sees_clinical(acting_user())
    return render_template(
        "patients/detail.html", patient=patient, open_course=open_course, view=view,
        timeline=line, earlier=earlier,
        sessions=session_rows(infusions, clinical=clinical,
                              monitoring=sheet_summaries(patient.id) if clinical else None,
                              rems=form_summaries(patient.id, today=today, zone=clinic.clinic_zone())
                              if clinical else None),
        rems_on=rems_on(open_course) if clinical and open_course else False,
        clinical=clinical, today=today,
        phase=protocol_service.phase_summary(open_course, today) if clinical and open_course
        else None,
        pain=charts.pain_chart([i for i in infusions if not i.in_error]) if clinical else None,
        # Outcome scores are clinical values: the front desk's page is built without them.
        outcomes=outcome_charts.histories(
            outcome_service.measures_of(patient.id), [i.given_on for i in infusions if i.qualifies]
        )
        if clinical
        else None,
        outcome_instruments=INSTRUMENTS, outcome_sources=STAFF_SOURCES,
        forms=_page_forms(open_course, settings, submitted or {}), failed_action=failed_action,
        failed_messages=failed_messages,
        status_labels=MAINTENANCE_STATUS, settings=settings,
    ), status


@bp.get("/<int:patient_id>")
@login_required
def detail(patient_id: int):
    """The patient, the current course with its status and window, infusions, pain chart."""
    return render_detail(patient_id)


# The clinical routes live beside this module and register themselves on `bp`.
from . import course_routes, infusion_routes  # noqa: E402,F401
