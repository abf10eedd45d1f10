"""`flask due`: the status of every active patient on a date, as JSON, CSV or a table."""
import csv
import io
import json
from datetime import date, datetime, timezone

import pytest

from tracker.extensions import db
from tracker.services.clinic import get_settings
from tracker.services.infusions import record_infusion

from .course_helpers import book, maintenance_course, series_course
from .factories import local_noon, make_course, make_patient

TODAY = date(2026, 11, 26)


def _record(course, day, **values):
    return record_infusion(course, actor="test", settings=get_settings(), today=TODAY,
                           given_at=local_noon(day), **values)


@pytest.fixture
def worked_examples(app):
    """The DOMAIN.md worked examples, recorded through the services where they are about infusions."""
    with app.app_context():
        base = make_course(make_patient(mrn="BASE"), series_planned=1)
        _record(base, date(2026, 3, 2))
        series = make_course(make_patient(mrn="SERIES"))
        for day in (2, 4, 6, 9, 11, 13):
            _record(series, date(2026, 3, day))
        early = make_course(make_patient(mrn="EARLY"), series_planned=1)
        _record(early, date(2026, 3, 2))
        _record(early, date(2026, 3, 22), early_reason="flare")
        prn = make_course(make_patient(mrn="PRN"), series_planned=1, mode="as_needed")
        _record(prn, date(2026, 3, 2))
        maintenance_course(date(2026, 1, 31), mrn="MONTHEND")
        maintenance_course(date(2028, 1, 30), mrn="LEAP")
        series_course(date(2026, 3, 20), mrn="PARTWAY")
        series_course(None, mrn="NEW")
        hold = maintenance_course(date(2026, 3, 2), mrn="HOLD")
        hold.state = "on_hold"
        maintenance_course(date(2026, 3, 2), mrn="GONE").state = "discharged"
        make_patient(mrn="NOCOURSE")
        book(base, datetime(2026, 4, 20, 14, 0, tzinfo=timezone.utc))
        db.session.commit()


