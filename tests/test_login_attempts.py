"""Login attempts: the same path and answer for unknown, inactive and active accounts; the log
pruned; a new CSRF token at login."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tracker.auth import throttle
from tracker.extensions import db
from tracker.jobs import prune_logins
from tracker.models import LoginAttempt, utcnow
from tracker.models import staff as staff_models

from .factories import DEFAULT_PASSWORD, make_user

WRONG = "not the password at all"


def _accounts(app):
    """An active and an inactive account; returns their emails and an unknown one."""
    with app.app_context():
        active = make_user(role="frontdesk", email="active@clinic.test")
        make_user(role="frontdesk", email="inactive@clinic.test", active=False)
        db.session.commit()
        return {
            "active": active.email,
            "inactive": "inactive@clinic.test",
            "unknown": "nobody@clinic.test",
        }


def _answer(response, email) -> tuple[int, str]:
    body = response.get_data(as_text=True).replace(email, "EMAIL")
    return response.status_code, body


def test_unknown_inactive_and_active_accounts_answer_alike(app, client):
    """A wrong password (and the inactive account's right one) gets the same status and page
    for every kind of account, and so does the hold after three failures."""
    app.config["LOGIN_BACKOFF_SECONDS"] = 30  # a slow machine cannot outwait the first hold
    emails = _accounts(app)
    passwords = {"active": WRONG, "inactive": DEFAULT_PASSWORD, "unknown": WRONG}
    answers = {}
    for kind, email in emails.items():
        ip = f"10.1.0.{len(answers) + 1}"
        seen = [
            _answer(
                client.post(
                    "/login",
                    data={"email": email, "password": passwords[kind]},
                    environ_base={"REMOTE_ADDR": ip},
                ),
                email,
            )
            for _ in range(4)
        ]
        answers[kind] = seen
    assert answers["active"] == answers["inactive"] == answers["unknown"]
    assert [status for status, _ in answers["active"]] == [200, 200, 200, 429]


def test_every_kind_of_account_checks_one_real_hash(app, client, monkeypatch):
    """Unknown, inactive and active accounts each verify exactly one password hash of the same
    scheme and cost (the dummy hash for an unknown account), so they take the same time."""
    emails = _accounts(app)
    checked: list[str] = []
    real = staff_models.check_password_hash

    def spy(pwhash, password):
        checked.append(pwhash.split("$")[0])
        return real(pwhash, password)

    monkeypatch.setattr(staff_models, "check_password_hash", spy)
    monkeypatch.setattr(throttle, "check_password_hash", spy)
    methods = {}
    for n, (kind, email) in enumerate(emails.items()):
        checked.clear()
        client.post(
            "/login",
            data={"email": email, "password": WRONG},
            environ_base={"REMOTE_ADDR": f"10.2.0.{n}"},
        )
        methods[kind] = list(checked)
    assert methods["active"] == methods["inactive"] == methods["unknown"]
    assert len(methods["active"]) == 1 and methods["active"][0].startswith("scrypt:")


def _attempt(email, ip, outcome, age):
    db.session.add(LoginAttempt(email=email, ip=ip, outcome=outcome, at=utcnow() - age))


def test_pruning_keeps_what_still_counts(app_ctx):
    """Refused attempts go once past the lock period; others after the keeping period (90 days)."""
    _attempt("a@clinic.test", "10.3.0.1", "held", timedelta(minutes=16))
    _attempt("a@clinic.test", "10.3.0.1", "held", timedelta(minutes=5))
    _attempt("a@clinic.test", "10.3.0.1", "wrong", timedelta(days=30))
    _attempt("a@clinic.test", "10.3.0.1", "ok", timedelta(days=91))
    db.session.commit()
    assert throttle.prune_attempts(app_ctx.config) == 2
    db.session.commit()
    left = db.session.execute(select(LoginAttempt.outcome, LoginAttempt.at)).all()
    assert sorted(outcome for outcome, _ in left) == ["held", "wrong"]


def test_prune_job_runs_in_the_scheduler(app):
    """The scheduler's pruning job deletes the stale rows and commits."""
    with app.app_context():
        for _ in range(3):
            _attempt("b@clinic.test", "10.3.0.2", "held", timedelta(hours=1))
        db.session.commit()
    prune_logins(app, threading.Event())
    with app.app_context():
        assert db.session.scalar(select(func.count(LoginAttempt.id))) == 0


def test_a_throttled_address_does_not_grow_the_log(app, client):
    """Hammering from a locked address keeps about one lock period of refused rows, not more:
    each refused attempt deletes that address's refused rows that no longer count."""
    with app.app_context():
        for n in range(20):
            _attempt(f"x{n}@clinic.test", "10.3.0.3", "wrong", timedelta(minutes=1))
        for _ in range(50):
            _attempt("x@clinic.test", "10.3.0.3", "held", timedelta(minutes=20))
        db.session.commit()
    for _ in range(3):
        response = client.post(
            "/login",
            data={"email": "x@clinic.test", "password": WRONG},
            environ_base={"REMOTE_ADDR": "10.3.0.3"},
        )
        assert response.status_code == 429
    with app.app_context():
        held = db.session.scalar(
            select(func.count(LoginAttempt.id)).where(LoginAttempt.outcome == "held")
        )
    assert held == 3


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def _token(body: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)


def test_login_gives_a_new_csrf_token(csrf_app):
    """The token of the login page is not accepted after login: the session starts afresh."""
    with csrf_app.app_context():
        user = make_user(role="frontdesk")
        db.session.commit()
        email = user.email
    client = csrf_app.test_client()
    before = _token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": DEFAULT_PASSWORD, "csrf_token": before}
    )
    assert response.status_code == 302
    after = _token(client.get("/account").get_data(as_text=True))
    assert after != before
    assert client.post("/account/keep-alive", data={"csrf_token": before}).status_code == 400
    assert client.post("/account/keep-alive", data={"csrf_token": after}).status_code == 302
