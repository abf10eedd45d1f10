"""Routes of the check-ins area: the clinic's check-in settings (admins), and a clinician
accepting or dismissing a clinically-due entry (from the worklist or the patient page)."""

from flask import Blueprint, render_template, request, url_for

from ..extensions import db
from ..models import ClinicallyDue, Patient, utcnow
from ..saving import acting_user, refused_status, save
from ..security import local_path, roles_required
from ..services.errors import expect_version
from ..vocabulary import DUE_REASON
from . import decisions
from . import settings as check_in_settings
from .forms import MAX_DAY_HINT, AcceptForm, CheckInSettingsForm, DismissForm

bp = Blueprint("check_ins", __name__, url_prefix="/check-ins")


@bp.route("/settings", methods=["GET", "POST"])
@roles_required("admin")
def settings():
    """When check-in links go out, what they ask, and the clinically-due rules."""
    current = check_in_settings.get_check_in_settings()
    form = CheckInSettingsForm(obj=current if request.method == "GET" else None)
    if request.method == "GET":
        form.instruments.data = list(check_in_settings.chosen_instruments(current))
        form.days.data = ", ".join(str(day) for day in check_in_settings.schedule_days(current))
    response = save(
        form,
        lambda: check_in_settings.update_settings(acting_user(), form.settings_values()),
        message="Check-in settings saved.",
        to=url_for(".settings"),
    )
    if response is not None:
        return response
    status = refused_status(form) if form.errors else 200
    return render_template("check_ins/settings.html", form=form, days_hint=MAX_DAY_HINT), status


def _entry(due_id: int) -> ClinicallyDue:
    return db.get_or_404(ClinicallyDue, due_id)


def _back(form) -> str:
    return local_path(form.next.data) or url_for("worklist.index") + "#clinically-due"


@bp.post("/due/<int:due_id>/accept")
@roles_required("clinician")
def accept(due_id: int):
    """Accept: the patient is due now, until their next session."""
    entry = _entry(due_id)
    form = AcceptForm()
    back = _back(form)

    def change():
        expect_version(entry, form.version.data, "entry")
        return decisions.accept(entry, actor=acting_user(), now=utcnow())

    patient = db.get_or_404(Patient, entry.patient_id)
    return save(
        form,
        change,
        message=f"{patient.full_name} is due now, until their next session.",
        to=back,
        refused_to=back,
    )


@bp.route("/due/<int:due_id>/dismiss", methods=["GET", "POST"])
@roles_required("clinician")
def dismiss(due_id: int):
    """Dismiss with the reason; the entry stays on record, and the window is unchanged."""
    entry = _entry(due_id)
    patient = db.get_or_404(Patient, entry.patient_id)
    form = DismissForm()
    if request.method == "GET":
        form.version.data = str(entry.version)
        form.next.data = local_path(request.args.get("next")) or ""

    def change():
        expect_version(entry, form.version.data, "entry")
        return decisions.dismiss(entry, actor=acting_user(), reason=form.reason.data, now=utcnow())

    response = save(
        form,
        change,
        message=f"Dismissed for {patient.full_name}; their window is unchanged.",
        to=_back(form),
    )
    if response is not None:
        return response
    status = refused_status(form) if request.method == "POST" else 200
    return render_template(
        "check_ins/dismiss.html", form=form, entry=entry, patient=patient, reasons=DUE_REASON
    ), status
