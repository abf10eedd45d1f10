"""Login throttling: failures per account and per address are slowed, then locked, and logged."""
import logging
from datetime import timedelta

from sqlalchemy import select, update

from tracker.auth.throttle import account_holds, failure_streaks
from tracker.extensions import db
from tracker.models import AuditEvent, LoginAttempt, User, utcnow

from .factories import DEFAULT_PASSWORD, make_user

WRONG = "not the password at all"


def _user(app):
    with app.app_context():
        user = make_user(role="frontdesk")
        db.session.commit()
        return user.id, user.email


def _post(client, email, password, ip="10.0.0.7"):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def _age_attempts(app, seconds):
    """Move every logged attempt `seconds` into the past (instead of sleeping through a hold)."""
    with app.app_context():
        for attempt in db.session.scalars(select(LoginAttempt)):
            attempt.at -= timedelta(seconds=seconds)
        db.session.commit()


def _outcomes(app, user_id):
    with app.app_context():
        return db.session.scalars(select(LoginAttempt.outcome).where(LoginAttempt.user_id == user_id)
                                  .order_by(LoginAttempt.id)).all()


def test_account_is_slowed_after_three_failures(app, client):
    """After three failures in a row the next attempt from that address is refused unchecked
    (429, Retry-After) until a short hold passes; even the right password does not get in."""
    user_id, email = _user(app)
    for _ in range(3):
        assert _post(client, email, WRONG).status_code == 200
    held = _post(client, email, DEFAULT_PASSWORD)
    assert held.status_code == 429
    assert 1 <= int(held.headers["Retry-After"]) <= 2
    assert "Too many failed attempts" in held.get_data(as_text=True)
    _age_attempts(app, 3)
    assert _post(client, email, DEFAULT_PASSWORD).status_code == 302  # the hold was only a delay


def test_hold_doubles_then_locks_for_the_lock_period(app, client):
    """Each further failure doubles the hold; the fifth failure holds the account for 15 minutes."""
    user_id, email = _user(app)
    holds = []
    for n in range(5):
        assert _post(client, email, WRONG).status_code == 200
        with app.app_context():
            end = account_holds([email], app.config).get(email)
        holds.append(end - utcnow() if end else None)
        if holds[-1] and n < 4:
            _age_attempts(app, int(holds[-1].total_seconds()) + 1)
    assert holds[:2] == [None, None]
    assert timedelta(seconds=1) < holds[2] <= timedelta(seconds=2)
    assert timedelta(seconds=3) < holds[3] <= timedelta(seconds=4)
    assert timedelta(minutes=14) < holds[4] <= timedelta(minutes=15)
    locked = _post(client, email, DEFAULT_PASSWORD)
    assert locked.status_code == 429
    assert "Try again in 15 minutes" in locked.get_data(as_text=True)


def test_lock_is_in_the_audit_trail(app, client):
    """The failure that locks an account is an audit event admins see, with the address."""
    user_id, email = _user(app)
    for _ in range(5):
        _post(client, email, WRONG, ip="10.6.6.6")
        _age_attempts(app, 20)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login_locked"))
        assert event.entity == "user" and event.entity_id == user_id and event.actor == "system"
        assert event.changes["after"]["from"] == "10.6.6.6"
    admin = app.test_client()
    with app.app_context():
        admin_email = make_user(role="admin").email
        db.session.commit()
    _post(admin, admin_email, DEFAULT_PASSWORD, ip="10.6.6.7")
    trail = admin.get("/admin/audit", environ_base={"REMOTE_ADDR": "10.6.6.7"}).get_data(as_text=True)
    assert "Login held after failed attempts" in trail and "10.6.6.6" in trail


def test_refused_attempts_are_logged_but_not_checked(app, client, caplog):
    """Attempts during a hold are recorded as refused and logged with the user id (never the
    email), and they do not lengthen the account's hold."""
    app.config["LOGIN_BACKOFF_SECONDS"] = 30  # a slow machine cannot outwait the first hold
    user_id, email = _user(app)
    caplog.set_level(logging.INFO, logger="tracker.auth.throttle")
    for _ in range(3):
        _post(client, email, WRONG)
    with app.app_context():
        first_hold = account_holds([email], app.config)[email]
    for _ in range(4):
        assert _post(client, email, DEFAULT_PASSWORD).status_code == 429
    with app.app_context():
        assert account_holds([email], app.config)[email] == first_hold
    assert _outcomes(app, user_id) == ["wrong"] * 3 + ["held"] * 4
    messages = [record.getMessage() for record in caplog.records]
    assert any(f"login failed for user {user_id} (3 in a row)" in m for m in messages)
    assert any(f"user {user_id} slowed down" in m for m in messages)
    assert any(f"login refused while throttled (user {user_id})" in m for m in messages)
    assert not any(email in m for m in messages)


