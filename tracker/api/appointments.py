"""API: appointments by day or patient, one appointment, book, move, cancel, confirm.

Every change goes through the same services as the schedule pages; updates need the
appointment's current ETag in If-Match, so a change made meanwhile is never overwritten.
"""

from flask import g, request, url_for
from sqlalchemy import func, select

from ..database import lock_for_write
from ..extensions import db
from ..models import Appointment, AppointmentType, Chair, Patient, User, utcnow
from ..reminders import notices
from ..services import appointments as service
from ..services.clinic import clinic_zone, get_settings
from ..services.errors import RuleError
from .operations import STANDARD_ERRORS, json_body, operation, query_args
from .present import appointment_document, etag_of, page_document
from .problems import Problem, field_error
from .schemas import (
    AppointmentOut,
    AppointmentPage,
    AppointmentQuery,
    CancelAppointment,
    ConfirmAppointment,
    MoveAppointment,
    NewAppointment,
)

UPDATE_ERRORS = (*STANDARD_ERRORS, 404, 409, 412, 428)


def _rule_problem(error: RuleError) -> Problem:
    """A service's refusal as a 409 (a rule of the clinic) or 422 (a field's value)."""
    field = {"slot": "start_at"}.get(error.field or "", error.field)  # the move's "same time"
    status = 422 if field in ("reason", "start_at") else 409
    return Problem(status, str(error), [field_error(field, str(error))])


@operation(
    "/appointments",
    summary="Appointments of a day or of a patient",
    tag="appointments",
    query=AppointmentQuery,
    response=AppointmentPage,
    errors=STANDARD_ERRORS,
)
def appointments():
    """A clinic-local `day`'s appointments, or one patient's (`patient_id`), or both
    narrowed together; by start time. Every status is listed, cancelled ones too."""
    args = query_args(AppointmentQuery)
    if args["day"] is None and args["patient_id"] is None:
        raise Problem(
            422,
            "Give a day or a patient.",
            [field_error("day", "Give a day (YYYY-MM-DD) or a patient_id.")],
        )
    zone = clinic_zone()
    statement = select(Appointment)
    if args["day"] is not None:
        start, end = service.day_bounds(args["day"], args["day"], zone)
        statement = statement.where(Appointment.start_at >= start, Appointment.start_at < end)
    if args["patient_id"] is not None:
        statement = statement.where(Appointment.patient_id == args["patient_id"])
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = db.session.scalars(
        statement.order_by(Appointment.start_at, Appointment.id)
        .offset((args["page"] - 1) * args["per_page"])
        .limit(args["per_page"])
    ).all()
    return page_document(
        [appointment_document(a, zone) for a in rows],
        page=args["page"],
        per_page=args["per_page"],
        total=total or 0,
    )


def _answer(appointment: Appointment, status: int = 200):
    document = appointment_document(appointment, clinic_zone())
    headers = {"ETag": document["etag"]}
    if status == 201:
        headers["Location"] = url_for("api.appointment", appointment_id=appointment.id)
    return document, status, headers


@operation(
    "/appointments/<int:appointment_id>",
    summary="One appointment",
    tag="appointments",
    response=AppointmentOut,
    etag=True,
    errors=(*STANDARD_ERRORS, 404),
)
def appointment(appointment_id: int):
    """The appointment, with its ETag (send it back in If-Match to change it)."""
    found = db.session.get(Appointment, appointment_id)
    if found is None:
        raise Problem(404, "There is no appointment with this id.")
    return _answer(found)


def _get(model, value, field: str, what: str):
    found = db.session.get(model, value) if value is not None else None
    if value is not None and found is None:
        raise Problem(
            422,
            f"There is no {what} with this id.",
            [field_error(field, f"Choose an existing {what}.")],
        )
    return found


@operation(
    "/appointments",
    "POST",
    summary="Book an appointment",
    tag="appointments",
    body=NewAppointment,
    response=AppointmentOut,
    status=201,
    etag=True,
    errors=(*STANDARD_ERRORS, 409),
)
def book():
    """Book one chair block for the patient, checked by every rule of the booking page
    (opening hours, closed dates, the chair free, the patient's other visits, the
    clinician's capacity). A refusal is a 409 naming the field; nothing is saved. The patient
    is emailed the booking (when they agreed to email), as from the booking page."""
    values = json_body(NewAppointment)
    patient = _get(Patient, values["patient_id"], "patient_id", "patient")
    kind = _get(
        AppointmentType, values["appointment_type_id"], "appointment_type_id", "appointment type"
    )
    chair = _get(Chair, values["chair_id"], "chair_id", "chair")
    clinician = _get(User, values["clinician_id"], "clinician_id", "clinician")
    try:
        booked = service.book(
            patient,
            appointment_type=kind,
            chair=chair,
            start_at=values["start_at"],
            actor=g.api_user,
            clinician=clinician,
            notes=values["notes"],
        )
        notices.visit_booked(booked, now=utcnow(), settings=get_settings())
        db.session.commit()
    except RuleError as error:
        db.session.rollback()
        raise _rule_problem(error) from None
    return _answer(booked, 201)


