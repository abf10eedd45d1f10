"""Helpers for the patient-link tests: a clinic open every day with chairs bookable online, and
patients whose window is open today (real dates: the patient pages read the real clock)."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import (
    Appointment,
    AppointmentStatusChange,
    AppointmentType,
    AuditEvent,
    Chair,
    OpeningHours,
    Reminder,
)
from tracker.services.appointments import new_uid
from tracker.services.clinic import clinic_today, get_settings
from tracker.services.infusions import record_infusion

from .factories import make_course, make_patient

# Words DOMAIN.md keeps out of patient pages and mail (the record below holds each of them).
CLINICAL_WORDS = (
    "infusion",
    "ketamine",
    "pain",
    "depression",
    "crps",
    "fibromyalgia",
    "mg/kg",
    "dose",
)


def open_clinic(chairs: int = 2) -> dict:
    """Open 07:00-19:00 every day; `chairs` chairs bookable online plus one that is not; a
    maintenance type bookable online and a series type that is not."""
    for weekday in range(7):
        db.session.add(OpeningHours(weekday=weekday, opens=time(7), closes=time(19)))
    seats = [
        Chair(name=f"Chair {n}", position=n, bookable_online=True) for n in range(1, chairs + 1)
    ]
    staff_only = Chair(name="Staff chair", position=0, bookable_online=False)
    maintenance = AppointmentType(
        name="Maintenance 40 min",
        prep_min=15,
        infusion_min=40,
        recovery_min=45,
        bookable_online=True,
    )
    series = AppointmentType(
        name="Series 4 h", prep_min=15, infusion_min=240, recovery_min=45, for_series=True
    )
    db.session.add_all([*seats, staff_only, maintenance, series])
    settings = get_settings()
    settings.display_name = "Northside Clinic"
    settings.phone = "555 0199"
    settings.address = "1 Main Street"
    db.session.flush()
    return {
        "chairs": seats,
        "staff_chair": staff_only,
        "maintenance": maintenance,
        "series": series,
    }


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A clinic wall-clock time as an aware UTC instant."""
    zone = ZoneInfo(get_settings().timezone)
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def due_patient(days_since_anchor: int = 40, **patient_kw):
    """A patient in maintenance whose window (anchor + 30 .. + 90) holds today, with clinical
    words in their record (indication, notes) that must never reach their pages or mail."""
    today = clinic_today()
    anchor = today - timedelta(days=days_since_anchor)
    patient = make_patient(**patient_kw)
    course = make_course(
        patient, series_planned=1, opened_on=anchor, indication="CRPS pain, depression"
    )
    record_infusion(
        course,
        actor="system",
        settings=get_settings(),
        today=anchor,
        given_at=local(anchor, 10),
        require_early_reason=False,
        notes="ketamine infusion 0.5 mg/kg dose; fibromyalgia pain 7/10",
    )
    db.session.flush()
    return patient, course


def visit(patient, chair, kind, start: datetime, status: str = "pending") -> Appointment:
    """An appointment written straight to the database."""
    appointment = Appointment(
        uid=new_uid(),
        patient_id=patient.id,
        chair_id=chair.id,
        appointment_type_id=kind.id,
        start_at=start,
        end_at=start + timedelta(minutes=kind.block_minutes),
        status=status,
        course_id=patient.courses[0].id if patient.courses else None,
    )
    db.session.add(appointment)
    db.session.flush()
    db.session.add(AppointmentStatusChange(appointment_id=appointment.id, to_status=status))
    db.session.flush()
    return appointment


def snapshot() -> dict:
    """Everything a patient action could change, to compare before and after a GET."""
    return {
        "appointments": db.session.execute(
            select(
                Appointment.id,
                Appointment.status,
                Appointment.start_at,
                Appointment.sequence,
                Appointment.cancel_reason,
            ).order_by(Appointment.id)
        ).all(),
        "changes": db.session.scalar(select(db.func.count(AppointmentStatusChange.id))),
        "audit": db.session.scalar(select(db.func.count(AuditEvent.id))),
        "reminders": db.session.execute(
            select(Reminder.id, Reminder.status).order_by(Reminder.id)
        ).all(),
        "holds": db.session.execute(db.text("SELECT count(*) FROM slot_holds")).scalar(),
        "hits": db.session.execute(db.text("SELECT count(*) FROM page_hits")).scalar(),
    }


def slot_values(html: str) -> list[str]:
    """The values of the time buttons on a page."""
    return re.findall(r'name="slot" value="(\d+-\d+)"', html)


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def assert_no_clinical_words(text: str) -> None:
    """None of DOMAIN.md's clinical words (nor the product's name) appears in the text."""
    lowered = text.lower()
    found = [word for word in CLINICAL_WORDS if word in lowered]
    assert not found, f"clinical words on a patient page or message: {found}"
    assert "infusion tracker" not in lowered
