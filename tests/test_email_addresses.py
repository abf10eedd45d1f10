"""Email addresses are checked with email-validator (offline) at every entry, and stored normalised."""

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Patient, User
from tracker.validators import check_email, email_problem

from .test_cli_import import PATIENTS_HEADER, run_import, write_files

REFUSED = [
    "a@b..com",
    "a@b",
    "plain",
    "a b@example.org",
    "Ana <ana@example.org>",
    "a@localhost",
    "a@[127.0.0.1]",
    "a@example.invalid",
    "x" * 250 + "@example.org",
    "a@-example.org",
    "ana@example.org\nBcc: x@example.org",
]


@pytest.mark.parametrize("address", REFUSED)
def test_malformed_addresses_are_refused_with_a_reason(address):
    """Double dots, no domain dot, spaces, display names, special-use domains, over-long,
    header injection: each gets a reason saying how to write an address."""
    problem = email_problem(address)
    assert problem and ("name@example.org" in problem or "at most 254" in problem)


def test_internationalised_addresses_are_kept_and_normalised():
    """A UTF-8 local part is accepted as typed (NFC); the domain is lower-cased and IDNA-encoded
    for sending, and only a non-ASCII local part needs SMTPUTF8."""
    checked = check_email(" José.Müller@Bücher.Example ")
    assert checked.normalized == "José.Müller@bücher.example"
    assert checked.transport == "José.Müller@xn--bcher-kva.example" and checked.smtputf8
    plain = check_email("ana@bücher.example")
    assert (plain.transport, plain.smtputf8) == ("ana@xn--bcher-kva.example", False)
    decomposed = check_email("jose\u0301@example.org")  # e + combining accent
    assert decomposed.normalized == "jos\u00e9@example.org"


def test_patient_form_refuses_a_double_dot_and_stores_unicode_normalised(app, client, login_as):
    """The patient form puts a@b..com's problem on the email field and saves nothing; an
    internationalised address is saved in its normal form."""
    login_as("frontdesk")
    form = {
        "mrn": "E-1",
        "first_name": "Dana",
        "last_name": "Okafor",
        "date_of_birth": "1971-09-30",
        "phone": "555-0199",
        "email_consent": "y",
    }
    refused = client.post("/patients/new", data={**form, "email": "dana@b..com"})
    assert refused.status_code == 400
    assert "cannot have two periods in a row" in refused.get_data(as_text=True)
    saved = client.post("/patients/new", data={**form, "email": "José.Müller@Bücher.Example"})
    assert saved.status_code in (302, 303)
    with app.app_context():
        assert db.session.scalars(select(Patient.email)).all() == ["José.Müller@bücher.example"]


def test_import_refuses_bad_addresses_and_normalises_good_ones(app, runner, tmp_path):
    """The import reports a@b..com as file:line: email: problem and imports nothing; with it
    fixed, the internationalised address is imported in its normal form."""
    rows = [
        "B100,Ana,Silva,1980-05-17,ana@b..com,,yes,CRPS,6,,,",
        "B200,José,Müller,1980-05-17,José.Müller@Bücher.Example,,yes,CRPS,6,,,",
    ]
    files = write_files(tmp_path, patients=rows, infusions=[], patients_header=PATIENTS_HEADER)
    result = run_import(runner, files)
    assert result.exit_code == 1
    assert "patients.csv:2: email: not an email address: 'ana@b..com'" in result.stderr
    with app.app_context():
        assert db.session.scalar(select(Patient.id)) is None
    rows[0] = rows[0].replace("ana@b..com", "ana@example.org")
    result = run_import(runner, write_files(tmp_path, patients=rows, infusions=[]))
    assert result.exit_code == 0, result.output
    with app.app_context():
        emails = db.session.scalars(select(Patient.email).order_by(Patient.mrn)).all()
    assert emails == ["ana@example.org", "José.Müller@bücher.example"]


def test_staff_account_email_is_checked(app, client, login_as):
    """Adding a staff account with a@b..com is refused on the field; a Unicode domain is stored
    lower-cased and normalised."""
    login_as("admin")
    form = {
        "role": "frontdesk",
        "name": "New Desk",
        "password": "violet tram kettle 42",
        "confirm": "violet tram kettle 42",
    }
    refused = client.post("/admin/users/new", data={**form, "email": "desk@b..com"})
    assert refused.status_code == 200 and "cannot have two periods in a row" in refused.get_data(
        as_text=True
    )
    created = client.post("/admin/users/new", data={**form, "email": "Desk@Bücher.Example"})
    assert created.status_code == 303
    with app.app_context():
        assert (
            db.session.scalar(select(User.email).where(User.name == "New Desk"))
            == "desk@bücher.example"
        )
