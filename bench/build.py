"""Build a bench clinic: schema, admin, CSV import through `flask import`, then a year of life.

The import is the project's own command, measured as a child process. What the import format
cannot say (holds, discharges, chairs, appointments, reminders already sent) is added after it
with bulk inserts through the models' tables.
"""
from __future__ import annotations

import logging
import os
import random
import secrets
import shutil
import time
import uuid
from datetime import date, datetime, time as wall_time, timedelta, timezone
from zoneinfo import ZoneInfo

from . import procs
from .generate import plan_for, write_clinic

ADMIN_EMAIL = "bench-admin@example.org"
CHAIRS = 12
BLOCK = (15, 40, 45)  # prep, infusion, recovery minutes: a 100-minute booster block
OPENS, CLOSES = wall_time(8, 0), wall_time(18, 0)
PAST_DAYS, FUTURE_DAYS, FULL_DAYS = 270, 95, 31  # a year of appointments around the bench date
HOLIDAYS = ("2025-12-25", "2026-01-01", "2026-05-25", "2026-07-03", "2026-09-07", "2026-11-26",
            "2026-12-25", "2027-01-01")

log = logging.getLogger(__name__)


def build_clinic(store, patients: int, bench_date: date, echo) -> dict:
    """Build the clinic in `store` from nothing; return its build facts (import figures too)."""
    store.start_empty()
    url = store.build_url
    procs.check(procs.flask(url, "init-db"), "flask init-db")
    password = "Bench " + secrets.token_urlsafe(18)
    procs.check(procs.flask(url, "create-user", ADMIN_EMAIL, "--role", "admin", "--password-stdin",
                            stdin=password + "\n"), "flask create-user")
    csv_dir = os.path.join(store.cache_dir, f"csv-p{patients}")
    started = time.perf_counter()
    files = write_clinic(csv_dir, patients, bench_date)
    echo(f"# generated {files['patients']} patients and {files['infusions']} infusions as CSV "
         f"in {time.perf_counter() - started:.1f} s; importing with `flask import` ...")
    try:
        imported = procs.flask(url, "import", files["patients_csv"], files["infusions_csv"],
                               timeout=4 * 3600)
        procs.check(imported, "flask import")
    finally:
        shutil.rmtree(csv_dir, ignore_errors=True)
    started = time.perf_counter()
    life = add_clinic_life(url, patients, bench_date)
    echo(f"# added {life['appointments']} appointments on {CHAIRS} chairs, "
         f"{life['reminders']} past reminders, {life['on_hold']} holds and "
         f"{life['discharged']} discharges in {time.perf_counter() - started:.1f} s")
    meta = {
        "key": store.key, "patients": patients, "infusions": files["infusions"],
        "plans": files["plans"], "bench_date": bench_date.isoformat(),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "import_s": round(imported.seconds, 2), "import_peak_rss_mb": round(imported.peak_rss_mb, 1),
        "admin_email": ADMIN_EMAIL, "admin_password": password, **life,
    }
    store.finish(meta)
    return meta


def bench_app(url: str):
    """The tracker app bound to a bench database, for bulk work and in-process timings."""
    from tracker import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": procs.SECRET_KEY,
                       "LOG_LEVEL": "WARNING"})


def add_clinic_life(url: str, patients: int, bench_date: date) -> dict:
    """Holds, discharges, chairs, hours, a year of appointments and the reminders already sent."""
    from tracker.extensions import db

    app = bench_app(url)
    with app.app_context():
        try:
            facts = _add_life(db, patients, bench_date)
            db.session.commit()
        finally:
            db.session.remove()
            db.engine.dispose()
    return facts


def _add_life(db, patients: int, bench_date: date) -> dict:
    from sqlalchemy import select

    from tracker.models import Course, Patient
    from tracker.services.clinic import get_settings

    settings = get_settings()
    zone = ZoneInfo(settings.timezone)
    rows = db.session.execute(
        select(Patient.mrn, Patient.id, Course.id, Course.state, Course.anchor_date)
        .join(Course, Course.patient_id == Patient.id)
        .where(Course.state.in_(("series_in_progress", "maintenance")))
    ).all()
    courses = {mrn: (patient_id, course_id, state, anchor) for mrn, patient_id, course_id, state, anchor in rows}
    plans = {}
    for number in range(1, patients + 1):
        plan = plan_for(number, bench_date)
        if plan.mrn in courses:
            plans[plan.mrn] = plan
    on_hold, discharged = _holds_and_discharges(db, courses, plans, bench_date)
    _contact()
    chairs, clinicians, type_id = _chairs_and_hours(db)
    appointments = _appointments(db, courses, plans, bench_date, zone, chairs, clinicians, type_id)
    reminders = _reminder_history(db, courses, plans, bench_date, zone)
    return {"on_hold": on_hold, "discharged": discharged, "appointments": appointments,
            "reminders": reminders, "chairs": len(chairs)}


def _holds_and_discharges(db, courses, plans, bench_date):
    from sqlalchemy import select, update

    from tracker.models import Course

    # Course rows carry an optimistic-locking version: a bulk update by id names the one it read.
    versions = dict(db.session.execute(select(Course.id, Course.version)).all())
    holds, discharges = [], []
    for mrn, plan in plans.items():
        _patient_id, course_id, state, _anchor = courses[mrn]
        if state != "maintenance":
            continue
        if plan.plan == "on_hold":
            holds.append({"id": course_id, "version": versions[course_id], "state": "on_hold", "state_before_hold": "maintenance",
                          "hold_reason": "travelling"})
        elif plan.plan == "discharged":
            discharges.append({"id": course_id, "version": versions[course_id], "state": "discharged",
                               "closed_on": bench_date - timedelta(days=plan.number % 200),
                               "discharge_reason": "treatment goals met"})
    for batch in (holds, discharges):
        if batch:
            db.session.execute(update(Course), batch)
    return len(holds), len(discharges)


