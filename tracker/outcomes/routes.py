"""Recording outcome measures for a patient (clinicians) and striking one out."""

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, request, url_for

from .. import scheduling
from ..bounds import record_id
from ..extensions import db
from ..in_error_page import confirm_in_error
from ..models import Infusion, OutcomeMeasure, Patient, utcnow
from ..saving import acting_user, put_error, refused_status, save
from ..security import roles_required
from ..services import clinic
from ..services import courses as course_service
from ..services.clinic import get_settings, local_to_utc
from ..services.errors import RuleError
from . import service as outcomes
from .forms import FORMS
from .instruments import INSTRUMENTS, score

bp = Blueprint("outcomes", __name__, url_prefix="/patients")


def _session_of(patient: Patient) -> Infusion | None:
    """The session named by ?infusion_id= (a measure taken in the chair), which must be this
    patient's (else 404)."""
    raw = request.args.get("infusion_id")
    if not raw:
        return None
    infusion_id = record_id(raw)
    infusion = db.session.get(Infusion, infusion_id) if infusion_id else None
    if infusion is None or infusion.patient_id != patient.id:
        abort(404)
    return infusion


@bp.route("/<int:patient_id>/outcomes/<instrument>/new", methods=["GET", "POST"])
@roles_required("clinician")
def record(patient_id: int, instrument: str):
    """Record one instrument's answers; an unanswered item leaves the measure incomplete."""
    patient = db.get_or_404(Patient, patient_id)
    found = INSTRUMENTS.get(instrument)
    if found is None:
        abort(404)
    session = _session_of(patient)
    settings = get_settings()
    zone = ZoneInfo(settings.timezone)
    form = FORMS[instrument]()
    if request.method == "GET":
        form.taken_at.data = utcnow().astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    taken_at = None
    if form.validate_on_submit():
        try:
            taken_at = local_to_utc(form.taken_at.data, zone, "taken_at")
        except RuleError as error:
            put_error(form, error)
    if taken_at is not None:
        course = course_service.open_course_for(patient.id)

        def change():
            return outcomes.record_measure(
                patient,
                actor=acting_user(),
                instrument=instrument,
                answers=form.answers(),
                taken_at=taken_at,
                taken_on=scheduling.local_date(taken_at, settings.timezone),
                today=clinic.clinic_today(),
                source=form.source.data,
                course_id=session.course_id if session else course.id if course else None,
                infusion_id=session.id if session else None,
            )

        def message(measure: OutcomeMeasure) -> str:
            if measure.score is None:
                missing = ", ".join(str(n) for n in score(found, measure.answers).missing)
                return (
                    f"{found.name} saved as incomplete: item {missing} not answered, so no score."
                )
            band = f" ({measure.band})" if measure.band else ""
            return f"{found.name} saved: score {measure.score_text}{band}."

        response = save(
            form,
            change,
            message=message,
            validate=False,
            to=url_for("patients.detail", patient_id=patient.id) + "#outcomes",
        )
        if response is not None:
            return response
    status = refused_status(form) if request.method == "POST" else 200
    return render_template(
        "outcomes/record.html",
        patient=patient,
        instrument=found,
        form=form,
        instruments=INSTRUMENTS,
        session=session,
    ), status


@bp.route("/<int:patient_id>/outcomes/<int:measure_id>/entered-in-error", methods=["GET", "POST"])
@roles_required("clinician")
def measure_in_error(patient_id: int, measure_id: int):
    """Confirm, with a reason, that a measure was entered in error: it stays, struck out."""
    patient = db.get_or_404(Patient, patient_id)
    measure = db.get_or_404(OutcomeMeasure, measure_id)
    if measure.patient_id != patient.id:
        abort(404)
    return confirm_in_error(
        measure,
        noun="measure",
        mark=outcomes.mark_in_error,
        template="outcomes/measure_in_error.html",
        page={
            "patient": patient,
            "measure": measure,
            "instrument": INSTRUMENTS[measure.instrument],
        },
        message="Marked as entered in error; it stays on record, struck out.",
        to=url_for("patients.detail", patient_id=patient.id) + "#outcomes",
    )
