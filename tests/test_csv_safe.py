"""Formula-safe CSV: one cell function, used by `due --format csv` and the worklist export."""

import csv
import io
from datetime import date, timedelta

import pytest

from tracker.csv_safe import safe_cell
from tracker.extensions import db
from tracker.services.clinic import clinic_today

from .course_helpers import maintenance_course

HOSTILE = {
    '=HYPERLINK("http://x.example","go")': '\'=HYPERLINK("http://x.example","go")',
    "+1+1": "'+1+1",
    "-2+3": "'-2+3",
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
    "\t=1": "'\t=1",
    "\r=1": "'\r=1",
    "Doe;=1+1": "Doe;'=1+1",
    "Doe; =1+1": "Doe; '=1+1",
    "Doe,@cmd": "Doe,'@cmd",
    "Doe|+cmd": "Doe|'+cmd",
    "=a;=b": "'=a;'=b",
}
HARMLESS = [
    "Smith-Jones",
    "O'Neil",
    "2026-04-01",
    "2026-04-20T10:00:00-04:00",
    "a=b",
    "",
    "Ana María",
]


@pytest.mark.parametrize("typed, written", HOSTILE.items())
def test_formula_starts_are_neutralised(typed, written):
    """Cells starting with = + - @ tab or CR, or with one after a separator, get an apostrophe."""
    assert safe_cell(typed) == written


@pytest.mark.parametrize("typed", HARMLESS)
def test_ordinary_text_is_unchanged(typed):
    """Names with hyphens or apostrophes, ISO dates and times are written as they are."""
    assert safe_cell(typed) == typed


def test_none_and_numbers():
    """None is an empty cell; a negative number is neutralised like any '-' start."""
    assert (safe_cell(None), safe_cell(7), safe_cell(-7)) == ("", "7", "'-7")


def test_due_csv_is_formula_safe(app, runner):
    """`due --format csv` writes a hostile MRN neutralised and correctly quoted."""
    with app.app_context():
        maintenance_course(date(2026, 3, 2), mrn="=1+1")
        maintenance_course(date(2026, 3, 2), mrn='Q;=cmd,"x"')
        db.session.commit()
    result = runner.invoke(args=["due", "--on", "2026-04-10", "--format", "csv"])
    assert result.exit_code == 0, result.output
    mrns = sorted(row["mrn"] for row in csv.DictReader(io.StringIO(result.stdout)))
    assert mrns == ["'=1+1", 'Q;\'=cmd,"x"']
    assert '"Q;\'=cmd,""x"""' in result.stdout  # the csv module's quoting, not hand-made


def test_worklist_export_is_formula_safe(app, client, login_as):
    """The worklist's CSV neutralises formulas at the start and after a ';', in every text column."""
    with app.app_context():
        anchor = clinic_today() - timedelta(days=40)
        maintenance_course(anchor, mrn="@MRN", last_name="Doe;=HYPERLINK(1)", first_name="\t=1")
        db.session.commit()
    login_as("frontdesk")
    response = client.get("/worklist/export.csv")
    assert response.status_code == 200
    (row,) = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    assert (row["mrn"], row["last_name"], row["first_name"]) == (
        "'@MRN",
        "Doe;'=HYPERLINK(1)",
        "'\t=1",
    )
