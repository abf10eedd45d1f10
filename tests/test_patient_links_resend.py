""" "Send me my links again": the same answer for a match and a miss, mail only to the address on
file, and limits per address and per source address."""

import pytest

from tracker.extensions import db

from .patient_link_fixtures import due_patient, open_clinic
from .reminder_fixtures import SMTPServer


@pytest.fixture
def smtp(app):
    """A real SMTP server the app sends through."""
    server = SMTPServer().start()
    app.config.update(server.config())
    yield server
    server.stop()


@pytest.fixture
def kim(app):
    """A patient with consent and a window open: the links email carries the booking link."""
    with app.app_context():
        open_clinic()
        patient, _ = due_patient(first_name="Kim", email="kim@example.test")
        db.session.commit()
        return {"email": "kim@example.test", "date_of_birth": patient.date_of_birth.isoformat()}


def _ask(client, **fields):
    response = client.post("/my/links", data=fields)
    page = client.get(response.headers["Location"]) if response.status_code == 303 else response
    return response.status_code, page.get_data(as_text=True)


def test_match_and_miss_get_the_same_answer(app, smtp, kim):
    """A right address and birth date, a wrong birth date, an unknown address: one page, and
    only the match's address on file receives a message with its booking link."""
    client = app.test_client()
    answers = [
        _ask(client, **kim),
        _ask(client, email=kim["email"], date_of_birth="1999-01-01"),
        _ask(client, email="nobody@example.test", date_of_birth=kim["date_of_birth"]),
    ]
    assert {code for code, _ in answers} == {303}
    assert answers[0][1] == answers[1][1] == answers[2][1]
    assert smtp.recipients() == ["kim@example.test"]
    assert "/my/book/" in smtp.messages[0].get_body(("plain",)).get_content()


def test_upper_case_address_still_matches(app, smtp, kim):
    """The address is compared as stored (normalised), so case does not matter."""
    _ask(app.test_client(), email=kim["email"].upper(), date_of_birth=kim["date_of_birth"])
    assert smtp.recipients() == ["kim@example.test"]


def test_bad_input_gets_field_errors(app, smtp):
    """No address, a bad date: field-level errors, nothing sent."""
    code, body = _ask(app.test_client(), email="not an address", date_of_birth="17/05/1980")
    assert code == 400
    assert "Enter your date of birth" in body
    assert smtp.messages == []


def test_limit_per_address(app, smtp, kim):
    """Past the hourly limit for one address nothing more is sent, and the answer is the same."""
    app.config["RESEND_LIMIT_PER_HOUR"] = 2
    client = app.test_client()
    answers = [_ask(client, **kim) for _ in range(3)]
    assert len({body for _, body in answers}) == 1
    assert len(smtp.messages) == 2


def test_limit_per_source(app, smtp, kim):
    """One source asking about many addresses is stopped (429) past its hourly allowance."""
    app.config["RESEND_LIMIT_PER_HOUR"] = 1  # a source may ask 3 times an hour
    client = app.test_client()
    codes = [
        _ask(client, email=f"p{n}@example.test", date_of_birth="1980-05-17")[0] for n in range(4)
    ]
    assert codes == [303, 303, 303, 429]
    assert smtp.messages == []
