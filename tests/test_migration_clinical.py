"""clinical_1: each session's single set of vitals becomes the baseline reading of its monitoring
sheet (and goes back on downgrade), on SQLite and PostgreSQL."""

import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tracker import create_app
from tracker.extensions import db

from .scratch_databases import scratch_postgres_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
GIVEN = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def database_url(tmp_path):
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'clinical.sqlite3'}"
        return
    with scratch_postgres_database(TEST_DATABASE_URL, "clin") as url:
        yield url


def _filler(column):
    """A value for a NOT NULL column the test does not care about."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.Numeric):
        return Decimal("0")
    if isinstance(kind, sa.DateTime):
        return GIVEN
    if isinstance(kind, sa.Date):
        return date(2026, 3, 2)
    if isinstance(kind, sa.JSON):
        return {}
    return "x"


def _insert(conn, name: str, **values) -> int:
    """Insert a row into the table as it stands at this revision; returns its id."""
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    row = {
        c.name: _filler(c)
        for c in table.columns
        if not c.nullable and c.server_default is None and not c.primary_key
    }
    row.update(values)
    return conn.execute(table.insert().values(**row).returning(table.c.id)).scalar_one()


def _at(conn, sql: str, **params):
    return conn.execute(sa.text(sql), params).fetchall()


def test_vitals_become_baseline_readings_and_return_on_downgrade(database_url):
    """Sessions with vitals get a sheet started at the session and a baseline reading flagged
    against the default ranges; a session without vitals gets none; an impossible pair is kept
    in the note; the columns leave the infusions table. Downgrade puts the values back."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "migration-test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
        }
    )
    with app.app_context():
        upgrade(revision="clarity_2")
        with db.engine.begin() as conn:
            patient = _insert(conn, "patients", mrn="MIG-1", first_name="A", last_name="B")
            course = _insert(
                conn, "courses", patient_id=patient, state="maintenance", mode="scheduled"
            )
            vitals = {
                "normal": dict(bp_systolic=128, bp_diastolic=82, heart_rate=72, spo2=98),
                "flagged": dict(bp_systolic=187, bp_diastolic=95, heart_rate=143, spo2=91),
                "none": {},
                "swapped": dict(bp_systolic=120, bp_diastolic=130, heart_rate=70),
            }
            ids = {
                name: _insert(
                    conn,
                    "infusions",
                    course_id=course,
                    patient_id=patient,
                    given_at=GIVEN,
                    outcome="completed",
                    **values,
                )
                for name, values in vitals.items()
            }
        upgrade()
        with db.engine.begin() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("infusions")}
            assert not columns & {"bp_systolic", "bp_diastolic", "heart_rate", "spo2"}
            rows = _at(
                conn,
                "SELECT s.infusion_id, s.started_at, r.kind, r.taken_at, r.bp_systolic, "
                "r.bp_diastolic, r.heart_rate, r.spo2, r.flags, r.notes FROM monitoring_sheets s "
                "JOIN monitoring_readings r ON r.sheet_id = s.id ORDER BY s.infusion_id",
            )
        by_infusion = {row.infusion_id: row for row in rows}
        assert set(by_infusion) == {ids["normal"], ids["flagged"], ids["swapped"]}
        normal, flagged, swapped = (by_infusion[ids[n]] for n in ("normal", "flagged", "swapped"))
        assert (
            normal.kind,
            normal.bp_systolic,
            normal.bp_diastolic,
            normal.heart_rate,
            normal.spo2,
        ) == ("baseline", 128, 82, 72, 98)
        assert _flags(normal.flags) == {} and normal.notes == ""
        assert _flags(flagged.flags) == {"bp_systolic": "high", "heart_rate": "high", "spo2": "low"}
        assert (swapped.bp_systolic, swapped.bp_diastolic, swapped.heart_rate) == (None, None, 70)
        assert (
            swapped.notes
            == "Recorded on the session as: systolic 120, diastolic 130 (outside the possible range)."
        )
        assert _instant(normal.taken_at) == _instant(normal.started_at) == GIVEN

        downgrade(revision="clarity_2")
        with db.engine.begin() as conn:
            back = {
                row.id: row
                for row in _at(
                    conn, "SELECT id, bp_systolic, bp_diastolic, heart_rate, spo2 FROM infusions"
                )
            }
            tables = set(sa.inspect(conn).get_table_names())
        assert tuple(back[ids["flagged"]])[1:] == (187, 95, 143, 91)
        assert tuple(back[ids["none"]])[1:] == (None, None, None, None)
        assert "monitoring_readings" not in tables and "outcome_measures" not in tables
        db.engine.dispose()


def _instant(value) -> datetime:
    """A timestamp read back raw: SQLite gives text without an offset (stored as UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _flags(value):
    return json.loads(value) if isinstance(value, str) else value
