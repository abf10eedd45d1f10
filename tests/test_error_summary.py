"""The error summary lists each field to correct with a link to it and the right count; a
failed login is a message, not a field error."""

import re

from tracker.extensions import db

from .factories import make_user
from .test_patients import VALID, _patients


def test_summary_links_each_wrong_field_and_counts_only_fields(app, client, login_as):
    """Two bad fields: the summary says 2, links #mrn and #date_of_birth with their messages."""
    _patients(app, dict(mrn="TAKEN-2"))
    login_as("clinician")
    body = client.post(
        "/patients/new", data={**VALID, "mrn": "TAKEN-2", "date_of_birth": "2030-01-01"}
    ).text
    summary = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', body, re.S).group(1)
    assert "Please correct the 2 fields marked below:" in summary
    assert re.findall(r'<a href="#([a-z_]+)">', summary) == ["mrn", "date_of_birth"]


def test_failed_login_is_a_message_not_a_field_error(app, client):
    """A wrong password is said once, above the form; no field is marked and no count is given."""
    with app.app_context():
        make_user(role="frontdesk", email="desk@clinic.test")
        db.session.commit()
    body = client.post(
        "/login", data={"email": "desk@clinic.test", "password": "wrong password here"}
    ).text
    assert "Email or password is not right." in body
    assert (
        "password-error" not in body and "Please correct" not in body and "aria-invalid" not in body
    )
