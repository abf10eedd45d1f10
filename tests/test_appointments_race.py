"""Concurrent bookings: real threads, each with its own app context, session and connection.

Each booking's check is slowed down so that, without a guard, every thread would pass the check
before any inserts. On SQLite the write lock taken before the check serialises them; on
PostgreSQL the exclusion constraint (chair) and the row locks (patient, clinician) decide.
"""
import threading
import time as clock

import pytest
from sqlalchemy import func, select

from tracker import booking
from tracker.extensions import db
from tracker.models import ACTIVE_STATUSES, Appointment, AppointmentType, Chair, Patient, User
from tracker.services import appointments as service
from tracker.services.clinic import get_settings
from tracker.services.errors import RuleError

from .conftest import login
from .factories import make_patient, make_user
from .schedule_fixtures import MONDAY, NOW, at, frozen_clock, setup_clinic  # noqa: F401

THREADS = 6
pytestmark = pytest.mark.slow


@pytest.fixture
def slow_check(monkeypatch):
    """Hold every thread a moment between the conflict check and the insert."""
    real = booking.check_block

    def check_then_wait(**kw):
        refusal = real(**kw)
        clock.sleep(0.15)
        return refusal

    monkeypatch.setattr(service.booking, "check_block", check_then_wait)


def _setup(app, scenario):
    with app.app_context():
        clinic = setup_clinic(chairs=THREADS)
        get_settings().max_concurrent_per_clinician = 1
        doctor = make_user("clinician")
        shared_patient = make_patient()
        jobs = []
        for n in range(THREADS):
            patient = shared_patient if scenario == "patient" else make_patient()
            chair = clinic["chairs"][0] if scenario == "chair" else clinic["chairs"][n]
            clinician = doctor if scenario == "clinician" else None
            jobs.append((patient.id, chair.id, clinic["maintenance"].id,
                         clinician.id if clinician else None))
        db.session.commit()
        return jobs


def _run_threads(target, jobs):
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait(timeout=10)
            results[index] = target(job)
        except Exception as error:  # reported by the assertion below, never lost in the thread
            results[index] = f"error: {error!r}"

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("scenario", ["chair", "patient", "clinician"])
def test_concurrent_bookings_exactly_one_wins(app, slow_check, scenario):
    """Six threads book the same chair time (or the same patient, or a clinician with capacity 1)
    at once: exactly one booking is saved, the others get a clear refusal."""
    jobs = _setup(app, scenario)

    def book(job):
        patient_id, chair_id, type_id, clinician_id = job
        with app.app_context():
            try:
                service.book(db.session.get(Patient, patient_id),
                             appointment_type=db.session.get(AppointmentType, type_id),
                             chair=db.session.get(Chair, chair_id), start_at=at(MONDAY, 9),
                             clinician=db.session.get(User, clinician_id) if clinician_id else None,
                             actor="test", now=NOW)
                db.session.commit()
                return "booked"
            except RuleError as error:
                db.session.rollback()
                return f"refused: {error}"
            finally:
                db.session.remove()

    results = _run_threads(book, jobs)
    assert results.count("booked") == 1, results
    assert all(r.startswith("refused: ") for r in results if r != "booked"), results
    with app.app_context():
        saved = db.session.scalar(select(func.count()).select_from(Appointment)
                                  .where(Appointment.status.in_(ACTIVE_STATUSES)))
    assert saved == 1


def test_concurrent_requests_through_the_booking_page(app, slow_check, frozen_clock):
    """Four front-desk users press Book on the same free slot at the same moment: one booking."""
    jobs = _setup(app, "chair")[:4]
    with app.app_context():
        users = [make_user("frontdesk") for _ in jobs]
        db.session.commit()
        for user in users:
            db.session.refresh(user)
            db.session.expunge(user)
    clients = [app.test_client() for _ in jobs]
    for client, user in zip(clients, users):
        login(client, user)
    slot = f"{jobs[0][1]}|{at(MONDAY, 9).strftime('%Y-%m-%dT%H:%M')}"

    def post(job):
        index = jobs.index(job)
        patient_id, _, type_id, _ = job
        response = clients[index].post(f"/schedule/book?patient_id={patient_id}", data={
            "appointment_type_id": type_id, "clinician_id": "", "slot": slot})
        return response.status_code

    codes = _run_threads(post, jobs)
    assert sorted(codes) == [303, 400, 400, 400], codes
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
