"""Admin pages for the clinic's bookable resources: chairs, opening hours, closed dates,
appointment types and clinician capacity."""
from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..booking import WEEKDAYS
from ..database import lock_for_write
from ..extensions import db
from ..formatting import request_style
from ..models import AppointmentType, Chair, ClosedDate, OpeningHours, utcnow
from ..reminders import notices
from ..saving import acting_user, commit, save
from ..security import roles_required
from ..services import appointments as service
from ..services.clinic import clinic_today, get_settings
from . import resources
from .blueprint import bp
from .forms import (
    AppointmentTypeForm,
    CapacityForm,
    ChairForm,
    CloseDayVisitsForm,
    ClosedDateForm,
    HoursForm,
)


def _apply(form, change, message, endpoint: str):
    """The resource pages' save: `message` may read the service's result; back to `endpoint`."""
    return save(form, change, message=message, to=url_for(endpoint))


# ---------------------------------------------------------------------------- chairs

def _chairs_page(add_form=None, failed=None, status=200):
    chairs = list(db.session.scalars(select(Chair).order_by(Chair.position, Chair.name)))
    edit_forms = {}
    for chair in chairs:
        if failed and failed[0] == chair.id:
            edit_forms[chair.id] = failed[1]
        else:
            edit_forms[chair.id] = ChairForm(formdata=None, prefix=f"chair{chair.id}", obj=chair)
    return render_template("schedule/chairs.html", chairs=chairs, edit_forms=edit_forms,
                           add_form=add_form or ChairForm(formdata=None, prefix="new")), status


@bp.route("/chairs", methods=["GET", "POST"])
@roles_required("admin")
def chairs():
    """List chairs; add one."""
    if request.method == "GET":
        return _chairs_page()
    form = ChairForm(prefix="new")
    saved = _apply(form, lambda: resources.save_chair(None, name=form.name.data, position=form.position.data,
                                                      actor=acting_user(), bookable_online=form.bookable_online.data),
                   lambda chair: f"Chair {chair.name} added.", ".chairs")
    return saved or _chairs_page(add_form=form, status=400)


@bp.post("/chairs/<int:chair_id>")
@roles_required("admin")
def chair_update(chair_id: int):
    """Rename or reorder a chair."""
    chair = db.get_or_404(Chair, chair_id)
    form = ChairForm(prefix=f"chair{chair_id}")
    saved = _apply(form, lambda: resources.save_chair(chair, name=form.name.data, position=form.position.data,
                                                      actor=acting_user(), bookable_online=form.bookable_online.data),
                   "Chair saved.", ".chairs")
    return saved or _chairs_page(failed=(chair_id, form), status=400)


@bp.post("/chairs/<int:chair_id>/active")
@roles_required("admin")
def chair_active(chair_id: int):
    """Take a chair out of use, or back into use; its bookings stay."""
    chair = db.get_or_404(Chair, chair_id)
    active = request.form.get("active") == "1"  # CSRFProtect has checked the token already

    def message(still_booked: int) -> str:
        if active:
            return f"{chair.name} is in use again."
        note = f" It still holds {still_booked} active booking(s); move them." if still_booked else ""
        return f"{chair.name} is out of use: no new bookings.{note}"

    return save(None, lambda: resources.set_chair_active(chair, active=active, actor=acting_user()),
                message=message, to=url_for(".chairs"), validate=False, refused_to=url_for(".chairs"))


# ---------------------------------------------------------------------------- opening hours

@bp.route("/hours", methods=["GET", "POST"])
@roles_required("admin")
def hours():
    """Opening hours per weekday; a weekday not open is closed."""
    form = HoursForm()
    if request.method == "GET":
        rows = {row.weekday: row for row in db.session.scalars(select(OpeningHours))}
        for weekday, entry in enumerate(form.days.entries):
            row = rows.get(weekday)
            entry.form.open.data = row is not None
            entry.form.opens.data = row.opens if row else None
            entry.form.closes.data = row.closes if row else None
    elif form.validate_on_submit():
        week = {}
        for weekday, entry in enumerate(form.days.entries):
            day = entry.form
            week[weekday] = (day.opens.data, day.closes.data) if day.open.data else None
        saved = save(form, lambda: resources.set_opening_hours(week, actor=acting_user()),
                     message="Opening hours saved.", to=url_for(".hours"), validate=False)
        if saved:
            return saved
    status = 400 if form.errors or form.form_errors else 200
    return render_template("schedule/hours.html", form=form, weekdays=WEEKDAYS), status


# ---------------------------------------------------------------------------- closed dates

def _closed_dates_page(form=None, status=200):
    since = clinic_today() - timedelta(days=365)
    closed = list(db.session.scalars(select(ClosedDate).where(ClosedDate.on >= since).order_by(ClosedDate.on)))
    return render_template("schedule/closed_dates.html", closed=closed, today=clinic_today(),
                           form=form or ClosedDateForm(formdata=None)), status


