"""A realistic clinic as CSV files in the import format, every state relative to the bench date.

Each patient's plan (the state they are meant to be in on the bench date, interval, series size,
history) is a pure function of the seed and the patient's number, so later build steps can find
the same patients again without keeping a list.
"""
from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

# Intended status on the bench date -> share of patients (percent).
PLAN_WEIGHTS = {
    "series_in_progress": 5,
    "interrupted": 3,
    "not_yet_due": 22,
    "due": 28,
    "overdue": 12,
    "lapsed": 14,
    "as_needed": 6,
    "on_hold": 4,
    "discharged": 6,
}
PLANS = tuple(PLAN_WEIGHTS)
SEED = 20261001
DEFAULT_MIN, DEFAULT_MAX, LAPSE_GRACE, MAX_GAP = 30, 90, 90, 14

PATIENT_COLUMNS = ("mrn", "first_name", "last_name", "date_of_birth", "email", "phone",
                   "email_consent", "indication", "series_planned", "min_days", "max_days", "mode")
INFUSION_COLUMNS = ("mrn", "given_at", "outcome", "dose_mg_per_kg", "weight_kg", "duration_min",
                    "pain_before", "pain_after", "notes")

FIRST_NAMES = ("Alex", "Maria", "James", "Linda", "Robert", "Patricia", "Michael", "Jennifer",
               "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
               "Thomas", "Sarah", "Carlos", "Karen", "Wei", "Aisha", "Dmitri", "Priya", "Kenji",
               "Fatima", "Olga", "Mateo", "Zoe", "Noah")
LAST_NAMES = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
              "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
              "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson",
              "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Nguyen",
              "Kim", "Patel", "Okafor", "Kowalski", "Rossi", "Novak", "Schmidt", "Haddad", "Silva")
INDICATIONS = ("CRPS", "fibromyalgia", "post-herpetic neuralgia", "nerve injury",
               "chronic migraine", "chemotherapy-induced pain", "phantom limb pain",
               "spinal cord injury", "treatment-resistant depression")
NOTES = ("", "", "", "", "", "", "", "tolerated well", "mild nausea, resolved", "dose adjusted")


@dataclass
class PatientPlan:
    """What one generated patient is meant to look like on the bench date."""

    number: int
    plan: str
    mrn: str
    series_planned: int
    min_days: int
    max_days: int
    custom_interval: bool
    mode: str  # "" (clinic default), "scheduled" or "as_needed"
    consent: bool
    email: str
    anchor: date | None  # last qualifying infusion once the series is complete
    sessions: list[tuple[date, int, str]] = field(default_factory=list)  # (day, minute, outcome)


def mrn_for(number: int) -> str:
    """The generated patient's medical record number."""
    return f"BN{number:07d}"


def plan_for(number: int, bench_date: date) -> PatientPlan:
    """The deterministic plan of patient `number`: state, interval and infusion history."""
    rng = random.Random(SEED * 1_000_003 + number)
    plan = rng.choices(PLANS, weights=tuple(PLAN_WEIGHTS.values()))[0]
    roll = rng.random()
    if roll < 0.8:
        min_days, max_days, custom = DEFAULT_MIN, DEFAULT_MAX, False
    elif roll < 0.9:
        min_days, max_days, custom = 21, 60, True
    else:
        min_days, max_days, custom = 45, 120, True
    series_planned = rng.choices((1, 3, 4, 5, 6, 8, 10), weights=(2, 4, 8, 10, 50, 12, 14))[0]
    if plan in ("series_in_progress", "interrupted"):
        series_planned = max(series_planned, 3)
    mode = "as_needed" if plan == "as_needed" else rng.choice(("", "scheduled"))
    consent = rng.random() < 0.75
    email = "" if rng.random() < 0.05 else f"patient{number}@example.org"
    if not email:
        consent = False
    result = PatientPlan(number, plan, mrn_for(number), series_planned, min_days, max_days,
                         custom, mode, consent, email, None)
    result.sessions = _history(rng, result, bench_date)
    return result


