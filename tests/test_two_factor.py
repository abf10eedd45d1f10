"""Two-step login: TOTP set-up, login with the app's code, recovery codes, throttled codes,
required for admins (and for everyone when the clinic says so)."""

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import ClinicSettings, LoginAttempt, RecoveryCode, User, utcnow

from .factories import DEFAULT_PASSWORD, make_user


@pytest.fixture
def strict_app(make_app):
    """The production default: admins must log in with two steps."""
    # A long first hold, so a slow machine cannot outwait it between two requests.
    return make_app(TWO_FACTOR_REQUIRED_FOR_ADMINS=True, LOGIN_BACKOFF_SECONDS=30)


def _user(app, role="frontdesk"):
    with app.app_context():
        user = make_user(role=role)
        db.session.commit()
        return user.id, user.email


def _password(client, email, password=DEFAULT_PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def _secret_on_page(body: str) -> str:
    """The set-up key as shown (in groups of four)."""
    shown = re.search(r'<code class="secret-key">([A-Z2-7 ]+)</code>', body).group(1)
    return shown.replace(" ", "")


def _code(secret, moment=None):
    totp = pyotp.TOTP(secret)
    return totp.at(moment or utcnow())


def _enrol_at_login(app, client, email):
    """Password, then the set-up page; returns the secret and the recovery codes shown."""
    response = _password(client, email)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/setup")
    page = client.get("/login/setup")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<svg" in body and 'role="img"' in body
    secret = _secret_on_page(body)
    done = client.post("/login/setup", data={"code": _code(secret)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account/recovery-codes")
    codes = re.findall(
        r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>",
        client.get("/account/recovery-codes").get_data(as_text=True),
    )
    assert len(codes) == 10
    return secret, codes


def test_admin_must_set_up_two_step_login_at_first_login(strict_app):
    """An admin without an app is led to set one up before any page opens; then is logged in."""
    _, email = _user(strict_app, role="admin")
    client = strict_app.test_client()
    _password(client, email)
    blocked = client.get("/admin/")
    assert blocked.status_code == 302 and "/login" in blocked.headers["Location"]
    _enrol_at_login(strict_app, client, email)
    assert client.get("/admin/").status_code == 200
    assert "shown only once" in client.get("/account/recovery-codes").get_data(as_text=True)


def test_login_with_the_apps_code(strict_app):
    """After set-up, a login needs the password and then the app's current code; a code is
    good once, and a wrong one is refused with a field message."""
    _, email = _user(strict_app, role="admin")
    first = strict_app.test_client()
    secret, _ = _enrol_at_login(strict_app, first, email)
    client = strict_app.test_client()
    response = _password(client, email)
    assert response.headers["Location"].endswith("/login/code")
    wrong = client.post(
        "/login/code", data={"code": "000000" if _code(secret) != "000000" else "111111"}
    )
    assert wrong.status_code == 200 and "That code is not right." in wrong.get_data(as_text=True)
    later = utcnow() + timedelta(
        seconds=30
    )  # the code used at set-up is spent; the next one is not
    ok = client.post("/login/code", data={"code": _code(secret, later)})
    assert ok.status_code == 302 and "/login" not in ok.headers["Location"]
    assert client.get("/admin/").status_code == 200
    replay = strict_app.test_client()
    _password(replay, email)
    again = replay.post("/login/code", data={"code": _code(secret, later)})
    assert again.status_code == 200  # the same code twice: refused


def test_recovery_code_works_once(strict_app):
    """A recovery code stands in for the app once; the same code a second time is refused."""
    _, email = _user(strict_app, role="admin")
    _, codes = _enrol_at_login(strict_app, strict_app.test_client(), email)
    client = strict_app.test_client()
    _password(client, email)
    used = client.post("/login/code", data={"code": codes[3].upper()})
    assert used.status_code == 302
    assert "You used a recovery code" in client.get("/account").get_data(as_text=True)
    other = strict_app.test_client()
    _password(other, email)
    assert other.post("/login/code", data={"code": codes[3]}).status_code == 200
    with strict_app.app_context():
        assert db.session.scalar(
            select(RecoveryCode.used_at).where(RecoveryCode.used_at.is_not(None))
        )


def test_codes_are_stored_hashed(strict_app):
    """Neither the recovery codes nor the session tokens are stored as typed."""
    user_id, email = _user(strict_app, role="admin")
    _, codes = _enrol_at_login(strict_app, strict_app.test_client(), email)
    with strict_app.app_context():
        hashes = set(
            db.session.scalars(
                select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user_id)
            )
        )
    assert len(hashes) == 10 and not {c.replace("-", "") for c in codes} & hashes


def test_wrong_codes_are_throttled(strict_app):
    """Three wrong codes hold the account for that address; five end the pending login, and
    every wrong code is logged as a failed attempt."""
    user_id, email = _user(strict_app, role="admin")
    secret, _ = _enrol_at_login(strict_app, strict_app.test_client(), email)
    client = strict_app.test_client()
    _password(client, email)
    bad = "123456" if _code(secret) != "123456" else "654321"
    statuses = [client.post("/login/code", data={"code": bad}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    with strict_app.app_context():
        outcomes = db.session.scalars(
            select(LoginAttempt.outcome)
            .where(LoginAttempt.user_id == user_id)
            .order_by(LoginAttempt.id)
        ).all()
    assert outcomes[-4:] == ["wrong", "wrong", "wrong", "held"]


def test_pending_login_ends_after_five_wrong_codes(strict_app):
    """After CODE_TRIES wrong codes the pending login is dropped: back to the password."""
    from tracker.auth.login_flow import CODE_TRIES

    _, email = _user(strict_app, role="admin")
    secret, _ = _enrol_at_login(strict_app, strict_app.test_client(), email)
    client = strict_app.test_client()
    _password(client, email)
    bad = "123456" if _code(secret) != "123456" else "654321"
    with strict_app.app_context():  # four wrong codes already given, from another address
        for _ in range(CODE_TRIES - 1):
            db.session.add(LoginAttempt(email=email, ip="10.7.0.1", outcome="wrong", at=utcnow()))
        db.session.commit()
    last = client.post("/login/code", data={"code": bad})
    assert last.status_code == 302 and last.headers["Location"].endswith("/login")
    assert client.get("/login/code").headers["Location"].endswith("/login")


def test_others_may_set_it_up_from_the_account_page(app, client):
    """A front-desk user logs in with a password alone, may turn two steps on from the
    account page, and from then on logs in with a code; they may turn it off again."""
    user_id, email = _user(app)
    _password(client, email)
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = _secret_on_page(page)
    assert client.post("/account/two-factor", data={"code": "12345x"}).status_code == 200
    done = client.post("/account/two-factor", data={"code": _code(secret)})
    assert done.status_code == 302
    other = app.test_client()
    assert _password(other, email).headers["Location"].endswith("/login/code")
    wrong_password = client.post("/account/two-factor/off", data={"current": "not my password!"})
    assert "This is not your current password." in wrong_password.get_data(as_text=True)
    assert (
        client.post("/account/two-factor/off", data={"current": DEFAULT_PASSWORD}).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(User, user_id).totp_secret is None


def test_clinic_can_require_it_for_everyone(app, client):
    """With the clinic setting on, a front-desk login goes through the set-up page."""
    _, email = _user(app)
    with app.app_context():
        db.session.get(ClinicSettings, 1).two_factor_for_everyone = True
        db.session.commit()
    assert _password(client, email).headers["Location"].endswith("/login/setup")


def test_required_second_factor_cannot_be_turned_off(strict_app):
    """An admin cannot turn off the two-step login that admins must have."""
    user_id, email = _user(strict_app, role="admin")
    client = strict_app.test_client()
    _enrol_at_login(strict_app, client, email)
    client.post("/account/two-factor/off", data={"current": DEFAULT_PASSWORD})
    with strict_app.app_context():
        assert db.session.get(User, user_id).has_second_factor


def test_recovery_codes_page_without_two_step_login_leads_to_its_set_up(app):
    """Without two-step login there are no codes to renew: the page offers the set-up instead of
    a button the server would refuse."""
    _, email = _user(app)
    client = app.test_client()
    _password(client, email)
    body = client.get("/account/recovery-codes").get_data(as_text=True)
    assert "Set up two-step login" in body and "Make new recovery codes" not in body
    assert client.post("/account/recovery-codes").status_code in (400, 404)  # nothing made
    with app.app_context():
        assert db.session.scalar(select(RecoveryCode.id)) is None