def _locked_matching(appointment_id: int) -> Appointment:
    """The appointment locked for this transaction, after checking If-Match against it."""
    wanted = request.headers.get("If-Match")
    if not wanted:
        raise Problem(428, "Send the appointment's ETag in If-Match (read it with GET first).")
    lock_for_write(db.session)
    found = db.session.scalar(
        select(Appointment)
        .where(Appointment.id == appointment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        db.session.rollback()
        raise Problem(404, "There is no appointment with this id.")
    tags = [tag.strip() for tag in wanted.split(",")]
    if "*" not in tags and etag_of(found) not in tags:
        db.session.rollback()
        raise Problem(
            412,
            "The appointment changed since you read it; read it again and retry.",
            headers={"ETag": etag_of(found)},
        )
    return found


def _change(appointment_id: int, change) -> Appointment:
    found = _locked_matching(appointment_id)
    try:
        result = change(found)
        db.session.commit()
    except RuleError as error:
        db.session.rollback()
        raise _rule_problem(error) from None
    return result


@operation(
    "/appointments/<int:appointment_id>/move",
    "POST",
    summary="Move an appointment",
    tag="appointments",
    body=MoveAppointment,
    response=AppointmentOut,
    etag=True,
    if_match=True,
    errors=UPDATE_ERRORS,
)
def move(appointment_id: int):
    """Move to another time or chair in place, as the schedule page's move does: the same
    appointment (its id and calendar UID kept, its SEQUENCE raised), checked by every rule of
    a new booking, its own old block not in its way. It stays confirmed only when
    `patient_agreed`; the patient is told of the new time once."""
    values = json_body(MoveAppointment)
    chair = _get(Chair, values["chair_id"], "chair_id", "chair")
    kind = _get(
        AppointmentType, values["appointment_type_id"], "appointment_type_id", "appointment type"
    )
    clinician = _get(User, values.get("clinician_id"), "clinician_id", "clinician")

    def move_in_place(found: Appointment) -> Appointment:
        supervising = clinician
        if "clinician_id" not in values and found.clinician_id is not None:
            supervising = db.session.get(User, found.clinician_id)  # unchanged unless given
        moved = service.move_appointment(
            found,
            chair=chair,
            start_at=values["start_at"],
            actor=g.api_user,
            reason=values["reason"],
            patient_agreed=values["patient_agreed"],
            appointment_type=kind,
            clinician=supervising,
        )
        notices.visit_moved(moved.appointment, now=utcnow(), settings=get_settings())
        return moved.appointment

    return _answer(_change(appointment_id, move_in_place))


@operation(
    "/appointments/<int:appointment_id>/cancel",
    "POST",
    summary="Cancel an appointment",
    tag="appointments",
    body=CancelAppointment,
    response=AppointmentOut,
    etag=True,
    if_match=True,
    errors=UPDATE_ERRORS,
)
def cancel(appointment_id: int):
    """Cancel a booked appointment (confirmed or not) with its reason, as the appointment
    page does; a patient who was emailed about the visit is told it is cancelled."""
    values = json_body(CancelAppointment)

    def cancel_visit(found: Appointment) -> Appointment:
        now = utcnow()
        service.mark(found, "cancelled", actor=g.api_user, now=now, reason=values["reason"])
        notices.visit_cancelled(found, now=now, settings=get_settings())
        return found

    return _answer(_change(appointment_id, cancel_visit))


@operation(
    "/appointments/<int:appointment_id>/confirm",
    "POST",
    summary="Confirm an appointment",
    tag="appointments",
    body=ConfirmAppointment,
    response=AppointmentOut,
    etag=True,
    if_match=True,
    errors=UPDATE_ERRORS,
)
def confirm(appointment_id: int):
    """Confirm an appointment that is booked but not yet confirmed."""
    json_body(ConfirmAppointment)
    return _answer(
        _change(
            appointment_id,
            lambda found: service.mark(found, "booked", actor=g.api_user, now=utcnow()),
        )
    )
