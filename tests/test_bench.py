"""The benchmark keeps working: its clinic generator, and a small run that prints every figure.

Timings are never asserted here; only that the bench runs and says every figure by name.
"""

import csv
import os
import subprocess
import sys
from datetime import date

import pytest

from bench import BENCH_DATE
from bench.generate import INFUSION_COLUMNS, PATIENT_COLUMNS, PLANS, plan_for, write_clinic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = (
    "import_s",
    "import_peak_rss_mb",
    "due_s",
    "due_peak_rss_mb",
    "due_ratio",
    "worklist_p50_ms",
    "worklist_p95_ms",
    "worklist_ratio",
    "worklist_rps",
    "worklist_rps_ratio",
    "sweep_s",
    "sweep_msgs_per_s",
    "slots_ms",
    "api_appointments_p50_ms",
    "growth_due",
    "growth_sweep",
    "selfbook_p50_ms",
    "selfbook_p95_ms",
    "fhir_slots_p50_ms",
)


def test_generated_clinic_is_in_the_import_format(tmp_path):
    """The CSV files have exactly the import columns, ~10 infusions a patient, none after the bench date."""
    files = write_clinic(str(tmp_path), 400, BENCH_DATE)
    with open(files["patients_csv"], newline="", encoding="utf-8") as handle:
        patients = list(csv.DictReader(handle))
    with open(files["infusions_csv"], newline="", encoding="utf-8") as handle:
        infusions = list(csv.DictReader(handle))
    assert tuple(patients[0]) == PATIENT_COLUMNS
    assert tuple(infusions[0]) == INFUSION_COLUMNS
    assert len(patients) == 400 and len({p["mrn"] for p in patients}) == 400
    assert 8 <= len(infusions) / len(patients) <= 12
    assert max(date.fromisoformat(i["given_at"][:10]) for i in infusions) <= BENCH_DATE
    assert {p["email_consent"] for p in patients} == {"yes", "no"}
    assert all(count > 0 for count in files["plans"].values()), files["plans"]


def test_patient_plans_are_deterministic_and_cover_every_state():
    """The same patient number always gives the same plan; every planned state occurs."""
    first = [plan_for(n, BENCH_DATE) for n in range(1, 600)]
    again = [plan_for(n, BENCH_DATE) for n in range(1, 600)]
    assert [(p.plan, p.anchor, p.sessions) for p in first] == [
        (p.plan, p.anchor, p.sessions) for p in again
    ]
    assert {p.plan for p in first} == set(PLANS)
    due = [p for p in first if p.plan == "due"]
    assert all(p.min_days <= (BENCH_DATE - p.anchor).days <= p.max_days for p in due)


@pytest.mark.slow
def test_small_bench_run_prints_every_figure(tmp_path):
    """`python -m bench --patients 200 --smoke` finishes and prints every figure and the targets."""
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--patients",
            "200",
            "--smoke",
            "--cache-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang, not a speed test (bench/ prints the figures)
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for name in FIGURES:
        assert any(line.startswith(f"{name}: ") for line in lines), (
            f"{name} missing:\n{result.stdout}"
        )
    assert any(line.startswith("targets met: ") for line in lines)
    assert "Traceback" not in result.stderr
