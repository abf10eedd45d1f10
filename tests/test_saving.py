"""The one way to save: commit once, a rule error rolled back onto its field, one acting user."""

import re
from pathlib import Path

import pytest
from flask import get_flashed_messages
from flask_login import login_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import StringField

from tracker.extensions import db
from tracker.models import Patient, User
from tracker.saving import acting_user, commit, put_error, save
from tracker.services.errors import RuleError

from .factories import make_patient, make_user

TRACKER = Path(__file__).resolve().parent.parent / "tracker"


class MrnForm(FlaskForm):
    mrn = StringField("MRN")


def _patients() -> int:
    return db.session.scalar(select(func.count(Patient.id)))


def test_a_rule_error_rolls_back_what_the_service_flushed_and_sits_on_its_field(app):
    """The service's flushed row is gone after the refusal; the message is on the named field."""
    with app.test_request_context("/", method="POST", data={"mrn": "A1"}):
        form = MrnForm()

        def change():
            make_patient(mrn="A1")
            raise RuleError("Another rule says no.", "mrn")

        assert commit(form, change) is None
        assert form.mrn.errors == ["Another rule says no."]
        assert _patients() == 0


def test_an_error_for_no_field_goes_above_the_form(app):
    """A RuleError naming no field (or an unknown one) is a form-level error."""
    with app.test_request_context("/", method="POST"):
        form = MrnForm()
        put_error(form, RuleError("The clinic is closed that day."))
        put_error(form, RuleError("Not a field of this form.", "no_such_field"))
        assert form.form_errors == ["The clinic is closed that day.", "Not a field of this form."]


def test_a_duplicate_key_becomes_the_given_field_error(app):
    """A unique key taken meanwhile is rolled back and told on the field, without a 500."""
    with app.app_context():
        make_patient(mrn="TAKEN1")
        db.session.commit()
    with app.test_request_context("/", method="POST"):
        form = MrnForm()
        saved = commit(
            form,
            lambda: make_patient(mrn="TAKEN1"),
            on_duplicate=RuleError("Another patient already has this MRN.", "mrn"),
        )
        assert saved is None and form.mrn.errors == ["Another patient already has this MRN."]
        assert _patients() == 1


def test_a_duplicate_key_without_a_message_is_not_hidden(app):
    """Without `on_duplicate` an IntegrityError is a programming error and propagates."""
    with app.app_context():
        make_patient(mrn="TAKEN2")
        db.session.commit()
    with app.test_request_context("/", method="POST"), pytest.raises(IntegrityError):
        commit(MrnForm(), lambda: make_patient(mrn="TAKEN2"))


def test_save_commits_once_flashes_and_redirects_with_see_other(app):
    """A valid form: the change is committed, the message flashed, a 303 to the result's page."""
    with app.test_request_context("/", method="POST", data={"mrn": "NEW1"}):
        form = MrnForm()
        response = save(
            form,
            lambda: make_patient(mrn=form.mrn.data),
            message=lambda p: f"Added {p.mrn}.",
            to=lambda p: f"/patients/{p.id}",
        )
        assert response.status_code == 303 and re.fullmatch(r"/patients/\d+", response.location)
        db.session.remove()  # a new session sees only what was committed
        assert db.session.scalar(select(Patient.mrn)) == "NEW1"


def test_a_refused_one_button_action_is_flashed_and_redirected(app):
    """With no form to show again, the refusal is a flashed sentence and a redirect back."""

    def refuse():
        raise RuleError("That user is not locked.")

    with app.test_request_context("/", method="POST"):
        response = save(
            None,
            refuse,
            message="never shown",
            to="/done",
            validate=False,
            refused_to="/admin/users/7",
        )
        assert response.status_code == 303 and response.location == "/admin/users/7"
        assert get_flashed_messages(with_categories=True) == [("error", "That user is not locked.")]


def test_the_acting_user_is_the_stored_account_not_the_proxy(app):
    """Services get the User row itself (audit rows keep its id and email)."""
    with app.test_request_context("/"):
        user = make_user(role="clinician")
        login_user(user)
        assert type(acting_user()) is User and acting_user().id == user.id


def _view_modules():
    for path in sorted(TRACKER.rglob("*.py")):
        text = path.read_text()
        if re.search(r"^@\w*bp\.(route|get|post)", text, re.M):
            yield path, text


def test_no_view_writes_its_own_try_commit_rollback():
    """Every view saves through tracker/saving.py: no `except RuleError` with a rollback, no
    hand-written acting user."""
    offenders = []
    for path, text in _view_modules():
        if "db.session.rollback()" in text and "except RuleError" in text:
            offenders.append(f"{path.relative_to(TRACKER)}: try/commit/rollback by hand")
        if "_get_current_object()" in text:
            offenders.append(f"{path.relative_to(TRACKER)}: its own acting user")
        if re.search(r"^def (put_error|_put_back)\(", text, re.M):
            offenders.append(f"{path.relative_to(TRACKER)}: its own put_error")
    assert list(_view_modules()), "no view modules found: the scan itself is broken"
    assert offenders == []
