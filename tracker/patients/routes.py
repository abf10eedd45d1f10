"""Routes of the patients area: find, add and edit patients, and the patient page."""
import logging
from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..formatting import request_style
from ..models import OPEN_STATES, Patient
from ..saving import acting_user, commit, put_error, refused_status
from ..services import clinic, search
from ..services import patients as patient_service
from ..services.clinic import get_settings
from ..services.errors import RuleError, expect_version
from ..vocabulary import MAINTENANCE_STATUS
from . import charts
from .blueprint import bp
from .detail_page import render_detail
from .forms import PatientForm

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


@bp.get("/<int:patient_id>")
@login_required
def detail(patient_id: int):
    """The patient, the current course with its status and window, infusions, pain chart."""
    return render_detail(patient_id)