def test_success_resets_the_failure_count(app, client):
    """A successful login ends the run of failures, so earlier failures do not add up."""
    user_id, email = _user(app)
    for _ in range(2):
        _post(client, email, WRONG)
    assert _post(client, email, DEFAULT_PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(2):
        _post(client, email, WRONG)
    with app.app_context():
        assert failure_streaks([email], app.config, utcnow())[email][0] == 2
        assert account_holds([email], app.config) == {}


def test_attacker_cannot_lock_the_owner_out(app, client):
    """An attacker's failures from one address hold the account there only: the owner, with
    the right password from an address with no failures, logs in."""
    user_id, email = _user(app)
    for _ in range(5):
        _post(client, email, WRONG, ip="203.0.113.66")
        _age_attempts(app, 20)
    with app.app_context():
        assert email in account_holds([email], app.config)
    assert _post(client, email, DEFAULT_PASSWORD, ip="203.0.113.66").status_code == 429
    owner = app.test_client()
    response = _post(owner, email, DEFAULT_PASSWORD, ip="198.51.100.20")
    assert response.status_code == 302 and "/login" not in response.headers["Location"]
    home = owner.get("/", environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert home.status_code == 302 and "/login" not in home.headers["Location"]


def test_owner_from_a_fresh_address_still_gets_one_guess_only(app, client):
    """A fresh address is checked, not waved through: a wrong password from it is a failure
    and the account's hold then applies to that address too."""
    user_id, email = _user(app)
    for _ in range(5):
        _post(client, email, WRONG, ip="203.0.113.66")
        _age_attempts(app, 20)
    assert _post(client, email, WRONG, ip="198.51.100.21").status_code == 200
    assert _post(client, email, DEFAULT_PASSWORD, ip="198.51.100.21").status_code == 429


def test_address_is_slowed_then_locked(app, client, caplog):
    """Failures from one address across many accounts (password spraying) slow that address
    after 10 and lock it after 20; another address is unaffected."""
    caplog.set_level(logging.WARNING, logger="tracker.auth.throttle")
    for n in range(10):
        assert _post(client, f"nobody{n}@clinic.test", WRONG, ip="10.9.9.9").status_code == 200
    slowed = _post(client, "nobody-else@clinic.test", WRONG, ip="10.9.9.9")
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) <= 2
    user_id, email = _user(app)
    assert _post(client, email, DEFAULT_PASSWORD, ip="10.9.9.9").status_code == 429
    assert _post(client, email, DEFAULT_PASSWORD, ip="10.1.1.1").status_code == 302
    assert any("login failed for unknown account from 10.9.9.9" in r.getMessage() for r in caplog.records)


def test_address_lock_lasts_the_lock_period(app, client):
    """At 20 failures from an address within the lock period it waits out the whole period."""
    with app.app_context():
        earlier = utcnow() - timedelta(minutes=5)
        for n in range(20):
            db.session.add(LoginAttempt(email=f"x{n}@clinic.test", ip="10.8.8.8", outcome="wrong", at=earlier))
        db.session.commit()
    _, email = _user(app)
    refused = _post(client, email, DEFAULT_PASSWORD, ip="10.8.8.8")
    assert refused.status_code == 429
    assert 590 <= int(refused.headers["Retry-After"]) <= 600  # 15 minutes after the last failure
    with app.app_context():
        old = utcnow() - timedelta(minutes=16)
        db.session.execute(update(LoginAttempt).where(LoginAttempt.ip == "10.8.8.8").values(at=old))
        db.session.commit()
    assert _post(client, email, DEFAULT_PASSWORD, ip="10.8.8.8").status_code == 302


def test_inactive_account_cannot_log_in(app, client):
    """A deactivated account's right password is refused like a wrong one."""
    user_id, email = _user(app)
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    response = _post(client, email, DEFAULT_PASSWORD)
    assert response.status_code == 200
    assert "Email or password is not right." in response.get_data(as_text=True)


def test_forged_forwarded_for_does_not_dodge_the_address_limit(app, client):
    """Without a trusted proxy, X-Forwarded-For is ignored: a client cannot pose as many addresses."""
    for n in range(10):
        client.post("/login", data={"email": f"n{n}@clinic.test", "password": WRONG},
                    headers={"X-Forwarded-For": f"203.0.113.{n}"}, environ_base={"REMOTE_ADDR": "10.5.5.5"})
    response = client.post("/login", data={"email": "n99@clinic.test", "password": WRONG},
                           headers={"X-Forwarded-For": "203.0.113.99"}, environ_base={"REMOTE_ADDR": "10.5.5.5"})
    assert response.status_code == 429
    with app.app_context():
        assert set(db.session.scalars(select(LoginAttempt.ip))) == {"10.5.5.5"}


def test_trusted_proxy_supplies_the_client_address(tmp_path):
    """Behind a load balancer (TRUSTED_PROXIES=1) attempts are counted per real client address."""
    from .conftest import build_app

    app = build_app(tmp_path, TRUSTED_PROXIES=1)
    try:
        client = app.test_client()
        client.post("/login", data={"email": "x@clinic.test", "password": WRONG},
                    headers={"X-Forwarded-For": "198.51.100.7"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
        with app.app_context():
            assert db.session.scalar(select(LoginAttempt.ip)) == "198.51.100.7"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
