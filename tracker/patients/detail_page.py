"""The patient page: the patient with every course and infusion, the open course's window and
timeline, the sessions, charts and the clinician's forms (after a refused POST, with its errors)."""

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..check_ins.decisions import due_rows, relief_summary
from ..extensions import db
from ..models import OPEN_STATES, Course, Patient, Protocol
from ..monitoring.summary import sheet_summaries
from ..outcomes import charts as outcome_charts
from ..outcomes import service as outcome_service
from ..outcomes.forms import STAFF_SOURCES
from ..outcomes.instruments import INSTRUMENTS
from ..rems.service import is_on as rems_on
from ..rems.summary import form_summaries
from ..saving import acting_user
from ..services import clinic
from ..services import protocols as protocol_service
from ..services.clinic import get_settings
from ..vocabulary import MAINTENANCE_STATUS
from . import charts
from .forms import ConfirmForm, HoldForm, IntervalForm, ModeForm, OpenCourseForm, SeriesPlannedForm
from .minimum import sees_clinical, session_rows


def load_patient(patient_id: int) -> Patient:
    """The patient with every course and infusion, in three statements whatever their number."""
    return db.one_or_404(
        select(Patient)
        .where(Patient.id == patient_id)
        .options(
            selectinload(Patient.courses).selectinload(Course.infusions),
            selectinload(Patient.courses)
            .selectinload(Course.protocol)
            .selectinload(Protocol.phases),
        )
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
        forms["open"] = make(
            "open",
            OpenCourseForm,
            "open",
            series_planned=settings.default_series_planned,
            min_days=settings.default_min_days,
            max_days=settings.default_max_days,
            mode="scheduled",
        )
        offer_protocols(forms["open"])
    else:
        version = course.version
        forms.update(
            interval=make(
                "interval",
                IntervalForm,
                "interval",
                min_days=course.min_days,
                max_days=course.max_days,
                version=version,
            ),
            mode=make("mode", ModeForm, "mode", mode=course.mode, version=version),
            series=make(
                "series",
                SeriesPlannedForm,
                "series",
                series_planned=course.series_planned,
                version=version,
            ),
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


def render_detail(
    patient_id: int,
    *,
    status: int = 200,
    submitted: dict | None = None,
    failed_action: str | None = None,
):
    """The patient page; after a refused POST, the submitted form shows its errors."""
    patient = load_patient(patient_id)
    settings, today = get_settings(), clinic.clinic_today()
    failed_messages = [
        f"{form[name].label.text}: {message}" if name else message
        for form in (submitted or {}).values()
        for name, messages in form.errors.items()
        for message in messages
    ]
    open_course = next((c for c in patient.courses if c.state in OPEN_STATES), None)
    earlier = [c for c in reversed(patient.courses) if c is not open_course]
    view = charts.course_view(open_course, settings, today) if open_course else None
    line = None
    # A window always has its lapse day; both are None together when there is no anchor yet.
    if open_course and view and view.window is not None and view.lapsed_from is not None:
        line = charts.timeline(
            view.window,
            today,
            view.lapsed_from,
            [i.given_on for i in open_course.infusions if i.qualifies],
        )
    infusions = [i for c in patient.courses for i in c.infusions]
    clinical = sees_clinical(acting_user())
    measures = outcome_service.measures_of(patient.id) if clinical else []
    return render_template(
        "patients/detail.html",
        patient=patient,
        open_course=open_course,
        view=view,
        timeline=line,
        earlier=earlier,
        sessions=session_rows(
            infusions,
            clinical=clinical,
            monitoring=sheet_summaries(patient.id) if clinical else None,
            rems=form_summaries(patient.id, today=today, zone=clinic.clinic_zone())
            if clinical
            else None,
        ),
        rems_on=rems_on(open_course) if clinical and open_course else False,
        clinical=clinical,
        today=today,
        phase=protocol_service.phase_summary(open_course, today)
        if clinical and open_course
        else None,
        pain=charts.pain_chart([i for i in infusions if not i.in_error]) if clinical else None,
        # Outcome scores are clinical values: the front desk's page is built without them.
        outcomes=outcome_charts.histories(measures, [i.given_on for i in infusions if i.qualifies])
        if clinical
        else None,
        clinically_due=due_rows(patient.id, clinical=clinical),
        relief=relief_summary(open_course, measures) if clinical else None,
        outcome_instruments=INSTRUMENTS,
        outcome_sources=STAFF_SOURCES,
        forms=_page_forms(open_course, settings, submitted or {}),
        failed_action=failed_action,
        failed_messages=failed_messages,
        status_labels=MAINTENANCE_STATUS,
        settings=settings,
    ), status
