"""One appointment: its page, its status actions, moving it, cancel-and-rebook, its calendar
file, and recording its session."""

import logging
from datetime import timedelta

from flask import Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from .. import calendar_export
from ..extensions import db
from ..formatting import request_style
from ..in_error_page import confirm_in_error
from ..models import Appointment, Chair, User, utcnow
from ..patients.forms import InfusionForm
from ..patients.sessions import session_messages
from ..reminders import notices
from ..saving import acting_user, commit, flash_errors, refused_status
from ..security import roles_required
from ..services import appointments as service
from ..services import infusions as infusion_service
from ..services import waitlist
from ..services.clinic import clinic_today, clinic_zone, get_settings
from ..services.errors import expect_version
from ..services.in_error import already_marked
from .blueprint import bp
from .forms import MoveForm, RescheduleForm, StatusForm
from .helpers import clinic_instant, load_appointment, locked_appointment
from .slot_picker import Saved, booking_page

log = logging.getLogger(__name__)

STATUS_ACTIONS = {
    "confirm": "booked",
    "arrived": "arrived",
    "noshow": "noshow",
    "cancel": "cancelled",
    "error": "entered-in-error",
}
ACTION_LABELS = {
    "confirm": "Confirm",
    "arrived": "Mark arrived",
    "noshow": "Mark no-show",
    "cancel": "Cancel",
    "error": "Mark entered in error",
}


@bp.get("/appointments/<int:appointment_id>")
@roles_required("frontdesk", "clinician")
def appointment(appointment_id: int):
    """One appointment: when, where, who, its history, and the actions its status allows."""
    return _appointment_page(appointment_id)


def _appointment_page(appointment_id: int, *, status_form=None, failed_action=None, status=200):
    appointment = load_appointment(appointment_id)
    user_ids = {change.user_id for change in appointment.history if change.user_id}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    chair_ids = {
        c
        for change in appointment.history
        for c in (change.moved_from_chair_id, change.moved_to_chair_id)
        if c
    }
    chairs = (
        {c.id: c for c in db.session.scalars(select(Chair).where(Chair.id.in_(chair_ids)))}
        if chair_ids
        else {}
    )
    rescheduled_to = db.session.scalar(
        select(Appointment.id).where(Appointment.rescheduled_from_id == appointment.id)
    )
    allowed = service.actions_now(appointment, now=utcnow())
    actions = [a for a, to in STATUS_ACTIONS.items() if to in allowed and a != "error"]
    forms = {
        a: (status_form if a == failed_action and status_form else StatusForm(formdata=None))
        for a in actions
    }
    return render_template(
        "schedule/appointment.html",
        appointment=appointment,
        users=users,
        forms=forms,
        action_labels=ACTION_LABELS,
        rescheduled_to=rescheduled_to,
        chairs=chairs,
        can_reschedule=service.can_reschedule(appointment),
        can_mark_in_error="entered-in-error" in allowed,
        cancel_labels=service.CANCEL_REASON_LABELS,
        move_labels=service.MOVE_REASON_LABELS,
    ), status


@bp.post("/appointments/<int:appointment_id>/status")
@roles_required("frontdesk", "clinician")
def appointment_status(appointment_id: int):
    """Confirm, cancel (with reason), arrived, no-show or entered in error; refused if the state
    machine forbids it."""
    appointment = locked_appointment(appointment_id)  # 404 for an unknown id, before the form
    form = StatusForm()
    action = form.action.data
    if not form.validate_on_submit() or action not in STATUS_ACTIONS:
        flash("That action is not available.", "error")
        return redirect(url_for(".appointment", appointment_id=appointment_id), 303)

    def change() -> None:
        expect_version(appointment, form.version.data, "appointment")
        _mark(
            appointment,
            STATUS_ACTIONS[action],
            form.reason.data if action in ("cancel", "error") else None,
        )

    if commit(form, change) is None:
        if form.reason.errors:
            return _appointment_page(
                appointment_id, status_form=form, failed_action=action, status=400
            )
        flash_errors(form)
        return _appointment_page(appointment_id, status=refused_status(form))
    flash(service.DONE_MESSAGES[appointment.status], "success")
    return redirect(url_for(".appointment", appointment_id=appointment_id), 303)


@bp.route("/appointments/<int:appointment_id>/move", methods=["GET", "POST"])
@roles_required("frontdesk", "clinician")
def move(appointment_id: int):
    """Move the visit to another time or chair in place: pick the new time, done."""
    appointment = load_appointment(appointment_id)
    if not service.can_reschedule(appointment):
        flash("Only a booked appointment can be moved.", "error")
        return redirect(url_for(".appointment", appointment_id=appointment_id), 303)
    form = MoveForm()

    def move_to(chair, start_at, kind, clinician):
        locked = locked_appointment(appointment_id)
        expect_version(locked, form.version.data, "appointment")
        moved = service.move_appointment(
            locked,
            chair=chair,
            start_at=start_at,
            actor=acting_user(),
            reason=form.reason.data,
            patient_agreed=form.patient_agreed.data,
            appointment_type=kind,
            clinician=clinician,
        )
        notices.visit_moved(moved.appointment, now=utcnow(), settings=get_settings())
        _offer_freed(moved.from_chair_id, moved.from_start, moved.appointment.patient_id)
        state = "still confirmed" if moved.appointment.status == "booked" else "not yet confirmed"
        return Saved(
            moved.appointment,
            f"Moved from {request_style().when(moved.from_start)} to "
            f"{request_style().when(moved.appointment.start_at)} on {chair.name} ({state}).",
            moved,
        )

    return booking_page(
        appointment.patient,
        form=form,
        template="schedule/move.html",
        save=move_to,
        appointment=appointment,
    )


