"""Clinicians' course actions on the patient page: open a course, interval, mode, hold ..."""
from flask import abort, render_template, request, url_for

from ..extensions import db
from ..models import Course, Patient, Protocol, utcnow
from ..security import roles_required
from ..services import clinic
from ..services import courses as course_service
from ..services.clinic import get_settings
from .forms import (
    ConfirmForm, DischargeForm, HoldForm, IntervalForm, ModeForm, OpenCourseForm, SeriesPlannedForm,
)
from ..saving import acting_user, refused_status, save
from ..services.errors import expect_version
from .blueprint import bp
from .detail_page import offer_protocols, render_detail

# action -> (form class, form prefix, message after success). Prefixes keep the ids of the
# small forms on the patient page apart; one-button forms carry only the plain CSRF token.
COURSE_ACTIONS = {
    "interval": (IntervalForm, "interval", "Interval changed."),
    "mode": (ModeForm, "mode", "Maintenance mode changed."),
    "series_planned": (SeriesPlannedForm, "series", "Planned series changed."),
    "end_series": (ConfirmForm, None, "Series ended early; maintenance has started."),
    "hold": (HoldForm, "hold", "Course on hold."),
    "resume": (ConfirmForm, None, "Course resumed."),
    "restart": (ConfirmForm, None, "Series restarted as a new course."),
    "return_phase": (ConfirmForm, None, "Back to the earlier phase: the window follows its rule."),
    "next_phase": (ConfirmForm, None, "On to the next phase: the window follows its rule."),
}


@bp.post("/<int:patient_id>/courses")
@roles_required("clinician")
def open_course(patient_id: int):
    """Open a new course for the patient; empty numbers take the clinic defaults."""
    patient = db.get_or_404(Patient, patient_id)
    form = OpenCourseForm(prefix="open")
    offer_protocols(form)
    saved = save(form, lambda: course_service.open_course(
        patient, get_settings(), actor=acting_user(), opened_on=clinic.clinic_today(),
        indication=form.indication.data, series_planned=form.series_planned.data,
        min_days=form.min_days.data, max_days=form.max_days.data, mode=form.mode.data,
        protocol=db.session.get(Protocol, form.protocol_id.data)),
        message="Course opened.", to=url_for(".detail", patient_id=patient.id))
    if saved:
        return saved
    return render_detail(patient_id, status=400, submitted={"open": form}, failed_action="open")


def _course_of(patient_id: int, course_id: int) -> Course:
    course = db.get_or_404(Course, course_id)
    if course.patient_id != patient_id:
        abort(404)
    return course


def _apply_course_action(action: str, course: Course, form) -> None:
    """Call the course service that matches the action."""
    actor = acting_user()
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
        course_service.hold(course, actor=actor, reason=form.reason.data,
                            resume_on=form.resume_on.data, today=clinic.clinic_today())
    elif action == "resume":
        course_service.resume(course, actor=actor)
    elif action == "restart":
        course_service.restart_series(course, actor=actor, on=clinic.clinic_today(), settings=get_settings())
    elif action == "next_phase":
        course_service.advance_phase(course, actor=actor, today=clinic.clinic_today())
    elif action == "return_phase":
        course_service.return_to_previous_phase(course, actor=actor, today=clinic.clinic_today())


@bp.post("/<int:patient_id>/courses/<int:course_id>/<action>")
@roles_required("clinician")
def course_action(patient_id: int, course_id: int, action: str):
    """A clinician's course action: interval, mode, series size, end series, hold, discharge ..."""
    if action not in COURSE_ACTIONS:
        abort(404)
    course = _course_of(patient_id, course_id)
    form_class, prefix, message = COURSE_ACTIONS[action]
    form = form_class(prefix=prefix or "")

    def change() -> None:
        expect_version(course, form.version.data, "course")
        _apply_course_action(action, course, form)

    saved = save(form, change, message=message, to=url_for(".detail", patient_id=patient_id))
    if saved:
        return saved
    key = prefix or "confirm"
    if getattr(form, "stale", False):  # the page shows the course as saved now, not the stale form
        submitted = ConfirmForm(formdata=None)
        submitted.form_errors.extend(form.form_errors)
        return render_detail(patient_id, status=409, submitted={"confirm": submitted}, failed_action=action)
    return render_detail(patient_id, status=refused_status(form), submitted={key: form}, failed_action=action)


@bp.route("/<int:patient_id>/courses/<int:course_id>/discharge", methods=["GET", "POST"])
@roles_required("clinician")
def discharge(patient_id: int, course_id: int):
    """Confirm a discharge on its own page, with the reason: the course ends, its record stays."""
    course = _course_of(patient_id, course_id)
    patient = db.get_or_404(Patient, patient_id)
    form = DischargeForm(prefix="discharge")
    if request.method == "GET":
        form.version.data = str(course.version)
    if course.is_open:

        def change() -> None:
            expect_version(course, form.version.data, "course")
            course_service.discharge(course, actor=acting_user(), on=clinic.clinic_today(), reason=form.reason.data)

        saved = save(form, change, message="Discharged: the course has ended; no more windows or reminders for it.",
                     to=url_for(".detail", patient_id=patient_id))
        if saved:
            return saved
    status = refused_status(form) if request.method == "POST" else 200
    return render_template("patients/discharge.html", patient=patient, course=course, form=form,
                           now=utcnow()), status
