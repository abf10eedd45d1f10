"""The API's documents as marshmallow schemas: what requests may hold and responses give.

The OpenAPI document is generated from these (tracker/api/openapi.py). Request schemas raise
on unknown fields; integers are strict, so "5" is not 5.
"""

from marshmallow import EXCLUDE, Schema, fields, validate

from ..models import APPOINTMENT_STATUSES, CANCEL_REASONS
from ..scheduling import STATUSES, WORKLIST_STATUSES
from ..services.appointments import MOVE_REASON_LABELS

MAX_PER_PAGE = 100
MOVE_REASONS = tuple(MOVE_REASON_LABELS)
CLINICAL_COURSE_FIELDS = ("indication", "hold_reason", "discharge_reason")


def _id(strict: bool = True, **kw):
    """A row id: a positive integer (strict in JSON bodies; query strings are text)."""
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=2**31 - 1), **kw)


# ---------------------------------------------------------------------------- query strings


class PageQuery(Schema):
    """Page-number pagination."""

    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PatientQuery(PageQuery):
    """Find patients by name beginnings, MRN or date of birth (YYYY-MM-DD)."""

    q = fields.String(load_default="", validate=validate.Length(max=100))


class AppointmentQuery(PageQuery):
    """A day's appointments (clinic-local date) or one patient's; at least one of them."""

    day = fields.Date(load_default=None)
    patient_id = _id(strict=False, load_default=None)


class SlotQuery(Schema):
    """Free chair time for a patient and appointment type between two clinic-local dates."""

    class Meta:
        unknown = EXCLUDE

    appointment_type_id = _id(strict=False, required=True)
    start = fields.Date(required=True, data_key="from")
    end = fields.Date(required=True, data_key="to")
    clinician_id = _id(strict=False, load_default=None)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(max=40),
        metadata={"description": "from meta.next_cursor of the page before: the next page"},
    )


class WorklistQuery(PageQuery):
    """The worklist's filters, as on the page."""

    status = fields.String(load_default=None, validate=validate.OneOf(WORKLIST_STATUSES))
    booked = fields.Boolean(load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(max=80))


# ---------------------------------------------------------------------------- request bodies


class NewAppointment(Schema):
    """Book one chair block; every booking rule of the pages applies."""

    patient_id = _id(required=True)
    appointment_type_id = _id(required=True)
    chair_id = _id(required=True)
    start_at = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with offset"})
    clinician_id = _id(load_default=None, allow_none=True)
    notes = fields.String(load_default="", validate=validate.Length(max=2000))


class MoveAppointment(Schema):
    """Move to another time or chair in place: the same appointment (id, calendar UID) at its
    new time, as the schedule page's move does."""

    chair_id = _id(required=True)
    start_at = fields.AwareDateTime(required=True)
    reason = fields.String(
        required=True,
        validate=validate.OneOf(MOVE_REASONS),
        metadata={"description": "who asked for the change"},
    )
    patient_agreed = fields.Boolean(
        load_default=False,
        metadata={
            "description": "the patient agreed to the new time: a confirmed visit stays "
            "confirmed; otherwise it waits for a new confirmation"
        },
    )
    appointment_type_id = _id(
        load_default=None, allow_none=True, metadata={"description": "default: the same type"}
    )
    clinician_id = _id(
        allow_none=True,
        metadata={"description": "default: the same clinician; null for none"},
    )


class CancelAppointment(Schema):
    """Cancel, with the reason."""

    reason = fields.String(required=True, validate=validate.OneOf(CANCEL_REASONS))


class ConfirmAppointment(Schema):
    """Confirm a booked appointment (no fields)."""


# ---------------------------------------------------------------------------- responses


