"""protocols_1: every course goes on the standard protocol at the phase it is in, and `due
--format json` on a generated clinic is identical before the upgrade, after it, and after every
course's facts are recomputed by the phase walk; on SQLite and PostgreSQL."""

import json
import os
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.orm import selectinload

from bench import BENCH_DATE
from bench.generate import plan_for
from tracker import create_app
from tracker.extensions import db
from tracker.scheduling import STATUSES

from .scratch_databases import scratch_postgres_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
PATIENTS = int(os.environ.get("PROTOCOLS_MIGRATION_PATIENTS", "10000"))
ZONE = ZoneInfo("America/New_York")
NOW = datetime(2026, 9, 30, 12, tzinfo=UTC)
PREVIOUS = "protocols_1-1"  # the revision before this one, whatever it is chained after


@pytest.fixture
def database_url(tmp_path):
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'protocols.sqlite3'}"
        return
    with scratch_postgres_database(TEST_DATABASE_URL, "prot") as url:
        yield url


def previous_release_facts(plan) -> dict:
    """Course facts as the release before protocols computed them (its own copy of the rule):
    the series completes on the planned qualifying session; the anchor is then the last one."""
    qualifying = sorted(day for day, _minute, outcome in plan.sessions if outcome == "completed")
    complete = len(qualifying) >= plan.series_planned
    anchor = qualifying[-1] if complete else None
    return {
        "state": "maintenance" if complete else "series_in_progress",
        "qualifying_count": len(qualifying),
        "last_qualifying_on": qualifying[-1] if qualifying else None,
        "anchor_date": anchor,
        "window_opens": anchor + timedelta(days=plan.min_days) if anchor else None,
        "window_closes": anchor + timedelta(days=plan.max_days) if anchor else None,
    }


def course_values(number: int, plan, patient_id: int) -> dict:
    """The course row of a generated patient: its plan's facts, held, discharged or ended early."""
    facts = previous_release_facts(plan)
    values = {
        "patient_id": patient_id,
        "indication": "CRPS",
        "mode": plan.mode or "scheduled",
        "series_planned": plan.series_planned,
        "min_days": plan.min_days,
        "max_days": plan.max_days,
        "opened_on": plan.sessions[0][0],
        "closed_on": None,
        "series_ended_early": False,
        "hold_reason": None,
        "state_before_hold": None,
        "resume_on": None,
        "discharge_reason": None,
        "version": 1,
        **facts,
    }
    if plan.plan == "on_hold":
        values.update(
            state="on_hold",
            state_before_hold=facts["state"],
            hold_reason="travel",
            resume_on=BENCH_DATE + timedelta(days=number % 5 - 2) if number % 2 else None,
        )
    elif plan.plan == "discharged":
        values.update(state="discharged", closed_on=BENCH_DATE, discharge_reason="moved")
    elif plan.plan == "series_in_progress" and number % 3 == 0:
        # a clinician ended the series early: the plan shrank to what was given
        count = facts["qualifying_count"]
        values.update(
            series_ended_early=True,
            series_planned=count,
            state="maintenance",
            anchor_date=facts["last_qualifying_on"],
            window_opens=facts["last_qualifying_on"] + timedelta(days=plan.min_days),
            window_closes=facts["last_qualifying_on"] + timedelta(days=plan.max_days),
        )
    return values


