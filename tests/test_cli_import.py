"""`flask import PATIENTS.csv INFUSIONS.csv`: all or nothing, every bad row reported."""
from datetime import date

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import AuditEvent, Course, Infusion, Patient
from tracker.services.courses import refresh_course

from .factories import make_patient

PATIENTS_HEADER = ("mrn,first_name,last_name,date_of_birth,email,phone,email_consent,indication,"
                   "series_planned,min_days,max_days,mode")
INFUSIONS_HEADER = "mrn,given_at,outcome,dose_mg_per_kg,weight_kg,duration_min,pain_before,pain_after,notes"
PATIENTS = [
    "A100,Ana,Silva,1980-05-17,ana@example.org,555-0101,yes,CRPS,6,30,90,scheduled",
    "A200,Ben,Okafor,1975-01-02,,,no,Fibromyalgia,6,,,",
    "A300,Cleo,Haddad,1990-07-30,cleo@example.org,,yes,Migraine,1,,,as_needed",
]
SERIES = ["2026-03-02", "2026-03-04", "2026-03-06", "2026-03-09", "2026-03-11", "2026-03-13T16:30"]
INFUSIONS = (
    [f"A100,{day},,0.5,72.5,240,8,3," for day in SERIES]
    + [
        "A100,2026-03-30T10:00,completed,0.5,72.5,40,7,2,early booster (flare)",
        "A100,2026-04-20,not_started,,,0,6,6,felt unwell",
        "A200,2026-03-02,completed,0.6,80,240,9,4,",
        "A200,2026-03-04,stopped_early,0.6,80,90,9,7,",
        "A300,2026-02-10T09:15,completed,,,,,,",
    ]
)


def write_files(tmp_path, patients=PATIENTS, infusions=INFUSIONS, *,
                patients_header=PATIENTS_HEADER, infusions_header=INFUSIONS_HEADER):
    """Write the two CSV files (header + rows) and return their paths as strings."""
    patients_path = tmp_path / "patients.csv"
    infusions_path = tmp_path / "infusions.csv"
    patients_path.write_text("\n".join([patients_header, *patients]) + "\n", encoding="utf-8")
    infusions_path.write_text("\n".join([infusions_header, *infusions]) + "\n", encoding="utf-8")
    return str(patients_path), str(infusions_path)


def run_import(runner, files):
    """Invoke the import command on (patients, infusions)."""
    return runner.invoke(args=["import", *files])


def problems(result) -> list[str]:
    """The command's error lines, without the progress bar's label."""
    return [line for line in result.stderr.splitlines()
            if line.strip() and not line.startswith(("Checking", "Importing"))]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def assert_nothing_imported(app):
    """No patient, course, infusion or audit event was written."""
    with app.app_context():
        assert (count(Patient), count(Course), count(Infusion), count(AuditEvent)) == (0, 0, 0, 0)


