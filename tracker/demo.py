"""Demo data for trying the tracker: staff logins, chairs and hours, patients in every state.

Patients are placed relative to today and the clinic settings so that every status shows:
series in progress, interrupted, not yet due, opening soon, due (booked and not), overdue,
lapsed, as needed and on hold. Their infusions go through the bulk path (importing.bulk),
which applies the same course rules as services.courses.refresh_course.
"""
from __future__ import annotations

import os
import random
import secrets
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select

from .clock import now as clock_now
from .extensions import db
from .importing.bulk import CoursePlanner, course_row, insert_courses, insert_patients, insert_rows
from .models import (
    ACTIVE_STATUSES, Appointment, AppointmentStatusChange, AppointmentType, Chair, Course,
    Infusion, OpeningHours, Patient, User,
)
from .passwords import password_problem
from .services import audit
from .services import protocols as protocol_service
from .services.clinic import clinic_today, get_settings
from .services.infusions import total_mg
from .services.staff import create_user

ACCOUNTS = (("admin", "admin@example.org"), ("clinician", "clinician@example.org"),
            ("frontdesk", "frontdesk@example.org"))
SCENARIOS = ("due", "overdue", "series_in_progress", "not_yet_due", "interrupted", "lapsed",
             "upcoming", "as_needed", "on_hold", "due_booked", "boosters", "early_booster")
FIRST_NAMES = ("Alex", "Maria", "Sam", "Priya", "Jordan", "Lena", "Omar", "Grace", "Diego",
               "Hana", "Noah", "Ines", "Tomas", "Aisha", "Ken", "Ruth", "Felix", "Mei")
LAST_NAMES = ("Rivera", "Okafor", "Lindqvist", "Nakamura", "Haddad", "Moreau", "Kowalski",
              "Fitzgerald", "Santos", "Novak", "Brennan", "Castillo", "Ibrahim", "Weber",
              "Tanaka", "Olsen", "Duarte", "Ferreira")
INDICATIONS = ("CRPS", "Fibromyalgia", "Post-herpetic neuralgia", "Chronic migraine",
               "Phantom limb pain", "Nerve injury")
SERIES = 6


def _is_empty(model) -> bool:
    return not db.session.scalar(select(exists().select_from(model)))


def database_is_empty() -> bool:
    """No patients and no staff accounts yet."""
    return _is_empty(Patient) and _is_empty(User)


def _read_logins(path: str) -> dict[str, str]:
    lines = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            for text in handle:
                parts = text.split()
                if len(parts) == 3 and "@" in parts[1]:
                    lines[parts[1]] = text.rstrip("\n")
    return lines