def _history(rng: random.Random, plan: PatientPlan, bench_date: date) -> list[tuple[date, int, str]]:
    """Qualifying sessions ending on the planned day, a few non-qualifying ones in between."""
    if plan.plan in ("series_in_progress", "interrupted"):
        done = rng.randint(1, plan.series_planned - 1)
        last_offset = rng.randint(0, MAX_GAP) if plan.plan == "series_in_progress" else rng.randint(MAX_GAP + 1, 150)
        days = _series_days(rng, bench_date - timedelta(days=last_offset), done)
    else:
        anchor_offset = {
            "not_yet_due": lambda: rng.randint(0, plan.min_days - 1),
            "due": lambda: rng.randint(plan.min_days, plan.max_days),
            "overdue": lambda: rng.randint(plan.max_days + 1, plan.max_days + LAPSE_GRACE),
            "lapsed": lambda: rng.randint(plan.max_days + LAPSE_GRACE + 1, plan.max_days + LAPSE_GRACE + 900),
        }.get(plan.plan, lambda: rng.randint(0, 400))()
        anchor = bench_date - timedelta(days=anchor_offset)
        plan.anchor = anchor
        boosters = rng.randint(0, 9)
        booster_days = [anchor]
        for _ in range(boosters - 1 if boosters else 0):
            # Mostly inside the window; some early, some late, as real clinics see.
            booster_days.append(booster_days[-1] - timedelta(days=rng.randint(plan.min_days - 8, plan.max_days + 15)))
        if boosters:
            series_end = booster_days[-1] - timedelta(days=rng.randint(plan.min_days - 5, plan.max_days + 10))
            days = _series_days(rng, series_end, plan.series_planned) + sorted(booster_days)
        else:
            days = _series_days(rng, anchor, plan.series_planned)
    sessions = [(day, rng.randint(8 * 60, 16 * 60), "completed") for day in days]
    # About 3% extra sessions that do not count: the day before a qualifying one, never the first.
    extra = []
    for day, _minute, _outcome in sessions[1:]:
        if rng.random() < 0.03:
            extra.append((day - timedelta(days=1), rng.randint(8 * 60, 16 * 60),
                          rng.choice(("not_started", "stopped_early"))))
    return sorted(sessions + extra)


def _series_days(rng: random.Random, last: date, count: int) -> list[date]:
    """`count` series days ending on `last`, two to four days apart."""
    days = [last]
    for _ in range(count - 1):
        days.append(days[-1] - timedelta(days=rng.randint(2, 4)))
    return sorted(days)


def _patient_row(plan: PatientPlan, rng: random.Random) -> list[str]:
    birth = date(1935, 1, 1) + timedelta(days=rng.randint(0, 70 * 365))
    return [
        plan.mrn, rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), birth.isoformat(), plan.email,
        f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}", "yes" if plan.consent else "no",
        rng.choice(INDICATIONS), str(plan.series_planned),
        str(plan.min_days) if plan.custom_interval else "",
        str(plan.max_days) if plan.custom_interval else "", plan.mode,
    ]


def _infusion_rows(plan: PatientPlan, rng: random.Random):
    weight = round(rng.uniform(48, 115), 1)
    dose = rng.choice(("0.5", "0.6", "0.75", "0.8", "1.0"))
    duration = rng.choice(("40", "60", "120", "240"))
    for day, minute, outcome in plan.sessions:
        given_at = f"{day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}"
        before = rng.randint(4, 9)
        after = "" if outcome == "not_started" else str(max(0, before - rng.randint(0, 5)))
        yield [plan.mrn, given_at, outcome if outcome != "completed" or rng.random() < 0.5 else "",
               dose if outcome != "not_started" else "", f"{weight:.1f}",
               duration if outcome != "not_started" else "", str(before), after, rng.choice(NOTES)]


def write_clinic(directory: str, patients: int, bench_date: date) -> dict:
    """Write patients.csv and infusions.csv for `patients` patients; return paths and counts."""
    os.makedirs(directory, exist_ok=True)
    patients_path = os.path.join(directory, "patients.csv")
    infusions_path = os.path.join(directory, "infusions.csv")
    counts = {plan: 0 for plan in PLANS}
    infusions = 0
    with open(patients_path, "w", newline="", encoding="utf-8") as p_file, \
            open(infusions_path, "w", newline="", encoding="utf-8") as i_file:
        p_writer, i_writer = csv.writer(p_file), csv.writer(i_file)
        p_writer.writerow(PATIENT_COLUMNS)
        i_writer.writerow(INFUSION_COLUMNS)
        for number in range(1, patients + 1):
            plan = plan_for(number, bench_date)
            rng = random.Random(-number)
            counts[plan.plan] += 1
            p_writer.writerow(_patient_row(plan, rng))
            rows = list(_infusion_rows(plan, rng))
            i_writer.writerows(rows)
            infusions += len(rows)
    return {"patients_csv": patients_path, "infusions_csv": infusions_path,
            "patients": patients, "infusions": infusions, "plans": counts}
