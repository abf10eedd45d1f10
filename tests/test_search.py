"""The one patient search: keys folded on write, every way people type a query, bad input."""

from datetime import UTC, date, datetime

import pytest

from tracker.extensions import db
from tracker.importing.bulk import insert_patients
from tracker.models import Patient
from tracker.search_keys import fold_name, key_values, next_prefix
from tracker.services import search
from tracker.services.patients import update_patient

from .factories import local_noon, make_patient

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_today(freeze_clock):
    """The clinic's today is fixed for every test here (the clock stops at its noon)."""
    freeze_clock(local_noon(TODAY))


def _found(text: str, date_order: str = "MDY") -> list[str]:
    """MRNs the search finds for `text`, in result order."""
    query = search.parse(text, date_order=date_order, today=TODAY)
    statement = search.patients_statement(query, Patient.mrn)
    return [] if statement is None else list(db.session.scalars(statement))


@pytest.fixture
def clinic(app_ctx):
    """Four patients whose keys differ in every way a caller is identified."""
    make_patient(
        mrn="A-100",
        first_name="Jane",
        last_name="Doe",
        date_of_birth=date(1980, 4, 12),
        phone="(704) 555-0101",
        email="Jane.Doe@Example.org",
    )
    make_patient(
        mrn="A-101",
        first_name="John",
        last_name="Doe",
        date_of_birth=date(1980, 12, 4),
        phone="+1 704 555 0199",
        email="jd@example.org",
    )
    make_patient(
        mrn="B-200",
        first_name="María José",
        last_name="Núñez",
        date_of_birth=date(1975, 1, 2),
        phone=None,
        email=None,
    )
    make_patient(
        mrn="C-300",
        first_name="Sean",
        last_name="O'Brien",
        date_of_birth=date(1990, 6, 30),
        phone="704.555.2222",
        email="sob@example.org",
    )
    db.session.commit()


def test_keys_fold_case_accents_and_punctuation():
    """Names fold to lower-case letters and digits; phones to their digits beside what was typed."""
    assert fold_name("O'Brien-Núñez") == "obrien nunez" and fold_name("STRASSE") == fold_name(
        "straße"
    )
    assert fold_name("  María   José ") == "maria jose"
    keys = key_values("Jane", "Doe", " a-100 ", "(704) 555-0101", " Jane@X.org")
    assert keys == {
        "first_key": "jane",
        "last_key": "doe",
        "mrn_key": "a-100",
        "phone_key": "7045550101",
        "phone_key_reversed": "1010555407",
        "email_key": "jane@x.org",
    }
    assert next_prefix("doe") == "dof" and next_prefix("doe") > "doe\U0010ffff"


def test_name_in_any_order_and_partial(clinic):
    """ "doe j", "jane doe", "j doe" and accents typed or not all find the same people."""
    assert _found("doe j") == ["A-100", "A-101"]
    assert _found("jane doe") == ["A-100"] == _found("DOE JANE") == _found("ja do")
    assert _found("nunez") == ["B-200"] == _found("Núñez maría") == _found("maria jose nun")
    assert _found("o'brien") == ["C-300"] == _found("obrien s")
    assert _found("doe x") == []


def test_mrn_date_of_birth_phone_and_email(clinic):
    """MRN (exact first), date of birth in the clinic's order or ISO, phone in any punctuation, email."""
    assert _found("a-10") == ["A-100", "A-101"] and _found("A-101") == ["A-101"]
    assert _found("04/12/1980") == ["A-100"] == _found("1980-04-12") == _found("4/12/80")
    assert _found("04/12/1980", date_order="DMY") == ["A-101"]
    assert _found("7045550101") == ["A-100"] == _found("704-555-0101") == _found("(704) 555 0101")
    assert (
        _found("+1 (704) 555-0199") == ["A-101"] == _found("7045550199")
    )  # country code typed or not
    assert _found("555-2222") == ["C-300"]  # the last digits alone
    assert _found("jane.doe@EXAMPLE") == ["A-100"] and _found("jane.doe") == ["A-100"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "!!!",
        "%",
        "_",
        "'; DROP TABLE patients; --",
        "\\",
        "*" * 50,
        "x" * 10_000,
        "Doe " * 2_500,
        "\u202e\u0000\x07doe",
        "😀",
        "\U0010ffff",
    ],
)
def test_hostile_text_finds_little_and_never_fails(clinic, text):
    """Punctuation, wildcards, SQL, 10,000 characters, control and odd characters: a sensible result."""
    found = _found(text)
    assert found in ([], ["A-100", "A-101"])  # only "Doe" repeated finds the Does
    assert len(search.clean_text(text)) <= search.MAX_QUERY_LENGTH


def test_partial_and_impossible_dates_say_what_to_type(clinic):
    """A partial or impossible date finds nobody and says how to type a date of birth."""
    for text in ("04/12", "04/12/", "1980-04", "02/30/1980", "1980-13-01"):
        query = search.parse(text, date_order="MDY", today=TODAY)
        assert query.is_empty and "date" in query.problem and _found(text) == []


def test_keys_follow_edits_and_the_bulk_import(app_ctx):
    """A patient edited through the service, and one inserted in bulk, are found by their new keys."""
    patient = make_patient(mrn="E-1", first_name="Ann", last_name="Lee", phone="555 0000")
    update_patient(
        patient,
        {
            "mrn": "E-1",
            "first_name": "Anne",
            "last_name": "Leigh",
            "date_of_birth": patient.date_of_birth,
            "phone": "(919) 555-7777",
            "email": "anne@example.org",
        },
        actor=None,
        today=TODAY,
    )
    insert_patients(
        db.session,
        [
            {
                "mrn": "E-2",
                "first_name": "Zoë",
                "last_name": "Ångström",
                "date_of_birth": date(1960, 1, 1),
                "email": None,
                "phone": "919-555-8888",
                "email_consent": False,
                "created_at": NOW,
                "updated_at": NOW,
            }
        ],
    )
    db.session.commit()
    assert _found("leigh anne") == ["E-1"] == _found("9195557777") and _found("lee") == []
    assert _found("angstrom zoe") == ["E-2"] == _found("9195558888")


QUERIES = (
    "doe j",
    "jane doe",
    "a-10",
    "04/12/1980",
    "(704) 555-0101",
    "555-0101",
    "jane@ex",
    "x" * 200,
)


def test_no_query_reads_every_patient_on_sqlite(clinic):
    """Each kind of query is index ranges only: SQLite's plan never scans the patients table."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL is checked in the next test")
    for text in QUERIES:
        statement = search.patients_statement(search.parse(text, date_order="MDY", today=TODAY))
        sql = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in db.session.execute(db.text(f"EXPLAIN QUERY PLAN {sql}"))]
        scans = [
            step
            for step in plan
            if step.startswith("SCAN") and "patients" in step and "USING" not in step
        ]
        assert not scans, (text, plan)


def test_no_query_needs_a_sequential_scan_on_postgresql(clinic):
    """With sequential scans priced out, PostgreSQL answers every kind of query from indexes."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's query plan; runs when TEST_DATABASE_URL is set")
    db.session.execute(db.text("SET LOCAL enable_seqscan = off"))
    for text in QUERIES:
        statement = search.patients_statement(search.parse(text, date_order="MDY", today=TODAY))
        sql = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in db.session.execute(db.text(f"EXPLAIN {sql}")))
        assert "Seq Scan on patients" not in plan, (text, plan)