def ensure_accounts(login_file: str) -> list[str]:
    """Create the missing demo accounts with random strong passwords; write the login file.

    Existing accounts keep their password (and their line of an earlier login file).
    """
    previous = _read_logins(login_file)
    lines = []
    for role, email in ACCOUNTS:
        if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
            lines.append(previous.get(email, f"{role:<10} {email:<24} (existing account, password unchanged)"))
            continue
        password = secrets.token_urlsafe(15)
        while password_problem(password, email):
            password = secrets.token_urlsafe(15)
        create_user(email=email, role=role, password=password, name=f"Demo {role}")
        lines.append(f"{role:<10} {email:<24} {password}")
    os.makedirs(os.path.dirname(login_file), exist_ok=True)
    descriptor = os.open(login_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(login_file, 0o600)
    return lines


def login_text(lines: list[str], login_file: str) -> str:
    """What to print after seeding: the demo logins and where they are kept."""
    return ("Demo logins (also in " + login_file + "; change them before real use):\n  "
            + "\n  ".join(lines))


def ensure_booking_setup() -> bool:
    """Chairs, weekday opening hours and appointment types, for each table that is empty."""
    added = False
    if _is_empty(Chair):
        db.session.add_all(Chair(name=f"Chair {n}", position=n, bookable_online=n <= 4) for n in range(1, 7))
        added = True
    if _is_empty(OpeningHours):
        db.session.add_all(OpeningHours(weekday=d, opens=time(8), closes=time(18)) for d in range(5))
        added = True
    if _is_empty(AppointmentType):
        db.session.add_all([
            AppointmentType(name="Maintenance 40 min", prep_min=15, infusion_min=40, recovery_min=45,
                            bookable_online=True),
            AppointmentType(name="Series 4 h", prep_min=15, infusion_min=240, recovery_min=45,
                            for_series=True),
        ])
        added = True
    db.session.flush()
    return added


def _weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _series_days(last: date, count: int) -> list[date]:
    """`count` weekday sessions two or three days apart, the last one on `last`."""
    days = [_weekday_on_or_before(last)]
    while len(days) < count:
        days.append(_weekday_on_or_before(days[-1] - timedelta(days=2)))
    return sorted(days)


class _Plan:
    """One demo patient's story: sessions (day, outcome, early reason) and course settings."""

    def __init__(self, scenario: str, today: date, settings, rng: random.Random):
        low, high = settings.default_min_days, settings.default_max_days
        grace, gap = settings.lapse_grace_days, settings.series_max_gap_days
        self.mode, self.state, self.booked = "scheduled", None, False
        self.sessions: list[tuple[date, str, str | None]] = []
        ago = lambda days: today - timedelta(days=days)  # noqa: E731
        if scenario == "series_in_progress":
            self._series(ago(2), done=3)
        elif scenario == "interrupted":
            self._series(ago(gap + 10), done=2)
        elif scenario == "not_yet_due":
            self._series(ago(max(1, low // 3)))
        elif scenario == "upcoming":
            self._series(ago(max(1, low - 5)))
        elif scenario in ("due", "due_booked"):
            self._series(ago((low + high) // 2))
            self.booked = scenario == "due_booked"
        elif scenario == "overdue":
            self._series(ago(high + max(1, grace // 2)))
        elif scenario == "lapsed":
            self._series(ago(high + grace + 40))
        elif scenario == "as_needed":
            self._series(ago(60))
            self.mode = "as_needed"
        elif scenario == "on_hold":
            self._series(ago(high + 10))
            self.state = "on_hold"
        elif scenario == "boosters":
            # A series long ago, then on-time boosters; the last one leaves the patient due.
            anchor = ago(low + 5)
            boosters = [anchor - timedelta(days=step * (low + 15)) for step in range(3, -1, -1)]
            self._series(boosters[0] - timedelta(days=low + 15))
            self.sessions.append((ago(low + 20), "not_started", None))
            self.sessions += [(_weekday_on_or_before(day), "completed", None) for day in boosters]
        elif scenario == "early_booster":
            anchor = ago(max(1, low // 2))
            self._series(anchor - timedelta(days=max(1, low // 2)))
            self.sessions.append((_weekday_on_or_before(anchor), "completed", "Flare after surgery"))
        if rng.random() < 0.15 and len(self.sessions) > 1:
            day = self.sessions[0][0]
            self.sessions.insert(1, (day + timedelta(days=1), "stopped_early", None))

    def _series(self, last: date, done: int = SERIES) -> None:
        self.sessions += [(day, "completed", None) for day in _series_days(last, done)]


def _next_mrn_number() -> int:
    taken = db.session.scalar(select(func.count()).select_from(Patient).where(Patient.mrn.like("DEMO-%")))
    number = taken + 1
    while db.session.scalar(select(Patient.id).where(Patient.mrn == f"DEMO-{number:06d}")):
        number += 1
    return number


def seed_patients(count: int, *, progress=lambda n: None, seed: int | None = None) -> int:
    """Add `count` demo patients with courses and infusions, cycling through every state."""
    settings = get_settings()
    today, zone, now = clinic_today(), ZoneInfo(settings.timezone), clock_now()
    rng = random.Random(seed)
    first_number = _next_mrn_number()
    scenarios = [SCENARIOS[i % len(SCENARIOS)] for i in range(count)]
    plans = [_Plan(s, today, settings, rng) for s in scenarios]
    planner = CoursePlanner(count)
    sessions = []
    for number, plan in enumerate(plans):
        for day, outcome, reason in plan.sessions:
            seq = len(sessions)
            local = datetime.combine(day, time(rng.choice((9, 10, 11, 13, 14)), rng.choice((0, 15, 30, 45))))
            sessions.append((number, day, local.replace(tzinfo=zone).astimezone(timezone.utc), outcome, reason))
            planner.add(number, day, local.hour * 60 + local.minute, seq, outcome == "completed")
    patients = []
    for number in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        consent = rng.random() < 0.8
        patients.append({
            "mrn": f"DEMO-{first_number + number:06d}", "first_name": first, "last_name": last,
            "date_of_birth": date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28)),
            "email": f"{first}.{last}{first_number + number}@example.org".lower(),
            "phone": f"555-01{rng.randint(0, 99):02d}", "email_consent": consent,
            "consent_recorded_at": now if consent else None, "email_opt_out_at": None,
            "created_at": now, "updated_at": now,
        })
    patient_ids = insert_patients(db.session, patients)
    standard = protocol_service.standard_protocol()  # the shipped templates, on first use
    courses = []
    for number, (patient_id, plan) in enumerate(zip(patient_ids, plans)):
        facts = planner.plan(number, series_planned=SERIES, min_days=settings.default_min_days,
                             max_days=settings.default_max_days, today=today)
        row = course_row(patient_id, facts, indication=rng.choice(INDICATIONS), mode=plan.mode,
                         series_planned=SERIES, min_days=settings.default_min_days,
                         max_days=settings.default_max_days)
        row["protocol_id"] = standard.id
        if plan.state == "on_hold":
            row.update(state="on_hold", state_before_hold=facts.state, hold_reason="Travelling abroad")
        courses.append(row)
        progress(1)
    course_ids = insert_courses(db.session, courses)
    insert_rows(db.session, Infusion, [
        _infusion_row(seq, patient_ids[n], course_ids[n], day, given_at, outcome, reason, planner, rng, now)
        for seq, (n, day, given_at, outcome, reason) in enumerate(sessions)
    ])
    _book(db.session, [(patient_ids[n], course_ids[n]) for n, p in enumerate(plans) if p.booked],
          today, zone)
    audit.record("seed-demo", entity="import", entity_id=None, patient_id=None, action="seed",
                 after={"patients": count, "infusions": len(sessions)})
    db.session.flush()
    return count


def _infusion_row(seq, patient_id, course_id, day, given_at, outcome, reason, planner, rng, now):
    flags = planner.flags_for(seq)
    weight = Decimal(rng.randint(500, 1100)) / 10
    dose = Decimal(rng.choice((50, 60, 75, 80, 100))) / 100
    before = rng.randint(5, 9)
    done = outcome != "not_started"
    return {
        "course_id": course_id, "patient_id": patient_id, "appointment_id": None,
        "given_at": given_at, "given_on": day, "outcome": outcome, "counts_toward_series": False,
        "weight_kg": weight, "dose_mg_per_kg": dose if done else None,
        "total_mg": total_mg(weight, dose) if done else None,
        "duration_min": (rng.choice((40, 45, 60)) if flags["is_booster"] else 240) if done else 0,
        "pain_before": before, "pain_after": max(0, before - rng.randint(2, 5)) if done else before,
        "adverse_effects": "Mild dizziness, resolved" if rng.random() < 0.1 else "",
        "notes": "", "early_reason": reason if flags["early"] else None,
        "recorded_by_id": None, "created_at": now, **flags,
    }


def _book(session, courses: list[tuple[int, int]], today: date, zone: ZoneInfo) -> None:
    """Book each course a maintenance chair block on a coming weekday, on a free chair."""
    kind = session.scalar(select(AppointmentType).where(AppointmentType.for_series.is_(False))
                          .order_by(AppointmentType.id).limit(1))
    chairs = session.scalars(select(Chair).where(Chair.active.is_(True)).order_by(Chair.position)).all()
    if kind is None or not chairs:
        return
    day, slot = today + timedelta(days=1), 0
    for patient_id, course_id in courses:
        while True:
            day = _weekday_on_or_after(day)
            chair = chairs[slot % len(chairs)]
            start = datetime.combine(day, time(10)).replace(tzinfo=zone).astimezone(timezone.utc)
            end = start + timedelta(minutes=kind.block_minutes)
            slot += 1
            if slot % len(chairs) == 0:
                day += timedelta(days=1)
            clash = session.scalar(select(Appointment.id).where(and_(
                Appointment.chair_id == chair.id, Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.start_at < end, Appointment.end_at > start)).limit(1))
            if clash is None:
                break
        appointment = Appointment(uid=f"{uuid.uuid4()}@infusion-tracker", patient_id=patient_id,
                                  course_id=course_id, appointment_type_id=kind.id,
                                  chair_id=chair.id, start_at=start, end_at=end, status="booked")
        appointment.history.append(AppointmentStatusChange(from_status=None, to_status="booked",
                                                           reason="demo data"))
        session.add(appointment)
    session.flush()


def _weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
