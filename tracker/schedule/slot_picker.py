"""The booking page that booking, moving and cancel-and-rebook share.

It shows every free start of one chosen day, morning and afternoon, with the nearest earlier
and later days that have free time one click away. Nothing is chosen for the person, except
the chair and time they clicked on the calendar. A refusal (the time was taken meanwhile) is
shown on the page with that day's free starts, and nothing is saved.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import flash, redirect, render_template, request, url_for

from .. import booking
from ..bounds import record_id
from ..extensions import db
from ..formatting import request_style
from ..models import Appointment, AppointmentType, Chair, Patient, User
from ..saving import commit, put_error, refused_status
from ..services import appointments as service
from ..services.clinic import MAX_YEAR, MIN_YEAR, clinic_today
from ..services.courses import open_course_for
from ..services.errors import RuleError
from .forms import SlotSearchForm
from .helpers import clinic_instant, request_zone

SLOT_FORMAT = "%Y-%m-%dT%H:%M"
MAX_AHEAD_DAYS = 3 * 366


@dataclass
class Saved:
    """What a save did: the appointment to show next, the sentence to say, and any result the
    view wants after the commit (a move, for the patient's notice)."""

    appointment: Appointment
    message: str
    result: object = None


# save(chair, start_at, appointment_type, clinician) -> Saved; raises RuleError.
Save = Callable[[Chair, datetime, AppointmentType, User | None], Saved]


def slot_choice(slot: booking.Slot) -> str:
    """The radio value of a free start: chair id and UTC start."""
    return f"{slot.chair_id}|{slot.start.astimezone(UTC).strftime(SLOT_FORMAT)}"


def choices(types, clinicians, chairs):
    """Select choices for the type, the clinician and the chair."""
    return (
        {t.id: t.name for t in types},
        {"": "No supervising clinician chosen", **{str(u.id): u.label for u in clinicians}},
        {"": "Choose a chair", **{str(c.id): c.name for c in chairs}},
    )


def read_slot(form, chairs_by_id) -> tuple[Chair, datetime] | None:
    """The chair and UTC start chosen on a BookForm; errors go on the form."""
    if form.slot.data == "other":
        chair = chairs_by_id.get(record_id(form.chair_id.data))
        if form.start_at.data is None:
            put_error(
                form,
                RuleError("Enter the date and time, or choose one of the free times.", "start_at"),
            )
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
    chair = chairs_by_id.get(record_id(chair_part))
    try:
        start = datetime.strptime(start_part, SLOT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        start = None
    if chair is None or start is None or not MIN_YEAR <= start.year <= MAX_YEAR:
        put_error(form, RuleError("That free time is no longer on offer; choose another.", "slot"))
        return None
    return chair, start


def _search_state(patient, types, clinicians, appointment):
    """The chosen type and clinician (GET form, or the POSTed hidden fields); when moving,
    the visit's own type and clinician are the defaults."""
    search = SlotSearchForm(formdata=request.args if request.args else None)
    type_choices, clinician_choices, _ = choices(types, clinicians, [])
    search.appointment_type.choices = type_choices
    search.clinician.choices = clinician_choices
    posted = request.method == "POST"
    type_id = record_id(
        request.form.get("appointment_type_id") if posted else request.args.get("appointment_type")
    )
    if type_id is None and appointment is not None:
        type_id = appointment.appointment_type_id
    course = open_course_for(patient.id)
    chosen = next((t for t in types if t.id == type_id), None) or service.default_type(
        course, types
    )
    search.appointment_type.data = chosen.id if chosen else None
    clinician_id = record_id(
        request.form.get("clinician_id") if posted else request.args.get("clinician")
    )
    if (
        clinician_id is None
        and appointment is not None
        and not posted
        and "clinician" not in request.args
    ):
        clinician_id = appointment.clinician_id
    clinician = next((u for u in clinicians if u.id == clinician_id), None)
    search.clinician.data = str(clinician.id) if clinician else ""
    return search, course, chosen, clinician


def _asked_day(search, form, today: date) -> date | None:
    """The day asked for: the GET form's day, or the page's day when a form was posted."""
    raw = form.day.data if request.method == "POST" else request.args.get("day")
    if not raw:
        return None
    try:
        asked = date.fromisoformat(str(raw))
    except ValueError:
        asked = None
    if asked is None or not today <= asked <= today + timedelta(days=MAX_AHEAD_DAYS):
        search.day.errors = ["Choose a day from today to three years ahead (YYYY-MM-DD)."]
        return None
    search.day.data = asked
    return asked


def _clicked_cell(chairs_by_id) -> tuple[Chair, datetime] | None:
    """The chair and start clicked on the day sheet or the week (?chair=&start=, clinic time)."""
    chair = chairs_by_id.get(record_id(request.args.get("chair")))
    try:
        naive = datetime.strptime(request.args.get("start", ""), SLOT_FORMAT)
        start = clinic_instant(naive, "start_at")
    except (ValueError, RuleError):
        return None
    return (chair, start) if chair is not None else None


def booking_page(
    patient: Patient,
    *,
    form,
    template: str,
    save: Save,
    appointment=None,
    after_commit: Callable[[Saved], None] | None = None,
):
    """Show the picker; on a valid POST save the chosen time, commit, redirect to it."""
    types, clinicians, chairs = (
        service.active_types(),
        service.clinicians(),
        service.active_chairs(),
    )
    chairs_by_id = {c.id: c for c in chairs}
    search, course, chosen_type, clinician = _search_state(patient, types, clinicians, appointment)
    form.chair_id.choices = choices(types, clinicians, chairs)[2]
    if request.method == "POST" and form.validate_on_submit():
        picked = read_slot(form, chairs_by_id)
        type_ = db.session.get(AppointmentType, record_id(form.appointment_type_id.data) or 0)
        if type_ is None:
            put_error(form, RuleError("Choose an appointment type.", "slot"))
        if picked is not None and type_ is not None:

            def field_for(error: RuleError) -> str | None:
                # A typed time's problems sit on its fields; anything else (a time taken a
                # moment ago, the clinician's capacity) beside the day's free starts.
                typed = form.slot.data == "other" and error.field in ("start_at", "chair_id")
                return error.field if typed else "slot"

            done = commit(
                form, lambda: save(picked[0], picked[1], type_, clinician), field_for=field_for
            )
            if done is not None:
                if after_commit is not None:
                    after_commit(done.result)
                flash(done.result.message, "success")
                return redirect(
                    url_for(".appointment", appointment_id=done.result.appointment.id), 303
                )
    today = clinic_today()
    exclude_id = appointment.id if appointment is not None else None
    result, proposals, starts, cell_notice = None, [], None, None
    if chosen_type is not None and chairs:
        result = service.search_slots(
            patient,
            chosen_type,
            limit=1,
            per_day=1,
            exclude_id=exclude_id,
            clinician_id=clinician.id if clinician else None,
        )
        proposals = result.slots or result.later_slots
        cell = _clicked_cell(chairs_by_id) if request.method == "GET" else None
        day = _asked_day(search, form, today) or _default_day(
            cell, appointment, proposals, result, today
        )
        search.day.data = day
        starts = service.day_starts(
            patient,
            chosen_type,
            day,
            not_before=today,
            exclude_id=exclude_id,
            clinician_id=clinician.id if clinician else None,
            prefer_chair=cell[0].id if cell else None,
        )
        if cell is not None:
            cell_notice = _choose_cell(form, starts, cell)
    form.appointment_type_id.data = str(chosen_type.id) if chosen_type else ""
    form.clinician_id.data = str(clinician.id) if clinician else ""
    form.day.data = starts.day.isoformat() if starts else ""
    if request.method == "GET" and appointment is not None:
        form.version.data = str(appointment.version)
    status = refused_status(form) if form.errors or form.form_errors else 200
    return render_template(
        template,
        patient=patient,
        course=course,
        form=form,
        search=search,
        result=result,
        proposals=proposals,
        starts=starts,
        slot_choice=slot_choice,
        chosen_type=chosen_type,
        clinician=clinician,
        chairs=chairs_by_id,
        appointment=appointment,
        has_types=bool(types),
        has_chairs=bool(chairs),
        today=today,
        cell_notice=cell_notice,
    ), status


def _default_day(cell, appointment, proposals, result, today: date) -> date:
    """The clicked cell's day; a visit's own day when moving it; else the first free day."""
    zone = request_zone()
    if cell is not None:
        return max(booking.wall(cell[1], zone).date(), today)
    if appointment is not None:
        return max(booking.wall(appointment.start_at, zone).date(), today)
    if proposals:
        return booking.wall(proposals[0].start, zone).date()
    return result.first_day if result is not None and result.first_day else today


def _choose_cell(form, starts, cell) -> str | None:
    """Choose the clicked chair and start when it is free; else fill it in as another time and
    say why it cannot be booked as it is."""
    chair, start = cell
    clicked = next((s for s in starts.starts if s.start == start and s.chair_id == chair.id), None)
    if clicked is not None:
        form.slot.data = slot_choice(clicked)
        return None
    form.slot.data = "other"
    form.start_at.data = booking.wall(start, request_zone())
    form.chair_id.data = str(chair.id)
    return (
        f"{chair.name} at {request_style().clock(form.start_at.data)} is not free for this appointment type; "
        "choose one of the free times, or book it as another time to see why."
    )
