"""Names and MRNs are normalised (NFKC) and refused when they hide a character or mix alphabets;
single-line fields refuse line breaks. In the patient form and in the CSV import alike."""

import inspect

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, PasswordField, StringField

import tracker.admin.forms
import tracker.auth.forms
import tracker.monitoring.forms
import tracker.outcomes.forms
import tracker.patients.forms
import tracker.reminders.forms
import tracker.schedule.forms
import tracker.worklist.forms
from tracker.extensions import db
from tracker.models import Infusion, Patient
from tracker.validators import name_problem, normalized_name

from .test_cli_import import assert_nothing_imported, count, problems, run_import, write_files

FORM_MODULES = (
    tracker.admin.forms,
    tracker.auth.forms,
    tracker.monitoring.forms,
    tracker.outcomes.forms,
    tracker.patients.forms,
    tracker.reminders.forms,
    tracker.schedule.forms,
    tracker.worklist.forms,
)
PATIENT = {"mrn": "N-1", "first_name": "Ola", "last_name": "Berg", "date_of_birth": "1970-01-02"}


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("ＭＲＮ１２３", "MRN123"),  # full-width letters and digits
        ("  Zoë ", "Zoë"),  # decomposed e + diaeresis becomes one letter
        ("𝐀𝐝𝐚", "Ada"),  # mathematical bold letters
    ],
)
def test_names_are_stored_in_nfkc(typed, stored):
    """Look-alike encodings of the same letters are stored as one spelling."""
    assert normalized_name(typed.replace("ë", "e\u0308")) == stored
    assert name_problem(normalized_name(typed)) is None


@pytest.mark.parametrize(
    "value, message",
    [
        ("Ana\u200bMaria", "Remove the invisible character (zero width space)"),
        ("Ana\u00adMaria", "Remove the invisible character (soft hyphen)"),
        ("Ana\u202eairaM", "Remove the invisible character (right-to-left override)"),
        ("J\u041ehnson", "This mixes Cyrillic and Latin letters"),  # Cyrillic capital O
        ("Αlex", "This mixes Greek and Latin letters"),  # Greek capital alpha
        ("Ann\nLee", "Keep this on one line."),
    ],
)
def test_hidden_and_mixed_characters_are_refused(value, message):
    """A zero-width space, a bidi override, a Cyrillic O in a Latin name: each is named."""
    assert name_problem(normalized_name(value)).startswith(message)


@pytest.mark.parametrize(
    "value",
    [
        "山田太郎",
        "やまだ たろう",
        "山田タロウ",
        "김민준",
        "Иван",
        "José-María O'Neil",
        "ʻIolani",
        "Nguyễn",
        "MRN-2024/17",
    ],
)
def test_real_names_of_one_writing_system_pass(value):
    """Japanese mixes kanji and kana, Korean names are Hangul, and so on: all accepted."""
    assert name_problem(normalized_name(value)) is None


def test_patient_form_refuses_a_cyrillic_o_and_stores_nfkc(app, client, login_as):
    """The form puts the problem on the field; a full-width MRN is saved in plain letters."""
    login_as("frontdesk")
    refused = client.post("/patients/new", data={**PATIENT, "last_name": "B\u0435rg"})  # Cyrillic e
    assert refused.status_code == 400 and "This mixes Cyrillic and Latin letters" in refused.text
    refused = client.post("/patients/new", data={**PATIENT, "first_name": "O\u200bla"})
    assert refused.status_code == 400 and "zero width space" in refused.text
    assert client.post("/patients/new", data={**PATIENT, "mrn": "Ｎ－１"}).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Patient.mrn)).all() == ["N-1"]


def test_import_refuses_mixed_scripts_and_normalises_mrns(app, runner, tmp_path):
    """The import reports file:line: column: problem for a zero-width space, a Cyrillic O and a
    line break, and imports nothing; a full-width MRN in a clean file is stored in NFKC."""
    rows = [
        "I-1,Zero\u200bWidth,Case,1970-01-02,,,no,CRPS,1,,,",
        "I-2,J\u041ehn,Case,1970-01-02,,,no,CRPS,1,,,",
        '"I-3","Line\rBreak",Case,1970-01-02,,,no,CRPS,1,,,',
    ]
    result = run_import(runner, write_files(tmp_path, patients=rows, infusions=[]))
    assert result.exit_code == 1
    found = problems(result)
    assert any(
        line.endswith(
            "patients.csv:2: first_name: remove the invisible character (zero width space) "
            "from this field"
        )
        for line in found
    ), found
    assert any(
        "patients.csv:3: first_name: this mixes Cyrillic and Latin letters" in line
        for line in found
    ), found
    assert any("patients.csv:4: first_name: contains" in line for line in found), found
    assert_nothing_imported(app)
    clean = write_files(
        tmp_path,
        patients=["ＦＷ－９,Ida,Case,1970-01-02,,,no,CRPS,1,,,"],
        infusions=["ｆｗ－９,2026-03-02,,,,,,,".upper()],
    )
    result = run_import(runner, clean)
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalars(select(Patient.mrn)).all() == ["FW-9"]
        assert count(Infusion) == 1  # the infusion's full-width MRN found its patient


def _form_classes():
    for module in FORM_MODULES:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, FlaskForm)
                and cls is not FlaskForm
                and cls.__module__ == module.__name__
            ):
                yield cls


def test_every_single_line_field_refuses_line_breaks(app):
    """Every text input of every form (not text areas, hidden fields or passwords) refuses a
    line break: they end up in mail headers, CSV cells and one-line displays."""
    checked = {}
    with app.test_request_context("/", method="POST"):
        for cls in _form_classes():
            form = cls(formdata=MultiDict(), meta={"csrf": False})
            for field in form:
                if (
                    not isinstance(field, StringField)
                    or isinstance(field, HiddenField | PasswordField)
                    or field.type in ("TextAreaField", "EmailField")
                ):
                    continue
                field.process(MultiDict({field.name: "a\r\nb"}))
                field.validate(form)
                checked[f"{cls.__name__}.{field.short_name}"] = field.errors
    accepted = [name for name, errors in checked.items() if not errors]
    assert accepted == []
    assert "Keep this on one line." in checked["PatientForm.first_name"]
    assert "Keep this on one line." in checked["HoldForm.reason"]
    assert len(checked) >= 10