@bp.route("/appointments/<int:appointment_id>/reschedule", methods=["GET", "POST"])
@roles_required("frontdesk", "clinician")
def reschedule(appointment_id: int):
    """Cancel and rebook: the old appointment is cancelled and a new one linked to it."""
    appointment = load_appointment(appointment_id)
    if not service.can_reschedule(appointment):
        flash("Only a booked appointment can be rescheduled.", "error")
        return redirect(url_for(".appointment", appointment_id=appointment_id), 303)
    form = RescheduleForm()

    def rebook(chair, start_at, kind, clinician):
        locked = locked_appointment(appointment_id)
        expect_version(locked, form.version.data, "appointment")
        booked = service.reschedule(
            locked,
            chair=chair,
            start_at=start_at,
            actor=acting_user(),
            reason=form.reason.data,
            appointment_type=kind,
            clinician=clinician,
        )
        notices.visit_moved(booked, now=utcnow(), settings=get_settings())
        _offer_freed(locked.chair_id, locked.start_at, locked.patient_id)
        return Saved(booked, f"Booked {request_style().when(booked.start_at)} on {chair.name}.")

    return booking_page(
        appointment.patient,
        form=form,
        template="schedule/reschedule.html",
        save=rebook,
        appointment=appointment,
    )


@bp.get("/appointments/<int:appointment_id>.ics")
@roles_required("frontdesk", "clinician")
def appointment_ics(appointment_id: int):
    """The appointment as a calendar file: stable UID, growing SEQUENCE, no clinical words."""
    appointment = db.get_or_404(Appointment, appointment_id)
    body = calendar_export.appointment_ics(appointment, get_settings())
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="{calendar_export.filename_for(appointment)}"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/appointments/<int:appointment_id>/complete", methods=["GET", "POST"])
@roles_required("clinician")
def complete(appointment_id: int):
    """The clinician records the session from the appointment: the infusion form, pre-filled."""
    appointment = load_appointment(appointment_id)
    if not service.can_complete(appointment):
        flash(str(service.not_completable(appointment)), "error")
        return redirect(url_for(".appointment", appointment_id=appointment_id), 303)
    form = InfusionForm()
    last = infusion_service.last_recorded(appointment.patient_id)
    if request.method == "GET":
        if last is not None:  # carried forward from the last session: checked, not retyped
            form.weight_kg.data, form.dose_mg_per_kg.data = last.weight_kg, last.dose_mg_per_kg
        kind = appointment.appointment_type
        given = appointment.start_at + timedelta(minutes=kind.prep_min)
        form.given_at.data = given.astimezone(clinic_zone()).replace(
            tzinfo=None, second=0, microsecond=0
        )
        form.duration_min.data = kind.infusion_min

    def change():
        given_at = clinic_instant(form.given_at.data, "given_at")
        return service.complete(
            locked_appointment(appointment_id),
            actor=acting_user(),
            given_at=given_at,
            values=form.infusion_values(),
        )

    saved = form.validate_on_submit() and commit(form, change)
    if saved:
        infusion = saved.result
        flash("Session recorded; the appointment is completed.", "success")
        for message, category in session_messages(
            infusion, infusion.course, last.dose_mg_per_kg if last else None, get_settings()
        ):
            flash(message, category)
        return redirect(url_for(".appointment", appointment_id=appointment_id), 303)
    if request.method == "POST":
        appointment = load_appointment(appointment_id)
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "schedule/complete.html",
        appointment=appointment,
        form=form,
        last=last,
        settings=get_settings(),
    ), status


def _mark(appointment: Appointment, to_status: str, reason: str | None) -> None:
    """A staff status step, and the patient's notice when it cancels a visit they were told of."""
    now = utcnow()
    service.mark(appointment, to_status, actor=acting_user(), now=now, reason=reason)
    if appointment.status in notices.CANCELLED:
        notices.visit_cancelled(appointment, now=now, settings=get_settings())
    if appointment.status == "cancelled":
        _offer_freed(appointment.chair_id, appointment.start_at, appointment.patient_id)


def _offer_freed(chair_id: int, start_at, patient_id: int) -> None:
    """Offer a chair time that just freed to the waitlist (in the same transaction)."""
    waitlist.offer_freed_block(
        chair_id,
        start_at,
        freed_by=patient_id,
        now=utcnow(),
        today=clinic_today(),
        settings=get_settings(),
    )


@bp.route("/appointments/<int:appointment_id>/entered-in-error", methods=["GET", "POST"])
@roles_required("frontdesk", "clinician")
def appointment_in_error(appointment_id: int):
    """Confirm, with a reason, that an appointment was entered in error; it stays, struck out."""
    appointment = load_appointment(appointment_id)
    problem = None
    if "entered-in-error" not in service.TRANSITIONS.get(appointment.status, set()):
        problem = already_marked("appointment")
    return confirm_in_error(
        appointment,
        noun="appointment",
        mark=lambda locked, *, actor, reason, now: _mark(locked, "entered-in-error", reason),
        lock=lambda: locked_appointment(appointment_id),
        problem=problem,
        template="schedule/appointment_in_error.html",
        # After a refused save the session was rolled back: the page reloads what it shows.
        page=lambda: {"appointment": load_appointment(appointment_id)},
        message=service.DONE_MESSAGES["entered-in-error"],
        to=url_for(".appointment", appointment_id=appointment_id),
    )
