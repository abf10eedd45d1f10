"""Routes of the schedule area: book, the appointment page and its status actions, complete.

The day sheet and week view live in sheets.py, the admin resource pages in admin_views.py;
both register on this blueprint.
"""
import logging
from datetime import datetime, timedelta, timezone

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from .. import booking
from ..bounds import record_id
from ..database import lock_for_write
from ..extensions import db
from ..models import Appointment, AppointmentType, Chair, Patient, User, utcnow
from ..patients.forms import EnteredInErrorForm, InfusionForm
from ..patients.sessions import session_messages
from ..reminders import notices
from ..saving import acting_user, commit, flash_errors, put_error, refused_status, save
from ..security import roles_required
from ..services import appointments as service
from ..services import infusions as infusion_service
from ..services.clinic import MAX_YEAR, MIN_YEAR, clinic_today, clinic_zone, get_settings, local_to_utc
from ..services.courses import open_course_for
from ..services.errors import RuleError, expect_version
from .. import calendar_export
from .forms import BookForm, RescheduleForm, SeriesForm, SlotSearchForm, StatusForm

bp = Blueprint("schedule", __name__, url_prefix="/schedule")
log = logging.getLogger(__name__)

STATUS_ACTIONS = {"confirm": "booked", "arrived": "arrived", "noshow": "noshow",
                  "cancel": "cancelled", "error": "entered-in-error"}
ACTION_LABELS = {"confirm": "Confirm", "arrived": "Mark arrived", "noshow": "Mark no-show",
                 "cancel": "Cancel", "error": "Mark entered in error"}
SLOT_FORMAT = "%Y-%m-%dT%H:%M"
MAX_AHEAD_DAYS = 3 * 366


def int_or_none(value) -> int | None:
    """A record id from a query or form value, else None (tracker.bounds.record_id)."""
    return record_id(value)


def clinic_instant(naive: datetime, field: str) -> datetime:
    """A typed clinic wall-clock time as UTC; a skipped DST time or an absurd year is refused."""
    return local_to_utc(naive, field=field)


# ---------------------------------------------------------------------------- template helpers

def request_zone():
    """The clinic's zone, read once per request (the settings row is not kept between reads)."""
    if "schedule_clinic_zone" not in g:
        g.schedule_clinic_zone = clinic_zone()
    return g.schedule_clinic_zone


@bp.app_template_filter("schedule_local")
def schedule_local(instant, fmt: str = "%a %d %b %Y %H:%M") -> str:
    """An instant in clinic wall-clock time."""
    if instant is None:
        return ""
    return instant.astimezone(request_zone()).strftime(fmt)


@bp.app_template_global()
def patient_appointments(patient_id: int, limit: int = 50) -> list[Appointment]:
    """A patient's appointments, latest first, with type, chair and clinician: one query."""
    return list(db.session.scalars(
        select(Appointment).where(Appointment.patient_id == patient_id)
        .options(joinedload(Appointment.appointment_type), joinedload(Appointment.chair),
                 joinedload(Appointment.clinician))
        .order_by(Appointment.start_at.desc(), Appointment.id.desc()).limit(limit)))


@bp.app_template_global()
def appointment_status_label(status: str) -> str:
    """The front desk's words for a FHIR appointment status."""
    return service.STATUS_LABELS.get(status, status)


# ---------------------------------------------------------------------------- booking

def _patient_from_request() -> Patient:
    patient_id = int_or_none(request.values.get("patient_id"))
    if patient_id is None:
        abort(404)
    return db.get_or_404(Patient, patient_id)


def _choices(types, clinicians, chairs):
    return ({t.id: t.name for t in types},
            {"": "No supervising clinician chosen", **{str(u.id): u.label for u in clinicians}},
            {"": "Choose a chair", **{str(c.id): c.name for c in chairs}})


def _search_state(patient, types, clinicians, appointment=None):
    """The chosen type, clinician and earliest day from the GET form (bad values ignored);
    when rescheduling, the old appointment's type and clinician are the defaults."""
    search = SlotSearchForm(formdata=request.args if request.args else None)
    type_choices, clinician_choices, _ = _choices(types, clinicians, [])
    search.appointment_type.choices = type_choices
    search.clinician.choices = clinician_choices
    course = open_course_for(patient.id)
    posted = request.method == "POST"
    type_id = int_or_none(request.form.get("appointment_type_id") if posted
                          else request.args.get("appointment_type"))
    if type_id is None and appointment is not None:
        type_id = appointment.appointment_type_id
    chosen = next((t for t in types if t.id == type_id), None) or service.default_type(course, types)
    search.appointment_type.data = chosen.id if chosen else None
    clinician_id = int_or_none(request.form.get("clinician_id") if posted else request.args.get("clinician"))
    if clinician_id is None and appointment is not None and not posted and "clinician" not in request.args:
        clinician_id = appointment.clinician_id
    clinician = next((u for u in clinicians if u.id == clinician_id), None)
    search.clinician.data = str(clinician.id) if clinician else ""
    from_day = None
    if request.args.get("from_day") and search.from_day.validate(search):
        today = clinic_today()
        if today - timedelta(days=1) <= search.from_day.data <= today + timedelta(days=MAX_AHEAD_DAYS):
            from_day = search.from_day.data
        else:
            search.from_day.errors = ["Choose a day from today to three years ahead."]
    return search, course, chosen, clinician, from_day


