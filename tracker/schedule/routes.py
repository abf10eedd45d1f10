"""Booking routes: book one visit (for a patient, or from a calendar cell choosing the patient
first), book a series, and confirm a patient's unconfirmed visits in one action."""

import logging
from datetime import datetime, time, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..bounds import record_id
from ..database import lock_for_write
from ..extensions import db
from ..formatting import request_style
from ..models import Appointment, Chair, Patient, utcnow
from ..saving import acting_user, commit, flash_errors, put_error, save
from ..security import roles_required
from ..services import appointments as service
from ..services import search
from ..reminders import notices
from ..services.clinic import clinic_today, clinic_zone, get_settings
from ..services.courses import open_course_for
from ..services.errors import RuleError
from .blueprint import bp
from .forms import BookForm, ConfirmAllForm, SeriesForm
from .slot_picker import SLOT_FORMAT, Saved, booking_page, choices

log = logging.getLogger(__name__)

PATIENT_CHOICES = 10
SERIES_DEFAULT_TIME = time(9)  # the series form opens at 09:00, so it can be sent as it opens


@bp.route("/book", methods=["GET", "POST"])
@roles_required("frontdesk", "clinician")
def book():
    """The slot finder for a patient; without one (a calendar cell), choose the patient first."""
    patient_id = record_id(request.values.get("patient_id"))
    if patient_id is None:
        if request.method == "POST" or "patient_id" in request.values:
            abort(404)
        return _choose_patient()
    patient = db.get_or_404(Patient, patient_id)
    form = BookForm()

    def save(chair, start_at, kind, clinician):
        booked = service.book(
            patient, appointment_type=kind, chair=chair, start_at=start_at, actor=acting_user(),
            clinician=clinician, notes=form.notes.data or "", confirmed=form.confirmed.data,
        )
        notices.visit_booked(booked, now=utcnow(), settings=get_settings())
        state = "confirmed" if booked.status == "booked" else "not yet confirmed"
        return Saved(booked, f"Booked {request_style().when(booked.start_at)} on {chair.name} ({state}).")

    return booking_page(patient, form=form, template="schedule/book.html", save=save)


def _choose_patient():
    """Booking from an empty calendar cell: find the patient, then book that chair and time."""
    chair = db.session.get(Chair, record_id(request.args.get("chair")) or 0)
    start = request.args.get("start", "")[:16]
    query = search.parse(request.args.get("q"), date_order=get_settings().date_order, today=clinic_today())
    q, found, problem = query.text, [], query.problem
    statement = search.patients_statement(query) if q and not problem else None
    if statement is not None:
        found = list(db.session.scalars(statement.limit(PATIENT_CHOICES)))
    cell = None
    if chair is not None and start:
        try:
            cell = datetime.strptime(start, SLOT_FORMAT)
        except ValueError:
            cell = None
    return render_template("schedule/choose_patient.html", q=q, found=found, problem=problem,
                           chair=chair if cell else None, start=start if cell else "", cell=cell,
                           limit=PATIENT_CHOICES)


@bp.route("/book-series", methods=["GET", "POST"])
@roles_required("frontdesk", "clinician")
def book_series():
    """Book N sessions on chosen weekdays at one time; each can be changed afterwards."""
    patient = db.get_or_404(Patient, record_id(request.values.get("patient_id")) or 0)
    types, clinicians, chairs = service.active_types(), service.clinicians(), service.active_chairs()
    course = open_course_for(patient.id)
    form = SeriesForm()
    type_choices, clinician_choices, _ = choices(types, clinicians, chairs)
    form.appointment_type_id.choices = type_choices
    form.clinician_id.choices = clinician_choices
    form.chair_id.choices = {"": "First free chair", **{str(c.id): c.name for c in chairs}}
    if request.method == "GET":
        series_type = next((t for t in types if t.for_series), types[0] if types else None)
        form.appointment_type_id.data = series_type.id if series_type else None
        form.first_day.data = clinic_today() + timedelta(days=1)
        form.weekdays.data = ["0", "2", "4"]
        form.wall_time.data = SERIES_DEFAULT_TIME
        if course is not None and course.state == "series_in_progress":
            form.count.data = max(course.series_planned - course.qualifying_count, 1)
        else:
            form.count.data = 6
    if form.validate_on_submit():
        type_ = next((t for t in types if t.id == form.appointment_type_id.data), None)
        chair = next((c for c in chairs if str(c.id) == form.chair_id.data), None)
        clinician = next((u for u in clinicians if str(u.id) == form.clinician_id.data), None)
        if type_ is None:
            put_error(form, RuleError("Choose an appointment type.", "appointment_type_id"))
        else:
            def message(plan) -> str:
                state = "confirmed" if form.confirmed.data else "not yet confirmed"
                text = f"Booked {len(plan.appointments)} sessions ({state})."
                if plan.skipped:
                    day = request_style().day
                    text += " Skipped closed dates: " + ", ".join(day(d) for d in plan.skipped) + "."
                return text

            def week_of_first(plan) -> str:
                first = plan.appointments[0].start_at.astimezone(clinic_zone()).date()
                return url_for(".week", date=first.isoformat())

            def book_and_tell():
                plan = service.book_series(
                    patient, appointment_type=type_, chair=chair, first_day=form.first_day.data,
                    weekdays=sorted({int(day) for day in form.weekdays.data}),
                    wall_time=form.wall_time.data, count=form.count.data, actor=acting_user(),
                    clinician=clinician, confirmed=form.confirmed.data)
                # One notice for the series, listing every visit (see notices.visit_booked).
                notices.visit_booked(plan.appointments[0], now=utcnow(), settings=get_settings())
                return plan

            saved = save(form, book_and_tell, message=message, to=week_of_first, validate=False)
            if saved:
                return saved
    status = 400 if form.errors or form.form_errors else 200
    return render_template("schedule/book_series.html", patient=patient, course=course, form=form,
                           has_types=bool(types)), status


@bp.post("/patients/<int:patient_id>/confirm-all")
@roles_required("frontdesk", "clinician")
def confirm_all(patient_id: int):
    """Confirm every upcoming visit of the patient that is not yet confirmed (a series at once)."""
    patient = db.get_or_404(Patient, patient_id)
    form = ConfirmAllForm()
    if not form.validate_on_submit():
        flash("That action is not available.", "error")
        return redirect(url_for("patients.detail", patient_id=patient.id), 303)

    def confirm_waiting() -> int:
        lock_for_write(db.session)
        waiting = list(db.session.scalars(
            select(Appointment).where(Appointment.patient_id == patient.id,
                                      Appointment.status == "pending", Appointment.start_at >= utcnow())
            .order_by(Appointment.start_at).with_for_update()))
        for appointment in waiting:
            service.change_status(appointment, "booked", actor=acting_user())
        return len(waiting)

    done = commit(form, confirm_waiting)
    if done is None:
        flash_errors(form)
    elif done.result:
        flash(f"Confirmed {done.result} appointment{'s' if done.result != 1 else ''}.", "success")
    else:
        flash("Every appointment was already confirmed.", "success")
    target = request.form.get("next_url") or ""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("patients.detail", patient_id=patient.id)
    return redirect(target, 303)