def _contact() -> None:
    """The clinic's phone and address, as a clinic that is set up has them: without a phone the
    tracker holds patient mail (it tells people to call), and the sweep would send nothing."""
    from tracker.services.clinic import ensure_settings

    settings = ensure_settings()
    settings.phone = settings.phone or "(704) 555-0100"
    settings.address = settings.address or "1 Main Street, Charlotte, NC"


def _chairs_and_hours(db):
    from sqlalchemy import func, select

    from tracker.models import AppointmentType, Chair, ClosedDate, OpeningHours, User

    existing = set(db.session.scalars(select(Chair.name)))
    position = db.session.scalar(select(func.count()).select_from(Chair)) or 0
    for number in range(1, CHAIRS + 1):
        if f"Chair {number}" not in existing:
            position += 1
            db.session.add(Chair(name=f"Chair {number}", position=position, active=True,
                                 bookable_online=True))
    if not db.session.scalar(select(func.count()).select_from(OpeningHours)):
        for weekday in range(5):
            db.session.add(OpeningHours(weekday=weekday, opens=OPENS, closes=CLOSES))
    closed = set(db.session.scalars(select(ClosedDate.on)))
    for holiday in HOLIDAYS:
        day = date.fromisoformat(holiday)
        if day not in closed:
            db.session.add(ClosedDate(on=day, reason="holiday"))
    booster = db.session.scalar(select(AppointmentType).where(AppointmentType.name == "Booster 40 min"))
    if booster is None:
        booster = AppointmentType(name="Booster 40 min", prep_min=BLOCK[0], infusion_min=BLOCK[1],
                                  recovery_min=BLOCK[2], for_series=False, active=True,
                                  bookable_online=True)
        db.session.add(booster)
    clinicians = []
    # Four clinicians supervise three chairs each; two front-desk staff get the daily digest.
    for role, number in [("clinician", n) for n in range(1, 5)] + [("frontdesk", n) for n in (1, 2)]:
        email = f"bench-{role}{number}@example.org"
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=f"{role.title()} {number}", role=role)
            user.set_password(secrets.token_urlsafe(24))
            db.session.add(user)
        if role == "clinician":
            clinicians.append(user)
    db.session.flush()
    chairs = list(db.session.scalars(select(Chair.id).where(Chair.active.is_(True)).order_by(Chair.position, Chair.id)))[:CHAIRS]
    return chairs, [user.id for user in clinicians], booster.id


def clinic_days(first: date, last: date):
    """Weekdays from first to last inclusive, without the holidays."""
    holidays = {date.fromisoformat(h) for h in HOLIDAYS}
    day = first
    while day <= last:
        if day.weekday() < 5 and day not in holidays:
            yield day
        day += timedelta(days=1)


def _appointments(db, courses, plans, bench_date, zone, chairs, clinicians, type_id) -> int:
    from sqlalchemy import insert

    from tracker.models import Appointment

    rng = random.Random(7)
    waiting = [m for m, p in plans.items() if p.plan in ("due", "not_yet_due", "overdue")
               and courses[m][2] == "maintenance"]
    treated = [m for m, p in plans.items() if courses[m][2] == "maintenance"]
    rng.shuffle(waiting)
    if not waiting or not treated:
        return 0
    block_min = sum(BLOCK)
    rows, future_index = [], 0
    for day in clinic_days(bench_date - timedelta(days=PAST_DAYS), bench_date + timedelta(days=FUTURE_DAYS)):
        offset = (day - bench_date).days
        for chair_index, chair_id in enumerate(chairs):
            clinician_id = clinicians[chair_index % len(clinicians)]
            for slot in range(6):
                if offset >= FULL_DAYS and rng.random() > 0.4:
                    continue
                local = datetime.combine(day, OPENS) + timedelta(minutes=slot * block_min)
                start = local.replace(tzinfo=zone).astimezone(timezone.utc)
                if offset < 0:
                    mrn = rng.choice(treated)
                    status = rng.choices(("fulfilled", "noshow", "cancelled"), (90, 4, 6))[0]
                else:
                    mrn = waiting[future_index % len(waiting)]
                    future_index += 1
                    status = "booked" if rng.random() < 0.7 else "pending"
                patient_id, course_id, _state, _anchor = courses[mrn]
                rows.append({
                    "uid": f"{uuid.UUID(int=rng.getrandbits(128)).hex}@bench",
                    "patient_id": patient_id, "course_id": course_id,
                    "appointment_type_id": type_id, "chair_id": chair_id,
                    "clinician_id": clinician_id, "start_at": start,
                    "end_at": start + timedelta(minutes=block_min), "status": status,
                    "cancel_reason": "patient" if status == "cancelled" else None,
                    "notes": "",
                })
    for first in range(0, len(rows), 5000):
        db.session.execute(insert(Appointment), rows[first:first + 5000])
    return len(rows)


def _reminder_history(db, courses, plans, bench_date, zone) -> int:
    """Reminders already sent before the bench date (filled in by history.py when available)."""
    from .history import add_reminder_history

    return add_reminder_history(db, courses, plans, bench_date, zone)