@bp.route("/closed-dates", methods=["GET", "POST"])
@roles_required("admin")
def closed_dates():
    """Dates the clinic is closed (holidays): the booking screen skips them."""
    if request.method == "GET":
        return _closed_dates_page()
    form = ClosedDateForm()
    saved = form.validate_on_submit() and commit(form, lambda: resources.add_closed_date(
        on=form.on.data, reason=form.reason.data or "", actor=acting_user(), today=clinic_today()))
    if saved:
        closed, booked = saved.result
        flash(f"Closed on {request_style().day(closed.on)}.", "success")
        if booked:
            return redirect(url_for(".closed_day", closed_id=closed.id), 303)
        return redirect(url_for(".closed_dates"), 303)
    return _closed_dates_page(form, status=400)


@bp.get("/closed-dates/<int:closed_id>")
@roles_required("frontdesk", "clinician")
def closed_day(closed_id: int):
    """A closed day's visits still booked: move each, or cancel them all and tell the patients."""
    closed = db.get_or_404(ClosedDate, closed_id)
    return render_template("schedule/closed_day.html", closed=closed, visits=service.visits_on(closed.on),
                           form=CloseDayVisitsForm(formdata=None))


@bp.post("/closed-dates/<int:closed_id>/cancel-visits")
@roles_required("frontdesk", "clinician")
def closed_day_cancel(closed_id: int):
    """Cancel every visit still booked on a closed day (as by the clinic), telling each patient
    when asked to."""
    closed = db.get_or_404(ClosedDate, closed_id)
    form = CloseDayVisitsForm()
    if not form.validate_on_submit():
        flash("That action is not available.", "error")
        return redirect(url_for(".closed_day", closed_id=closed_id), 303)
    now, settings = utcnow(), get_settings()
    lock_for_write(db.session)
    cancelled = service.cancel_visits_on(closed.on, actor=acting_user(), now=now)
    told = 0
    if form.notify.data:
        told = sum(notices.visit_cancelled(a, now=now, settings=settings, only_if_told=False) for a in cancelled)
    db.session.commit()
    message = f"Cancelled {len(cancelled)} visit{'s' if len(cancelled) != 1 else ''}."
    if form.notify.data:
        message += f" A cancellation email goes to {told} of them."
        if told < len(cancelled):
            message += " The others cannot be emailed (no consent or no address): call them."
    flash(message, "success")
    return redirect(url_for(".closed_day", closed_id=closed_id), 303)


@bp.post("/closed-dates/<int:closed_id>/delete")
@roles_required("admin")
def closed_date_delete(closed_id: int):
    """Open again on a date that was closed."""
    closed = db.get_or_404(ClosedDate, closed_id)
    return save(None, lambda: resources.remove_closed_date(closed, actor=acting_user()),
                message="The clinic is open on that date again.", to=url_for(".closed_dates"),
                validate=False, refused_to=url_for(".closed_dates"))


# ---------------------------------------------------------------------------- appointment types

def _type_values(form) -> dict:
    return {name: getattr(form, name).data for name in resources.TYPE_FIELDS}


def _types_page(add_form=None, failed=None, status=200):
    types = list(db.session.scalars(select(AppointmentType).order_by(AppointmentType.name)))
    edit_forms = {t.id: failed[1] if failed and failed[0] == t.id else
                  AppointmentTypeForm(formdata=None, prefix=f"type{t.id}", obj=t) for t in types}
    settings = get_settings()
    add_form = add_form or AppointmentTypeForm(formdata=None, prefix="new", prep_min=settings.default_prep_min,
                                               recovery_min=settings.default_recovery_min)
    return render_template("schedule/appointment_types.html", types=types, edit_forms=edit_forms,
                           add_form=add_form), status


@bp.route("/appointment-types", methods=["GET", "POST"])
@roles_required("admin")
def appointment_types():
    """Appointment types: preparation + infusion + recovery minutes make the chair block."""
    if request.method == "GET":
        return _types_page()
    form = AppointmentTypeForm(prefix="new")
    saved = _apply(form, lambda: resources.save_appointment_type(None, _type_values(form), actor=acting_user()),
                   lambda kind: f"Appointment type {kind.name} added.", ".appointment_types")
    return saved or _types_page(add_form=form, status=400)


@bp.post("/appointment-types/<int:type_id>")
@roles_required("admin")
def appointment_type_update(type_id: int):
    """Change an appointment type; booked blocks keep their times."""
    kind = db.get_or_404(AppointmentType, type_id)
    form = AppointmentTypeForm(prefix=f"type{type_id}")
    saved = _apply(form, lambda: resources.save_appointment_type(kind, _type_values(form), actor=acting_user()),
                   "Appointment type saved.", ".appointment_types")
    return saved or _types_page(failed=(type_id, form), status=400)


# ---------------------------------------------------------------------------- capacity

@bp.route("/capacity", methods=["GET", "POST"])
@roles_required("admin")
def capacity():
    """The maximum concurrent infusions per supervising clinician."""
    settings = get_settings()
    form = CapacityForm(obj=settings)
    saved = _apply(form, lambda: resources.set_capacity(
        max_concurrent=form.max_concurrent_per_clinician.data, step_min=form.slot_step_min.data,
        actor=acting_user()), "Capacity saved.", ".capacity")
    if saved:
        return saved
    status = 400 if form.errors or form.form_errors else 200
    return render_template("schedule/capacity.html", form=form), status
