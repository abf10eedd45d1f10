"""FHIR Appointment: stored visits with their stored status codes, and every unbooked window
as a proposed Appointment whose requestedPeriod is the window.

Which windows are unbooked comes from the status rule's own SQL (tracker.status: the status
filter and `booked_expr`, as the worklist uses them): no second copy of the rule here.
"""

import re
from datetime import date

from flask import request
from sqlalchemy import func, not_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import APPOINTMENT_STATUSES, Appointment, Course
from ..services.clinic import clinic_today, clinic_zone, get_settings
from ..status import booked_expr, clock_for, status_filter
from . import bp
from .outcomes import FhirError
from .params import Instants, date_range, paging, record_id, reference_id, tokens
from .resources import WINDOW_PREFIX, appointment_resource, searchset, window_id, window_resource
from .views import fhir_json, may_see_clinical, page_links

# Every maintenance status that has a window; a booked course is left out by booked_expr.
WINDOW_STATUSES = ("not_yet_due", "due", "overdue", "lapsed")
_WINDOW_ID = re.compile(rf"^{WINDOW_PREFIX}(\d{{1,10}})-(\d{{8}})$")


def _windows(patient_id: int | None, first: date | None, last: date | None):
    """select(Course) of the unbooked windows touching [first, last] (either may be open)."""
    clock = clock_for(clinic_today(), get_settings())
    statement = select(Course).where(
        status_filter(WINDOW_STATUSES, clock),
        Course.window_opens.is_not(None),
        not_(booked_expr(clock)),
    )
    if patient_id is not None:
        statement = statement.where(Course.patient_id == patient_id)
    if first is not None:
        statement = statement.where(Course.window_closes >= first)
    if last is not None:
        statement = statement.where(Course.window_opens <= last)
    return statement


def _stored(patient_id: int | None, instants: Instants, statuses: set[str] | None):
    """select(Appointment) of the visits starting inside the range, of the statuses asked."""
    statement = select(Appointment)
    if patient_id is not None:
        statement = statement.where(Appointment.patient_id == patient_id)
    if instants.start is not None:
        statement = statement.where(Appointment.start_at >= instants.start)
    if instants.end is not None:
        statement = statement.where(Appointment.start_at < instants.end)
    if statuses is not None:
        statement = statement.where(Appointment.status.in_(sorted(statuses)))
    return statement


def _count(statement) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def _indications(courses) -> dict[int, str]:
    return {c.id: c.indication for c in courses if c is not None}


@bp.get("/Appointment")
def appointments():
    """Visits and unbooked windows: `patient` (Patient/<id>), `date` (eq, ge, gt, le, lt on a
    visit's start, as FHIR defines it: a window has no start), `requested-period` (the same
    prefixes; the windows touching the range, as R5's parameter of that name), `status`
    (codes, comma-separated; `proposed` for the windows), `_count` and `_offset`. Visits come
    first, by start time, then windows, by the day they open."""
    count, offset = paging(request.args)
    zone = clinic_zone()
    patient_id = (
        reference_id(request.args["patient"], "Patient", "patient")
        if request.args.get("patient")
        else None
    )
    dates = request.args.getlist("date")
    periods = request.args.getlist("requested-period")
    instants = date_range(dates, "date", zone)
    first, last = date_range(periods, "requested-period", zone).days(zone)
    statuses = set(tokens(request.args["status"])) if request.args.get("status") else None
    stored = _stored(
        patient_id,
        instants,
        statuses & set(APPOINTMENT_STATUSES) if statuses is not None else None,
    )
    windows = _windows(patient_id, first, last)
    with_stored = not periods  # a visit has no requestedPeriod
    with_windows = not dates and (statuses is None or "proposed" in statuses)
    stored_total = _count(stored) if with_stored else 0
    window_total = _count(windows) if with_windows else 0
    clinical = may_see_clinical()
    resources = []
    if count and with_stored and offset < stored_total:
        options = [selectinload(Appointment.appointment_type), selectinload(Appointment.chair)]
        if clinical:
            options.append(selectinload(Appointment.course))
        rows = db.session.scalars(
            stored.options(*options)
            .order_by(Appointment.start_at, Appointment.id)
            .offset(offset)
            .limit(count)
        ).all()
        indications = _indications(a.course for a in rows) if clinical else {}
        resources += [
            appointment_resource(
                a, zone, clinical=clinical, indication=indications.get(a.course_id or 0)
            )
            for a in rows
        ]
    room = count - len(resources)
    if room and with_windows:
        skip = max(0, offset - stored_total)
        courses = db.session.scalars(
            windows.order_by(Course.window_opens, Course.id).offset(skip).limit(room)
        ).all()
        resources += [window_resource(c, clinical=clinical) for c in courses]
    total = stored_total + window_total
    return fhir_json(
        searchset(
            resources,
            total=total,
            links=page_links(
                "fhir.appointments", count=count, offset=offset, more=offset + count < total
            ),
        )
    )


@bp.get("/Appointment/<resource_id>")
def appointment(resource_id: str):
    """A stored visit by its id, or an unbooked window by its `window-` id (gone once the
    window is booked or replaced by a new one)."""
    zone = clinic_zone()
    clinical = may_see_clinical()
    window = _WINDOW_ID.match(resource_id)
    if window is not None:
        course_id = record_id(window.group(1))
        found = (
            db.session.scalar(_windows(None, None, None).where(Course.id == course_id))
            if course_id is not None
            else None
        )
        if found is None or window_id(found) != resource_id:
            raise FhirError(404, "This window is booked, or is no longer the patient's window.")
        return fhir_json(window_resource(found, clinical=clinical))
    row_id = record_id(resource_id)
    visit = db.session.get(Appointment, row_id) if row_id is not None else None
    if visit is None:
        raise FhirError(404, "There is no appointment with this id.")
    indication = visit.course.indication if clinical and visit.course is not None else None
    return fhir_json(appointment_resource(visit, zone, clinical=clinical, indication=indication))
