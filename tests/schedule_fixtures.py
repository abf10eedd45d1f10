"""Helpers for the booking, schedule and calendar tests: a clinic with chairs, hours and types."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tracker.extensions import db
from tracker.models import Appointment, AppointmentStatusChange, AppointmentType, Chair, OpeningHours
from tracker.services.appointments import new_uid
from tracker.services.clinic import get_settings
from tracker.services.infusions import record_infusion

from .factories import make_course, make_patient

CLINIC_TZ = "America/New_York"
ZONE = ZoneInfo(CLINIC_TZ)
# A Monday in the future of the test clock; the clinic opens 08:00-18:00 on weekdays.
MONDAY = date(2027, 1, 4)
NOW = datetime(2027, 1, 4, 7, 0, tzinfo=ZONE).astimezone(timezone.utc)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware UTC instant for a clinic wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(timezone.utc)


def setup_clinic(chairs: int = 3, weekdays=range(5), opens=time(8), closes=time(18)) -> dict:
    """Opening hours, chairs and two appointment types (maintenance 100 min, series 5 h)."""
    for weekday in weekdays:
        db.session.add(OpeningHours(weekday=weekday, opens=opens, closes=closes))
    seats = [Chair(name=f"Chair {n}", position=n) for n in range(1, chairs + 1)]
    db.session.add_all(seats)
    maintenance = AppointmentType(name="Maintenance 40 min", prep_min=15, infusion_min=40, recovery_min=45)
    series = AppointmentType(name="Series 4 h", prep_min=15, infusion_min=240, recovery_min=45, for_series=True)
    db.session.add_all([maintenance, series])
    db.session.flush()
    return {"chairs": seats, "maintenance": maintenance, "series": series}


def maintenance_patient(anchor: date, min_days: int = 30, max_days: int = 90, **patient_kw):
    """A patient whose one-session series was given on `anchor`: maintenance, window after it."""
    patient = make_patient(**patient_kw)
    course = make_course(patient, series_planned=1, min_days=min_days, max_days=max_days,
                         opened_on=anchor)
    record_infusion(course, actor="test", settings=get_settings(), today=anchor,
                    given_at=at(anchor, 10))
    assert course.state == "maintenance" and course.anchor_date == anchor
    return patient, course


def series_patient(**patient_kw):
    """A patient whose series is in progress (no sessions yet)."""
    patient = make_patient(**patient_kw)
    return patient, make_course(patient)


def add_appointment(patient, chair, appointment_type, start: datetime, status="booked",
                    clinician=None, course=None) -> Appointment:
    """An appointment written directly (no rules), e.g. in the past or already arrived."""
    end = start + timedelta(minutes=appointment_type.block_minutes)
    appointment = Appointment(uid=new_uid(), patient_id=patient.id, chair_id=chair.id,
                              appointment_type_id=appointment_type.id, start_at=start, end_at=end,
                              status=status, clinician_id=clinician.id if clinician else None,
                              course_id=course.id if course else None)
    db.session.add(appointment)
    db.session.flush()
    db.session.add(AppointmentStatusChange(appointment_id=appointment.id, to_status=status))
    db.session.flush()
    return appointment


@pytest.fixture
def frozen_clock(freeze_clock):
    """Freeze the app's clock at NOW (Monday 2027-01-04, 07:00 clinic time)."""
    return freeze_clock(NOW)