def _slot_choice(slot: booking.Slot) -> str:
    return f"{slot.chair_id}|{slot.start.astimezone(timezone.utc).strftime(SLOT_FORMAT)}"


def _read_slot(form, chairs_by_id) -> tuple[Chair, datetime] | None:
    """The chair and UTC start chosen on a BookForm; errors go on the form."""
    if form.slot.data == "other":
        chair = chairs_by_id.get(int_or_none(form.chair_id.data))
        if form.start_at.data is None:
            put_error(form, RuleError("Enter the date and time, or choose one of the free times.",
                                      "start_at"))
        if chair is None and not form.chair_id.errors:
            put_error(form, RuleError("Choose a chair for the time you entered.", "chair_id"))
        if chair is None or form.start_at.data is None:
            return None
        try:
            return chair, clinic_instant(form.start_at.data, "start_at")
        except RuleError as error:
            put_error(form, error)
            return None
    chair_part, _, start_part = (form.slot.data or "").partition("|")
    chair = chairs_by_id.get(int_or_none(chair_part))
    try:
        start = datetime.strptime(start_part, SLOT_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        start = None
    if chair is None or start is None or not MIN_YEAR <= start.year <= MAX_YEAR:
        put_error(form, RuleError("That free time is no longer on offer; choose another.", "slot"))
        return None
    return chair, start


@bp.route("/book", methods=["GET", "POST"])
@roles_required("frontdesk", "clinician")
def book():
    """The slot finder: free chair blocks in the patient's window; book one by choosing it."""
    patient = _patient_from_request()
    return _booking_page(patient, form=BookForm(), template="schedule/book.html")


def _booking_page(patient, *, form, template, appointment=None):
    types, clinicians, chairs = service.active_types(), service.clinicians(), service.active_chairs()
    search, course, chosen_type, clinician, from_day = _search_state(patient, types, clinicians, appointment)
    _, _, chair_choices = _choices(types, clinicians, chairs)
    form.chair_id.choices = chair_choices
    if request.method == "POST" and form.validate_on_submit():
        result = _read_slot(form, {c.id: c for c in chairs})
        type_ = db.session.get(AppointmentType, int_or_none(form.appointment_type_id.data) or 0)
        if type_ is None:
            put_error(form, RuleError("Choose an appointment type.", "slot"))
        if result is not None and type_ is not None:
            chair, start_at = result

            def change() -> Appointment:
                if appointment is None:
                    booked = service.book(patient, appointment_type=type_, chair=chair, start_at=start_at,
                                          actor=acting_user(), clinician=clinician, notes=form.notes.data or "")
                    notices.visit_booked(booked, now=utcnow(), settings=get_settings())
                    return booked
                locked = _locked_appointment(appointment.id)
                expect_version(locked, form.version.data, "appointment")
                moved = service.reschedule(locked, chair=chair, start_at=start_at, actor=acting_user(),
                                           reason=form.reason.data, appointment_type=type_, clinician=clinician)
                notices.visit_moved(moved, now=utcnow(), settings=get_settings())
                return moved

            def field_for(error: RuleError) -> str | None:
                # A typed time's problems sit on its fields; anything else (a proposal taken a
                # moment ago, the clinician's capacity) on the list of free times.
                typed = form.slot.data == "other" and error.field in ("start_at", "chair_id")
                return error.field if typed else "slot"

            saved = save(form, change, validate=False, field_for=field_for,
                         message=lambda booked: f"Booked {schedule_local(booked.start_at)} on {chair.name}.",
                         to=lambda booked: url_for(".appointment", appointment_id=booked.id))
            if saved:
                return saved
    search_result = None
    if chosen_type is not None and chairs:
        search_result = service.search_slots(patient, chosen_type,
                                             clinician_id=clinician.id if clinician else None,
                                             from_day=from_day)
    proposals = (search_result.slots or search_result.later_slots) if search_result else []
    if request.method == "GET" and appointment is not None:
        form.version.data = str(appointment.version)
    if request.method == "GET" and proposals:
        form.slot.data = _slot_choice(proposals[0])
    elif request.method == "GET":
        form.slot.data = "other"
    form.appointment_type_id.data = str(chosen_type.id) if chosen_type else ""
    form.clinician_id.data = str(clinician.id) if clinician else ""
    status = refused_status(form) if form.errors or form.form_errors else 200
    return render_template(
        template, patient=patient, course=course, form=form, search=search,
        result=search_result, proposals=proposals, slot_choice=_slot_choice,
        chosen_type=chosen_type, clinician=clinician, chairs={c.id: c for c in chairs},
        appointment=appointment, has_types=bool(types), has_chairs=bool(chairs),
        today=clinic_today(),
    ), status


@bp.route("/book-series", methods=["GET", "POST"])
@roles_required("frontdesk", "clinician")
def book_series():
    """Book N sessions on chosen weekdays at one time; each can be changed afterwards."""
    patient = _patient_from_request()
    types, clinicians, chairs = service.active_types(), service.clinicians(), service.active_chairs()
    course = open_course_for(patient.id)
    form = SeriesForm()
    type_choices, clinician_choices, _ = _choices(types, clinicians, chairs)
    form.appointment_type_id.choices = type_choices
    form.clinician_id.choices = clinician_choices
    form.chair_id.choices = {"": "First free chair", **{str(c.id): c.name for c in chairs}}
    if request.method == "GET":
        series_type = next((t for t in types if t.for_series), types[0] if types else None)
        form.appointment_type_id.data = series_type.id if series_type else None
        form.first_day.data = clinic_today() + timedelta(days=1)
        form.weekdays.data = ["0", "2", "4"]
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
                text = f"Booked {len(plan.appointments)} sessions."
                if plan.skipped:
                    text += " Skipped closed dates: " + ", ".join(d.isoformat() for d in plan.skipped) + "."
                return text

            def week_of_first(plan) -> str:
                first = plan.appointments[0].start_at.astimezone(clinic_zone()).date()
                return url_for(".week", date=first.isoformat())

            saved = save(form, lambda: service.book_series(
                patient, appointment_type=type_, chair=chair, first_day=form.first_day.data,
                weekdays=sorted({int(day) for day in form.weekdays.data}),
                wall_time=form.wall_time.data, count=form.count.data, actor=acting_user(),
                clinician=clinician), message=message, to=week_of_first, validate=False)
            if saved:
                return saved
    status = 400 if form.errors or form.form_errors else 200
    return render_template("schedule/book_series.html", patient=patient, course=course, form=form,
                           has_types=bool(types)), status


# ---------------------------------------------------------------------------- one appointment

def _load_appointment(appointment_id: int) -> Appointment:
    return db.one_or_404(
        select(Appointment).where(Appointment.id == appointment_id)
        .options(joinedload(Appointment.patient), joinedload(Appointment.appointment_type),
                 joinedload(Appointment.chair), joinedload(Appointment.clinician),
                 selectinload(Appointment.history)))


def _locked_appointment(appointment_id: int) -> Appointment:
    """The appointment, locked for this transaction so two status changes cannot cross."""
    lock_for_write(db.session)
    return db.one_or_404(select(Appointment).where(Appointment.id == appointment_id)
                         .with_for_update().execution_options(populate_existing=True))


@bp.get("/appointments/<int:appointment_id>")
@roles_required("frontdesk", "clinician")
def appointment(appointment_id: int):
    """One appointment: when, where, who, its history, and the actions its status allows."""
    return _appointment_page(appointment_id)


def _appointment_page(appointment_id: int, *, status_form=None, failed_action=None, status=200):
    appointment = _load_appointment(appointment_id)
    user_ids = {change.user_id for change in appointment.history if change.user_id}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    rescheduled_to = db.session.scalar(select(Appointment.id).where(
        Appointment.rescheduled_from_id == appointment.id))
    allowed = service.actions_now(appointment, now=utcnow())
    actions = [a for a, to in STATUS_ACTIONS.items() if to in allowed and a != "error"]
    forms = {a: (status_form if a == failed_action and status_form else StatusForm(formdata=None))
             for a in actions}
    return render_template(
        "schedule/appointment.html", appointment=appointment, users=users, forms=forms,
        action_labels=ACTION_LABELS, rescheduled_to=rescheduled_to,
        can_reschedule=service.can_reschedule(appointment),
        can_mark_in_error="entered-in-error" in allowed,
        can_complete=service.can_complete(appointment) and current_user.has_role("clinician"),
        cancel_labels=service.CANCEL_REASON_LABELS,
    ), status


@bp.post("/appointments/<int:appointment_id>/status")
@roles_required("frontdesk", "clinician")
def appointment_status(appointment_id: int):
    """Confirm, cancel (with reason), arrived, no-show or entered in error; refused if the state
    machine forbids it."""
    form = StatusForm()
    action = form.action.data
    if not form.validate_on_submit() or action not in STATUS_ACTIONS:
        flash("That action is not available.", "error")
        return redirect(url_for(".appointment", appointment_id=appointment_id), 303)
    appointment = _locked_appointment(appointment_id)

    def change() -> None:
        expect_version(appointment, form.version.data, "appointment")
        _mark(appointment, STATUS_ACTIONS[action], form.reason.data if action in ("cancel", "error") else None)

    if commit(form, change) is None:
        if form.reason.errors:
            return _appointment_page(appointment_id, status_form=form, failed_action=action, status=400)
        flash_errors(form)
        return _appointment_page(appointment_id, status=refused_status(form))
    flash(service.DONE_MESSAGES[appointment.status], "success")
    return redirect(url_for(".appointment", appointment_id=appointment_id), 303)


def _mark(appointment: Appointment, to_status: str, reason: str | None) -> None:
    """A staff status step, and the patient's notice when it cancels a visit they were told of."""
    now = utcnow()
    service.mark(appointment, to_status, actor=acting_user(), now=now, reason=reason)
    if appointment.status in notices.CANCELLED:
        notices.visit_cancelled(appointment, now=now, settings=get_settings())


@bp.route("/appointments/<int:appointment_id>/entered-in-error", methods=["GET", "POST"])
@roles_required("frontdesk", "clinician")
def appointment_in_error(appointment_id: int):
    """Confirm, with a reason, that an appointment was entered in error; it stays, struck out."""
    form = EnteredInErrorForm()
    appointment = _load_appointment(appointment_id)
    problem = None
    if "entered-in-error" not in service.TRANSITIONS.get(appointment.status, set()):
        problem = "This appointment is already marked entered in error."
    elif form.validate_on_submit():

        def change() -> None:
            locked = _locked_appointment(appointment_id)
            expect_version(locked, form.version.data, "appointment")
            _mark(locked, "entered-in-error", form.reason.data)

        if commit(form, change) is not None:
            flash(service.DONE_MESSAGES["entered-in-error"], "success")
            return redirect(url_for(".appointment", appointment_id=appointment_id), 303)
        appointment = _load_appointment(appointment_id)
    if request.method == "GET":
        form.version.data = str(appointment.version)
    status = refused_status(form) if request.method == "POST" else 200
    return render_template("schedule/appointment_in_error.html", appointment=appointment, form=form,
                           problem=problem), status


@bp.route("/appointments/<int:appointment_id>/reschedule", methods=["GET", "POST"])
@roles_required("frontdesk", "clinician")
def reschedule(appointment_id: int):
    """Choose a new time: the old appointment is cancelled and the new one linked to it."""
    appointment = _load_appointment(appointment_id)
    if not service.can_reschedule(appointment):
        flash("Only a booked appointment can be rescheduled.", "error")
        return redirect(url_for(".appointment", appointment_id=appointment_id), 303)
    return _booking_page(appointment.patient, form=RescheduleForm(), template="schedule/reschedule.html",
                         appointment=appointment)


@bp.get("/appointments/<int:appointment_id>.ics")
@roles_required("frontdesk", "clinician")
def appointment_ics(appointment_id: int):
    """The appointment as a calendar file: stable UID, growing SEQUENCE, no clinical words."""
    appointment = db.get_or_404(Appointment, appointment_id)
    body = calendar_export.appointment_ics(appointment, get_settings())
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="{calendar_export.filename_for(appointment)}"',
        "Cache-Control": "private, no-store",
    })