class PageInfo(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    next = fields.String(
        required=True, allow_none=True, metadata={"description": "URL of the next page"}
    )


class CourseOut(Schema):
    """A course: stored state and mode, derived status on today's date, and the window.

    indication, hold_reason, discharge_reason and the protocol and phase are clinical: only
    clinician and admin tokens receive them.
    """

    id = fields.Integer(required=True)
    patient_id = fields.Integer(required=True)
    state = fields.String(required=True)
    mode = fields.String(required=True)
    status = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(STATUSES),
        metadata={"description": "derived on today's date; null for a closed course"},
    )
    series_planned = fields.Integer(required=True)
    qualifying_count = fields.Integer(required=True)
    min_days = fields.Integer(required=True)
    max_days = fields.Integer(required=True)
    opened_on = fields.Date(required=True)
    closed_on = fields.Date(required=True, allow_none=True)
    anchor_date = fields.Date(required=True, allow_none=True)
    window_opens = fields.Date(required=True, allow_none=True)
    window_closes = fields.Date(required=True, allow_none=True)
    indication = fields.String()
    hold_reason = fields.String(allow_none=True)
    discharge_reason = fields.String(allow_none=True)
    protocol = fields.String(metadata={"description": "the protocol the course walks (clinical)"})
    phase = fields.String(metadata={"description": "the phase it is in (clinical)"})
    phase_position = fields.Integer(metadata={"description": "1 for the protocol's first phase"})
    phases = fields.Integer(metadata={"description": "how many phases the protocol has"})
    phase_started_on = fields.Date(allow_none=True)
    missed_dose_proposal = fields.String(
        allow_none=True,
        metadata={"description": "the phase a missed dose proposes returning to today, if any"},
    )


class PatientOut(Schema):
    """A patient's demographics and email consent."""

    id = fields.Integer(required=True)
    mrn = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    date_of_birth = fields.Date(required=True)
    email = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)
    email_consent = fields.Boolean(required=True)
    email_opted_out = fields.Boolean(required=True)


class PatientDetailOut(PatientOut):
    """A patient with every course (open first)."""

    courses = fields.List(fields.Nested(CourseOut), required=True)


class PatientPage(Schema):
    items = fields.List(fields.Nested(PatientOut), required=True)
    meta = fields.Nested(PageInfo, required=True)


class AppointmentOut(Schema):
    """A chair block with its FHIR Appointment status; times ISO 8601 in clinic time."""

    id = fields.Integer(required=True)
    patient_id = fields.Integer(required=True)
    course_id = fields.Integer(required=True, allow_none=True)
    appointment_type_id = fields.Integer(required=True)
    chair_id = fields.Integer(required=True)
    clinician_id = fields.Integer(required=True, allow_none=True)
    start_at = fields.String(required=True, metadata={"format": "date-time"})
    end_at = fields.String(required=True, metadata={"format": "date-time"})
    status = fields.String(required=True, validate=validate.OneOf(APPOINTMENT_STATUSES))
    cancel_reason = fields.String(required=True, allow_none=True)
    rescheduled_from_id = fields.Integer(required=True, allow_none=True)
    notes = fields.String(required=True)
    etag = fields.String(required=True, metadata={"description": "the value to send in If-Match"})


class AppointmentPage(Schema):
    items = fields.List(fields.Nested(AppointmentOut), required=True)
    meta = fields.Nested(PageInfo, required=True)


class SlotOut(Schema):
    chair_id = fields.Integer(required=True)
    start_at = fields.String(required=True, metadata={"format": "date-time"})
    end_at = fields.String(required=True, metadata={"format": "date-time"})


class CursorInfo(Schema):
    """Cursor pagination: the cursor of the next page and its URL, null on the last page."""

    limit = fields.Integer(required=True)
    next_cursor = fields.String(required=True, allow_none=True)
    next = fields.String(
        required=True, allow_none=True, metadata={"description": "URL of the next page"}
    )


class SlotsOut(Schema):
    """Free blocks in the range asked for, with the patient's window when there is one;
    `limit` at a time, the next ones through `meta.next`."""

    patient_id = fields.Integer(required=True)
    appointment_type_id = fields.Integer(required=True)
    window_opens = fields.Date(required=True, allow_none=True)
    window_closes = fields.Date(required=True, allow_none=True)
    slots = fields.List(fields.Nested(SlotOut), required=True)
    meta = fields.Nested(CursorInfo, required=True)


class WorklistRowOut(Schema):
    patient_id = fields.Integer(required=True)
    mrn = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(WORKLIST_STATUSES))
    anchor_date = fields.Date(required=True, allow_none=True)
    window_opens = fields.Date(required=True, allow_none=True)
    window_closes = fields.Date(required=True, allow_none=True)
    booked = fields.Boolean(required=True)
    next_appointment = fields.String(
        required=True, allow_none=True, metadata={"format": "date-time"}
    )


class WorklistPage(Schema):
    on = fields.Date(required=True)
    items = fields.List(fields.Nested(WorklistRowOut), required=True)
    meta = fields.Nested(PageInfo, required=True)


class FieldProblem(Schema):
    field = fields.String()
    pointer = fields.String()
    detail = fields.String(required=True)


class ProblemOut(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(FieldProblem))
