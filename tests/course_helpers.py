"""Test helpers for status, worklist and CLI tests: courses with given facts, appointments."""
import itertools
from datetime import date, timedelta

from sqlalchemy import select

from tracker import scheduling
from tracker.extensions import db
from tracker.models import Appointment, AppointmentType, Chair

from .factories import make_course, make_patient

_uid = itertools.count(1)


def maintenance_course(anchor: date | None, *, mode="scheduled", min_days=30, max_days=90,
                       patient=None, **patient_kw):
    """A patient whose series is complete, anchored on `anchor` (facts stored as services would)."""
    patient = patient or make_patient(**patient_kw)
    window = scheduling.window_for(anchor, min_days, max_days) if anchor else None
    return make_course(patient, state="maintenance", mode=mode, min_days=min_days,
                       max_days=max_days, qualifying_count=6, last_qualifying_on=anchor,
                       anchor_date=anchor, window_opens=window.opens if window else None,
                       window_closes=window.closes if window else None)


def series_course(last: date | None, *, count=2, **patient_kw):
    """A patient part-way through a 6-infusion series whose last session was on `last`."""
    return make_course(make_patient(**patient_kw), state="series_in_progress",
                       qualifying_count=count if last else 0, last_qualifying_on=last)


def book(course, start_at, *, status="booked", minutes=100):
    """An appointment for the course's patient (one chair per appointment: no overlaps)."""
    kind = db.session.scalar(select(AppointmentType).limit(1))
    if kind is None:
        kind = AppointmentType(name="Maintenance 40 min", prep_min=15, infusion_min=40, recovery_min=45)
        db.session.add(kind)
    n = next(_uid)
    chair = Chair(name=f"Test chair {n}")
    db.session.add(chair)
    db.session.flush()
    appointment = Appointment(uid=f"test-{n}@clinic.test", patient_id=course.patient_id,
                              course_id=course.id, appointment_type_id=kind.id, chair_id=chair.id,
                              start_at=start_at, end_at=start_at + timedelta(minutes=minutes),
                              status=status)
    db.session.add(appointment)
    db.session.flush()
    return appointment