def seed_previous_revision(conn) -> None:
    """The generated clinic (bench/generate.py) written straight into the tables as they were."""
    meta = sa.MetaData()
    patients, courses, infusions = (
        sa.Table(name, meta, autoload_with=conn) for name in ("patients", "courses", "infusions")
    )
    plans = [plan_for(number, BENCH_DATE) for number in range(1, PATIENTS + 1)]
    conn.execute(
        patients.insert(),
        [
            {
                "mrn": plan.mrn,
                "first_name": "Pat",
                "last_name": f"N{plan.number}",
                "date_of_birth": BENCH_DATE.replace(year=1970),
                "email": plan.email or None,
                "email_consent": plan.consent,
                "created_at": NOW,
                "updated_at": NOW,
                "first_key": "pat",
                "last_key": f"n{plan.number}",
                "mrn_key": plan.mrn.lower(),
                "version": 1,
            }
            for plan in plans
        ],
    )
    ids = dict(conn.execute(sa.select(patients.c.mrn, patients.c.id)).all())
    conn.execute(
        courses.insert(), [course_values(plan.number, plan, ids[plan.mrn]) for plan in plans]
    )
    course_ids = dict(conn.execute(sa.select(courses.c.patient_id, courses.c.id)).all())
    rows = []
    for plan in plans:
        patient_id = ids[plan.mrn]
        for day, minute, outcome in plan.sessions:
            given_at = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=ZONE)
            rows.append(
                {
                    "course_id": course_ids[patient_id],
                    "patient_id": patient_id,
                    "given_at": given_at.astimezone(UTC),
                    "given_on": day,
                    "outcome": outcome,
                    "counts_toward_series": False,
                    "adverse_effects": "",
                    "notes": "",
                    "is_booster": False,
                    "early": False,
                    "late": False,
                    "created_at": NOW,
                    "version": 1,
                }
            )
    conn.execute(infusions.insert(), rows)


def due_json(app) -> list[dict]:
    result = app.test_cli_runner().invoke(
        args=["due", "--format", "json", "--on", BENCH_DATE.isoformat()]
    )
    assert result.exit_code == 0, result.output
    db.session.remove()  # no read transaction left open for the migration's ALTER TABLE to wait on
    return json.loads(result.output)


def refresh_every_course() -> None:
    """Recompute every course's facts through services.courses (the phase walk)."""
    from tracker.models import Course
    from tracker.services.courses import refresh_course

    courses = db.session.scalars(
        sa.select(Course).options(selectinload(Course.infusions), selectinload(Course.protocol))
    ).all()
    for course in courses:
        refresh_course(course)
    db.session.commit()


def test_due_is_identical_before_and_after_the_protocols_migration(database_url):
    """A generated clinic's `due` JSON does not change with the upgrade, nor when the phase
    walk recomputes every course afterwards; each course is on the standard protocol in the
    phase its state says; downgrade gives the tables back."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "migration-test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
        }
    )
    with app.app_context():
        upgrade(revision=PREVIOUS)
        with db.engine.begin() as conn:
            seed_previous_revision(conn)
        before = due_json(app)
        statuses = Counter(row["status"] for row in before)
        assert set(statuses) == set(STATUSES), statuses  # every status is in the clinic
        upgrade(revision="protocols_1")
        assert due_json(app) == before
        with db.engine.begin() as conn:
            placed = conn.execute(
                sa.text(
                    "SELECT c.state, c.state_before_hold, c.phase_position, c.series_ended_early, "
                    "c.phase_entry_position, p.standard FROM courses c "
                    "JOIN protocols p ON p.id = c.protocol_id"
                )
            ).all()
            names = {row[0] for row in conn.execute(sa.text("SELECT name FROM protocols"))}
        assert len(placed) == PATIENTS and all(row.standard for row in placed)
        for row in placed:
            held = row.state_before_hold if row.state == "on_hold" else row.state
            if held in ("series_in_progress", "maintenance"):
                assert row.phase_position == (2 if held == "maintenance" else 1), row
            assert row.phase_entry_position == (2 if row.series_ended_early else 1)
        assert {"IV ketamine, CRPS", "Esketamine, TRD (label)", "Taper"} <= names
        refresh_every_course()
        assert due_json(app) == before
        db.session.remove()
        downgrade(revision=PREVIOUS)
        with db.engine.begin() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("courses")}
            assert not {name for name in columns if name.startswith("phase_")}
            assert "protocols" not in sa.inspect(conn).get_table_names()
        assert due_json(app) == before
        db.engine.dispose()