@bp.route("/appointments/<int:appointment_id>/complete", methods=["GET", "POST"])
@roles_required("clinician")
def complete(appointment_id: int):
    """The clinician records the session from the appointment: the infusion form, pre-filled."""
    appointment = _load_appointment(appointment_id)
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
        form.given_at.data = given.astimezone(clinic_zone()).replace(tzinfo=None, second=0, microsecond=0)
        form.duration_min.data = kind.infusion_min

    def change():
        given_at = clinic_instant(form.given_at.data, "given_at")
        return service.complete(_locked_appointment(appointment_id), actor=acting_user(), given_at=given_at,
                                values=form.infusion_values())

    saved = form.validate_on_submit() and commit(form, change)
    if saved:
        infusion = saved.result
        flash("Session recorded; the appointment is completed.", "success")
        for message, category in session_messages(infusion, infusion.course, last.dose_mg_per_kg if last else None,
                                                  get_settings()):
            flash(message, category)
        return redirect(url_for(".appointment", appointment_id=appointment_id), 303)
    if request.method == "POST":
        appointment = _load_appointment(appointment_id)
    status = 400 if form.errors or form.form_errors else 200
    return render_template("schedule/complete.html", appointment=appointment, form=form, last=last,
                           settings=get_settings()), status


from . import admin_views, sheets  # noqa: E402,F401  (they add routes to bp)
