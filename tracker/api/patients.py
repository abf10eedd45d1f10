"""API: find patients, one patient with their courses, free chair time for a patient."""

import base64
import binascii
from datetime import datetime, timedelta
from typing import Any

from flask import request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import booking
from ..extensions import db
from ..models import OPEN_STATES, AppointmentType, Course, Patient, Protocol
from ..services import appointments as appointment_service
from ..services import search
from ..services.clinic import clinic_today, clinic_zone, get_settings
from ..services.courses import open_course_for
from .operations import STANDARD_ERRORS, may_see_clinical, operation, query_args
from .present import course_document, instant, page_document, patient_document
from .problems import Problem, field_error
from .schemas import PatientDetailOut, PatientPage, PatientQuery, SlotQuery, SlotsOut

MAX_SLOT_RANGE_DAYS = 92  # one request searches at most about three months


@operation(
    "/patients",
    summary="Find patients by name, MRN or date of birth",
    tag="patients",
    query=PatientQuery,
    response=PatientPage,
    errors=STANDARD_ERRORS,
)
def patients():
    """Patients found as the header search finds them (name words in any order, MRN, date of
    birth, phone, email; services/search.py); every patient when `q` is empty."""
    args = query_args(PatientQuery)
    query = search.parse(args["q"], date_order=get_settings().date_order, today=clinic_today())
    if not query.text:
        statement = select(Patient).order_by(Patient.last_name, Patient.first_name, Patient.id)
    else:
        found = search.patients_statement(query)
        if found is None:
            problem = query.problem or "Nothing can match this search."
            raise Problem(422, problem, [field_error("q", problem)])
        statement = found
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = db.session.scalars(
        statement.offset((args["page"] - 1) * args["per_page"]).limit(args["per_page"])
    ).all()
    return page_document(
        [patient_document(p) for p in rows],
        page=args["page"],
        per_page=args["per_page"],
        total=total or 0,
    )


def _patient(patient_id: int) -> Patient:
    patient = db.session.scalar(
        select(Patient)
        .where(Patient.id == patient_id)
        # Each course's protocol and phases go out to clinicians: read with the courses, as
        # the patient page does, not one course at a time.
        .options(
            selectinload(Patient.courses)
            .selectinload(Course.protocol)
            .selectinload(Protocol.phases)
        )
    )
    if patient is None:
        raise Problem(404, "There is no patient with this id.")
    return patient


@operation(
    "/patients/<int:patient_id>",
    summary="One patient with their courses",
    tag="patients",
    response=PatientDetailOut,
    errors=(*STANDARD_ERRORS, 404),
)
def patient(patient_id: int):
    """The patient and every course (open first), each with its status on today's date and its
    window. Clinical fields (indication, hold and discharge reasons) go to clinician and
    admin tokens only."""
    found = _patient(patient_id)
    settings, today, clinical = get_settings(), clinic_today(), may_see_clinical()
    courses = sorted(found.courses, key=lambda c: (c.state not in OPEN_STATES, -c.id))
    document = patient_document(found)
    document["courses"] = [course_document(c, settings, today, clinical=clinical) for c in courses]
    return document


@operation(
    "/patients/<int:patient_id>/free-slots",
    summary="Free chair time for a patient",
    tag="appointments",
    query=SlotQuery,
    response=SlotsOut,
    errors=(*STANDARD_ERRORS, 404),
)
def free_slots(patient_id: int):
    """The earliest free chair blocks for the appointment type between `from` and `to`
    (clinic-local dates, both included, at most 92 days), checked by the same rules as the
    booking page: hours, closed dates, chair blocks, the patient's other visits and the
    clinician's capacity. The patient's window is given alongside, when there is one."""
    args = query_args(SlotQuery)
    found = _patient(patient_id)
    kind = db.session.get(AppointmentType, args["appointment_type_id"])
    if kind is None or not kind.active:
        raise Problem(
            422,
            "There is no appointment type in use with this id.",
            [field_error("appointment_type_id", "Choose an appointment type in use.")],
        )
    first, last = args["start"], args["end"]
    if last < first:
        raise Problem(
            422,
            "The range ends before it starts.",
            [field_error("to", "Give a date on or after 'from'.")],
        )
    if last - first > timedelta(days=MAX_SLOT_RANGE_DAYS - 1):
        raise Problem(
            422,
            "The range is too long.",
            [field_error("to", f"Search at most {MAX_SLOT_RANGE_DAYS} days at a time.")],
        )
    course: Course | None = open_course_for(found.id)
    zone = clinic_zone()
    limit = args["limit"]
    found_slots = appointment_service.free_slots(
        found,
        kind,
        first,
        last,
        clinician_id=args["clinician_id"],
        limit=limit + 1,  # one more: is there a next page, and where does it start?
        per_day=limit + 1,
        not_before=_cursor_instant(args["cursor"]),
    )
    slots, following = found_slots[:limit], found_slots[limit:]
    next_cursor = _cursor_of(following[0].start) if following else None
    next_url = None
    if next_cursor is not None:
        query: dict[str, Any] = {**request.args.to_dict(), "cursor": next_cursor}
        next_url = url_for("api.free_slots", patient_id=found.id, **query)
    return {
        "patient_id": found.id,
        "appointment_type_id": kind.id,
        "window_opens": course.window_opens.isoformat() if course and course.window_opens else None,
        "window_closes": course.window_closes.isoformat()
        if course and course.window_closes
        else None,
        "slots": [
            {
                "chair_id": s.chair_id,
                "start_at": instant(s.start, zone),
                "end_at": instant(s.end, zone),
            }
            for s in slots
        ],
        "meta": {"limit": limit, "next_cursor": next_cursor, "next": next_url},
    }


CURSOR_PREFIX = "s1."  # cursor version 1: the first slot of the next page, epoch seconds


def _cursor_of(start: datetime) -> str:
    """An opaque cursor for the page that begins with the slot starting at `start`."""
    return CURSOR_PREFIX + base64.urlsafe_b64encode(str(booking.epoch(start)).encode()).decode()


def _cursor_instant(cursor: str | None) -> datetime | None:
    """The instant a cursor stands for; a 422 problem naming `cursor` when it is not ours."""
    if cursor is None:
        return None
    try:
        seconds = base64.urlsafe_b64decode(cursor.removeprefix(CURSOR_PREFIX).encode()).decode()
        if not cursor.startswith(CURSOR_PREFIX) or not seconds.isdigit() or len(seconds) > 11:
            raise ValueError(cursor)
        return booking.from_epoch(int(seconds))
    except (ValueError, UnicodeError, binascii.Error, OverflowError, OSError):
        raise Problem(
            422,
            "The cursor is not one this API gave.",
            [field_error("cursor", "Use meta.next_cursor from the page before, unchanged.")],
        ) from None