def test_import_good_files_builds_courses_and_flags_early_boosters(app, runner, tmp_path):
    """A good import creates one course each, anchors the series and flags an early booster."""
    result = run_import(runner, write_files(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Imported 3 patients and 11 infusions" in result.stdout
    assert "1 boosters (1 early)" in result.stdout
    assert "Checking" in result.stderr and "Importing" in result.stderr  # the progress bars
    with app.app_context():
        courses = {c.patient.mrn: c for c in db.session.scalars(select(Course))}
        ana = courses["A100"]
        assert ana.state == "maintenance" and ana.qualifying_count == 7
        assert ana.anchor_date == date(2026, 3, 30)  # the early booster re-anchored the window
        assert (ana.window_opens, ana.window_closes) == (date(2026, 4, 29), date(2026, 6, 28))
        booster = db.session.scalar(select(Infusion).where(Infusion.given_on == date(2026, 3, 30)))
        assert booster.is_booster and booster.early and booster.early_reason is None
        assert db.session.scalar(select(Infusion.total_mg).where(Infusion.given_on == date(2026, 3, 30))) == 36.25
        ben = courses["A200"]
        assert ben.state == "series_in_progress" and ben.qualifying_count == 1
        assert (ben.min_days, ben.max_days, ben.mode) == (30, 90, "scheduled")  # clinic defaults
        cleo = courses["A300"]
        assert (cleo.state, cleo.mode, cleo.anchor_date) == ("maintenance", "as_needed", date(2026, 2, 10))
        assert ana.patient.email_consent and ana.patient.consent_recorded_at is not None
        assert not ben.patient.email_consent and ben.patient.email is None
        events = db.session.scalars(select(AuditEvent)).all()
        assert [(e.actor, e.action, e.changes["after"]["infusions"]) for e in events] == [("import", "import", 11)]


def test_import_facts_equal_the_service_rules(app, runner, tmp_path):
    """Recomputing every imported course with services.courses.refresh_course changes nothing."""
    assert run_import(runner, write_files(tmp_path)).exit_code == 0
    with app.app_context():
        fields = ("state", "qualifying_count", "last_qualifying_on", "anchor_date",
                  "window_opens", "window_closes")
        for course in db.session.scalars(select(Course)).all():
            before = [getattr(course, f) for f in fields]
            flags_before = [(i.id, i.is_booster, i.early, i.late) for i in course.infusions]
            refresh_course(course)
            assert [getattr(course, f) for f in fields] == before
            assert [(i.id, i.is_booster, i.early, i.late) for i in course.infusions] == flags_before
        db.session.rollback()


def test_local_datetime_decides_the_date(app, runner, tmp_path):
    """An infusion at 23:30 clinic time belongs to that local date (not its UTC date)."""
    files = write_files(tmp_path, PATIENTS[2:], ["A300,2026-02-10T23:30,,,,,,,"])
    assert run_import(runner, files).exit_code == 0
    with app.app_context():
        infusion = db.session.scalar(select(Infusion))
        assert infusion.given_on == date(2026, 2, 10)
        assert infusion.given_at.date() == date(2026, 2, 11)


def _bad_patient(index, column, value):
    cells = PATIENTS[index].split(",")
    cells[PATIENTS_HEADER.split(",").index(column)] = value
    rows = list(PATIENTS)
    rows[index] = ",".join(cells)
    return rows


def _bad_infusion(index, column, value):
    cells = INFUSIONS[index].split(",")
    cells[INFUSIONS_HEADER.split(",").index(column)] = value
    rows = list(INFUSIONS)
    rows[index] = ",".join(cells)
    return rows


PATIENT_CASES = {
    "empty mrn": (2, "mrn", "", "patients.csv:4: mrn: must not be empty",
                  "infusions.csv:12: mrn: unknown MRN (not in the patients file)"),
    "repeated mrn": (1, "mrn", "A100", "patients.csv:3: mrn: repeated MRN (first on line 2)",
                     "infusions.csv:10: mrn: unknown MRN (not in the patients file)",
                     "infusions.csv:11: mrn: unknown MRN (not in the patients file)"),
    "empty first name": (0, "first_name", " ", "patients.csv:2: first_name: must not be empty"),
    "empty last name": (1, "last_name", "", "patients.csv:3: last_name: must not be empty"),
    "long last name": (1, "last_name", "x" * 81, "patients.csv:3: last_name: longer than 80 characters"),
    "impossible date": (0, "date_of_birth", "1980-13-01",
                        "patients.csv:2: date_of_birth: not a date: '1980-13-01' (use YYYY-MM-DD)"),
    "not ISO date": (0, "date_of_birth", "17/05/1980",
                     "patients.csv:2: date_of_birth: not a date: '17/05/1980' (use YYYY-MM-DD)"),
    "future birth": (2, "date_of_birth", "2999-01-01",
                     "patients.csv:4: date_of_birth: 2999-01-01 is in the future"),
    "email": (0, "email", "ana.example.org",
              "patients.csv:2: email: not an email address: 'ana.example.org'"),
    "consent": (0, "email_consent", "maybe", "patients.csv:2: email_consent: use yes or no"),
    "series planned zero": (0, "series_planned", "0",
                            "patients.csv:2: series_planned: must be between 1 and 30"),
    "series planned empty": (1, "series_planned", "", "patients.csv:3: series_planned: must not be empty"),
    "series planned words": (1, "series_planned", "six",
                             "patients.csv:3: series_planned: not a whole number: 'six'"),
    "min above max": (0, "min_days", "120",
                      "patients.csv:2: max_days: 90 is less than min_days (120)"),
    "negative min": (0, "min_days", "-1", "patients.csv:2: min_days: must be between 0 and 3650"),
    "mode": (2, "mode", "weekly", "patients.csv:4: mode: use scheduled or as_needed (or leave empty)"),
}

INFUSION_CASES = {
    "unknown mrn": (8, "mrn", "Z999", "infusions.csv:10: mrn: unknown MRN (not in the patients file)"),
    "malformed time": (0, "given_at", "2026-03-02 10:00",
                       "infusions.csv:2: given_at: not a date or time: '2026-03-02 10:00' "
                       "(use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"),
    "future": (1, "given_at", "2999-03-04", "infusions.csv:3: given_at: 2999-03-04 is in the future"),
    "before birth": (10, "given_at", "1989-01-01",
                     "infusions.csv:12: given_at: 1989-01-01 is before the date of birth (1990-07-30)"),
    "clocks change": (10, "given_at", "2026-03-08T02:30",
                      "infusions.csv:12: given_at: 2026-03-08T02:30 does not exist in the clinic's "
                      "time zone (the clocks change)"),
    "outcome": (2, "outcome", "done", "infusions.csv:4: outcome: use completed, stopped_early or "
                                      "not_started (empty means completed)"),
    "dose not a number": (0, "dose_mg_per_kg", "half", "infusions.csv:2: dose_mg_per_kg: not a number: 'half'"),
    "dose above maximum": (0, "dose_mg_per_kg", "5.5",
                           "infusions.csv:2: dose_mg_per_kg: above the clinic maximum of 5 mg/kg"),
    "dose negative": (0, "dose_mg_per_kg", "-0.5", "infusions.csv:2: dose_mg_per_kg: must be at least 0"),
    "weight": (3, "weight_kg", "0", "infusions.csv:5: weight_kg: must be at least 0.5"),
    "weight decimals": (3, "weight_kg", "72.555", "infusions.csv:5: weight_kg: use at most 2 decimal places"),
    "duration": (4, "duration_min", "40.5", "infusions.csv:6: duration_min: not a whole number: '40.5'"),
    "pain before": (5, "pain_before", "11", "infusions.csv:7: pain_before: must be between 0 and 10"),
    "pain after": (5, "pain_after", "-1", "infusions.csv:7: pain_after: must be between 0 and 10"),
}


@pytest.mark.parametrize("case", PATIENT_CASES, ids=list(PATIENT_CASES))
def test_bad_patient_cell_is_reported_and_nothing_imported(app, runner, tmp_path, case):
    """Each kind of bad patients.csv cell gives its exact file:line: column: problem and exit 1."""
    index, column, value, *expected = PATIENT_CASES[case]
    files = write_files(tmp_path, patients=_bad_patient(index, column, value))
    result = run_import(runner, files)
    assert result.exit_code == 1
    summary = f"{len(expected)} problem{'s' if len(expected) > 1 else ''} found; nothing was imported."
    assert problems(result) == [f"{tmp_path}/{line}" for line in expected] + [summary]
    assert_nothing_imported(app)


@pytest.mark.parametrize("case", INFUSION_CASES, ids=list(INFUSION_CASES))
def test_bad_infusion_cell_is_reported_and_nothing_imported(app, runner, tmp_path, case):
    """Each kind of bad infusions.csv cell gives its exact file:line: column: problem and exit 1."""
    index, column, value, expected = INFUSION_CASES[case]
    result = run_import(runner, write_files(tmp_path, infusions=_bad_infusion(index, column, value)))
    assert result.exit_code == 1
    assert problems(result) == [f"{tmp_path}/{expected}", "1 problem found; nothing was imported."]
    assert_nothing_imported(app)


def test_mrn_already_in_database_is_reported(app, runner, tmp_path):
    """An MRN that already exists is reported on its line and nothing new is imported."""
    with app.app_context():
        make_patient(mrn="A200")
        db.session.commit()
    result = run_import(runner, write_files(tmp_path))
    assert result.exit_code == 1
    assert problems(result)[0] == f"{tmp_path}/patients.csv:3: mrn: MRN already in the database"
    with app.app_context():
        assert count(Patient) == 1 and count(Course) == 0 and count(Infusion) == 0


def test_every_bad_row_of_both_files_is_reported_in_order(app, runner, tmp_path):
    """All problems are listed, patients file first, by line, with several per row."""
    patients = _bad_patient(2, "mode", "weekly")
    patients[1] = "A200,,Okafor,1975-01-02,,,perhaps,Fibromyalgia,6,,,"
    infusions = _bad_infusion(3, "pain_after", "12")
    infusions[0] = "A100,2026-03-02,done,9,72.5,240,8,3,"
    result = run_import(runner, write_files(tmp_path, patients, infusions))
    assert result.exit_code == 1
    assert problems(result) == [
        f"{tmp_path}/patients.csv:3: first_name: must not be empty",
        f"{tmp_path}/patients.csv:3: email_consent: use yes or no",
        f"{tmp_path}/patients.csv:4: mode: use scheduled or as_needed (or leave empty)",
        f"{tmp_path}/infusions.csv:2: outcome: use completed, stopped_early or not_started (empty means completed)",
        f"{tmp_path}/infusions.csv:2: dose_mg_per_kg: above the clinic maximum of 5 mg/kg",
        f"{tmp_path}/infusions.csv:5: pain_after: must be between 0 and 10",
        "6 problems found; nothing was imported.",
    ]
    assert_nothing_imported(app)


def test_line_numbers_are_physical_lines(app, runner, tmp_path):
    """A quoted note spanning lines and a blank line shift later rows' line numbers correctly."""
    infusions = list(INFUSIONS[:2]) + ['A100,2026-03-06,,,,,,,"first line', 'second line"', "",
                                       "A100,2026-03-09,,,,,11,,"]
    result = run_import(runner, write_files(tmp_path, infusions=infusions))
    assert result.exit_code == 1
    assert problems(result)[0] == f"{tmp_path}/infusions.csv:7: pain_before: must be between 0 and 10"


def test_row_with_wrong_number_of_cells(app, runner, tmp_path):
    """A row with a missing cell is reported as such."""
    infusions = list(INFUSIONS)
    infusions[2] = "A100,2026-03-06,,0.5,72.5,240,8,3"
    result = run_import(runner, write_files(tmp_path, infusions=infusions))
    assert result.exit_code == 1
    assert problems(result)[0] == f"{tmp_path}/infusions.csv:4: (row): expected 9 cells, found 8"
    assert_nothing_imported(app)


@pytest.mark.parametrize("header, expected", [
    (PATIENTS_HEADER.replace(",mode", ""), ["patients.csv:1: mode: missing column"]),
    (PATIENTS_HEADER + ",notes", ["patients.csv:1: notes: unexpected column (expected: "
                                  + PATIENTS_HEADER + ")"]),
    (PATIENTS_HEADER.replace("email_consent", "consent"),
     ["patients.csv:1: consent: unexpected column (expected: " + PATIENTS_HEADER + ")",
      "patients.csv:1: email_consent: missing column"]),
    (PATIENTS_HEADER.replace("phone", "email"), ["patients.csv:1: email: repeated column",
                                                 "patients.csv:1: phone: missing column"]),
], ids=["missing", "extra", "misnamed", "repeated"])
def test_wrong_header_is_rejected(app, runner, tmp_path, header, expected):
    """Missing, extra, misnamed or repeated columns are rejected before any row is read."""
    patients = [row + ",x" for row in PATIENTS] if header.endswith(",notes") else PATIENTS
    result = run_import(runner, write_files(tmp_path, patients, patients_header=header))
    assert result.exit_code == 1
    assert problems(result)[:-1] == [f"{tmp_path}/{line}" for line in expected]
    assert_nothing_imported(app)


def test_infusions_header_checked_too(app, runner, tmp_path):
    """The infusions file's header must match exactly as well."""
    header = INFUSIONS_HEADER.replace("pain_after", "pain_afterwards")
    result = run_import(runner, write_files(tmp_path, infusions_header=header))
    assert result.exit_code == 1
    assert f"{tmp_path}/infusions.csv:1: pain_after: missing column" in problems(result)
    assert_nothing_imported(app)


def test_non_utf8_file_is_reported_not_a_traceback(app, runner, tmp_path):
    """A Latin-1 file is reported with the line of the first bad byte, no traceback."""
    patients, infusions = write_files(tmp_path)
    with open(patients, "wb") as handle:
        handle.write((PATIENTS_HEADER + "\n" + PATIENTS[0] + "\n").encode())
        handle.write("A200,Zoë,Okafor,1975-01-02,,,no,Fibromyalgia,6,,,\n".encode("latin-1"))
    result = run_import(runner, (patients, infusions))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert problems(result)[0] == (
        f"{tmp_path}/patients.csv:3: (file): not UTF-8 text (byte 0xeb at column 8); save the file as UTF-8")
    assert_nothing_imported(app)


def test_empty_file_and_byte_order_mark(app, runner, tmp_path):
    """An empty infusions file is reported; a UTF-8 byte-order mark on the header is accepted."""
    patients, infusions = write_files(tmp_path)
    with open(patients, "rb") as handle:
        content = handle.read()
    with open(patients, "wb") as handle:
        handle.write(b"\xef\xbb\xbf" + content)
    open(infusions, "w").close()
    result = run_import(runner, (patients, infusions))
    assert result.exit_code == 1
    assert problems(result) == [
        f"{tmp_path}/infusions.csv:1: (file): the file is empty; expected a header row",
        "1 problem found; nothing was imported.",
    ]


def test_missing_file_is_a_usage_error(app, runner, tmp_path):
    """A path that does not exist is refused with click's usage error, not a traceback."""
    patients, _ = write_files(tmp_path)
    result = runner.invoke(args=["import", patients, str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_instants_on_and_beside_clock_changes(app, runner, tmp_path):
    """Sessions on, just before and just after a clock change get the zone's true UTC instant."""
    from datetime import datetime, timezone
    times = ["2026-03-07T23:00", "2026-03-08T01:59", "2026-03-08T03:00", "2026-03-09T12:00",
             "2026-11-01T01:30", "2026-11-01T03:00", "2026-10-31T22:00", "2026-01-15"]
    files = write_files(tmp_path, PATIENTS[2:], [f"A300,{t},,,,,,," for t in times])
    result = run_import(runner, files)
    assert result.exit_code == 0, result.output
    with app.app_context():
        stored = [(i.given_on, i.given_at) for i in db.session.scalars(select(Infusion).order_by(Infusion.id))]
    utc = timezone.utc
    assert stored == [
        (date(2026, 3, 7), datetime(2026, 3, 8, 4, 0, tzinfo=utc)),  # EST, UTC-5
        (date(2026, 3, 8), datetime(2026, 3, 8, 6, 59, tzinfo=utc)),
        (date(2026, 3, 8), datetime(2026, 3, 8, 7, 0, tzinfo=utc)),  # EDT, UTC-4
        (date(2026, 3, 9), datetime(2026, 3, 9, 16, 0, tzinfo=utc)),
        (date(2026, 11, 1), datetime(2026, 11, 1, 5, 30, tzinfo=utc)),  # repeated hour: the first
        (date(2026, 11, 1), datetime(2026, 11, 1, 8, 0, tzinfo=utc)),
        (date(2026, 10, 31), datetime(2026, 11, 1, 2, 0, tzinfo=utc)),
        (date(2026, 1, 15), datetime(2026, 1, 15, 17, 0, tzinfo=utc)),  # date only: local noon
    ]


def test_every_checked_value_is_stored_from_one_reading(app, runner, tmp_path, monkeypatch):
    """Numbers, empty cells, notes and outcomes are stored as checked; the files are read once."""
    from decimal import Decimal
    files = write_files(tmp_path, PATIENTS[:1], [
        "A100,2026-03-02,,0.5,72.5,240,8,3,first",
        "A100,2026-03-04,stopped_early,0.50,72.50,0,0,10,",
        "A100,2026-03-06,not_started,,,,,,\"two\nlines\"",
    ])
    opened = []
    import builtins
    real_open = builtins.open

    def counting_open(path, *args, **kwargs):
        if str(path) in files:
            opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    result = run_import(runner, files)
    monkeypatch.undo()
    assert result.exit_code == 0, result.output
    assert sorted(opened) == sorted(files)  # each file read once: checked values are kept
    with app.app_context():
        rows = [(i.outcome, i.dose_mg_per_kg, i.weight_kg, i.total_mg, i.duration_min,
                 i.pain_before, i.pain_after, i.notes)
                for i in db.session.scalars(select(Infusion).order_by(Infusion.id))]
    assert rows == [
        ("completed", Decimal("0.5"), Decimal("72.5"), Decimal("36.25"), 240, 8, 3, "first"),
        ("stopped_early", Decimal("0.5"), Decimal("72.5"), Decimal("36.25"), 0, 0, 10, ""),
        ("not_started", None, None, None, None, None, None, "two\nlines"),
    ]