def due_json(runner, on):
    """Run `due --on ON --format json` and parse it into {mrn: record}."""
    result = runner.invoke(args=["due", "--on", on, "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert isinstance(records, list)
    return {record["mrn"]: record for record in records}


@pytest.mark.parametrize("on, status", [
    ("2026-03-31", "not_yet_due"), ("2026-04-01", "due"), ("2026-05-31", "due"),
    ("2026-06-01", "overdue"), ("2026-08-29", "overdue"), ("2026-08-30", "lapsed"),
])
def test_base_example_edges(runner, worked_examples, on, status):
    """Anchor 2026-03-02, 30/90: due from 04-01 to 05-31, overdue from 06-01, lapsed from 08-30."""
    record = due_json(runner, on)["BASE"]
    assert record == {"mrn": "BASE", "status": status, "anchor": "2026-03-02",
                      "window_opens": "2026-04-01", "window_closes": "2026-05-31",
                      "next_appointment": "2026-04-20T10:00:00-04:00"}


def test_every_active_patient_once_with_exact_shape(runner, worked_examples):
    """One object per open course, with exactly the documented keys; closed courses left out."""
    records = due_json(runner, "2026-04-15")
    assert sorted(records) == ["BASE", "EARLY", "HOLD", "LEAP", "MONTHEND", "NEW", "PARTWAY", "PRN", "SERIES"]
    for record in records.values():
        assert list(record) == ["mrn", "status", "anchor", "window_opens", "window_closes",
                                "next_appointment"]
    assert records["SERIES"] == {"mrn": "SERIES", "status": "due", "anchor": "2026-03-13",
                                 "window_opens": "2026-04-12", "window_closes": "2026-06-11",
                                 "next_appointment": None}
    assert (records["EARLY"]["anchor"], records["EARLY"]["window_opens"],
            records["EARLY"]["window_closes"]) == ("2026-03-22", "2026-04-21", "2026-06-20")
    assert records["EARLY"]["status"] == "not_yet_due"
    assert (records["MONTHEND"]["window_opens"], records["MONTHEND"]["window_closes"]) == ("2026-03-02", "2026-05-01")
    assert (records["LEAP"]["window_opens"], records["LEAP"]["window_closes"]) == ("2028-02-29", "2028-04-29")
    assert records["PARTWAY"]["status"] == "interrupted"  # 26 days since the last series session
    assert records["NEW"] == {"mrn": "NEW", "status": "series_in_progress", "anchor": None,
                              "window_opens": None, "window_closes": None, "next_appointment": None}
    assert records["HOLD"]["status"] == "on_hold"


def test_as_needed_never_due(runner, worked_examples):
    """As-needed maintenance has no window and is never due or overdue, whatever the date."""
    for on in ("2026-03-03", "2026-04-15", "2026-07-01", "2027-03-01"):
        assert due_json(runner, on)["PRN"] == {"mrn": "PRN", "status": "as_needed", "anchor": "2026-03-02",
                                               "window_opens": None, "window_closes": None,
                                               "next_appointment": None}


def test_month_end_and_leap_year_edges(runner, worked_examples):
    """Month-end and leap-year windows open and close on the right calendar days."""
    assert due_json(runner, "2026-03-01")["MONTHEND"]["status"] == "not_yet_due"
    assert due_json(runner, "2026-03-02")["MONTHEND"]["status"] == "due"
    assert due_json(runner, "2026-05-02")["MONTHEND"]["status"] == "overdue"
    assert due_json(runner, "2028-02-28")["LEAP"]["status"] == "not_yet_due"
    assert due_json(runner, "2028-02-29")["LEAP"]["status"] == "due"
    assert due_json(runner, "2028-04-29")["LEAP"]["status"] == "due"
    assert due_json(runner, "2028-04-30")["LEAP"]["status"] == "overdue"


def test_csv_format(runner, worked_examples):
    """CSV has the same columns with a header row; nulls are empty cells."""
    result = runner.invoke(args=["due", "--on", "2026-06-01", "--format", "csv"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "mrn,status,anchor,window_opens,window_closes,next_appointment"
    rows = {r["mrn"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert rows["BASE"] == {"mrn": "BASE", "status": "overdue", "anchor": "2026-03-02",
                            "window_opens": "2026-04-01", "window_closes": "2026-05-31",
                            "next_appointment": "2026-04-20T10:00:00-04:00"}
    assert rows["NEW"]["anchor"] == "" and rows["NEW"]["status"] == "series_in_progress"
    assert len(rows) == 9


def test_table_format_is_aligned(runner, worked_examples):
    """The table has a header, a rule, and one aligned line per patient, sorted by MRN."""
    result = runner.invoke(args=["due", "--on", "2026-04-01"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["MRN", "STATUS", "ANCHOR", "OPENS", "CLOSES", "NEXT", "APPOINTMENT"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    body = lines[2:]
    assert [line.split()[0] for line in body] == sorted(line.split()[0] for line in body)
    base = next(line for line in body if line.startswith("BASE "))
    assert base.split() == ["BASE", "due", "2026-03-02", "2026-04-01", "2026-05-31", "2026-04-20", "10:00"]
    status_column = lines[0].index("STATUS")
    assert all(line[status_column - 2:status_column] == "  " for line in body)
    assert {line[status_column:].split()[0] for line in body} >= {"due", "on_hold", "as_needed"}


def test_default_date_is_clinic_today(runner, worked_examples):
    """Without --on the statuses are for today at the clinic."""
    from tracker.services.clinic import clinic_today

    with runner.app.app_context():
        today = clinic_today().isoformat()
    plain = runner.invoke(args=["due", "--format", "json"])
    assert plain.exit_code == 0
    assert json.loads(plain.stdout) == json.loads(runner.invoke(args=["due", "--on", today, "--format", "json"]).stdout)


def test_empty_database_and_bad_date(runner):
    """No patients gives an empty JSON array; a malformed date is a usage error."""
    result = runner.invoke(args=["due", "--on", "2026-04-01", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    bad = runner.invoke(args=["due", "--on", "01/04/2026"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_json_escapes_odd_mrns(app, runner):
    """An MRN with quotes, backslashes or non-ASCII letters still gives valid JSON."""
    with app.app_context():
        maintenance_course(date(2026, 3, 2), mrn='Q"1\\ä')
        db.session.commit()
    assert list(due_json(runner, "2026-04-01")) == ['Q"1\\ä']
