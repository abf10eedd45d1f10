"""Staff sessions: random tokens per login, ended by logout, password, role and access changes,
and by idling past the clinic's timeout; the remember cookie is worth nothing afterwards."""

import re
from datetime import timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import ClinicSettings, StaffSession, User, utcnow

from .factories import DEFAULT_PASSWORD, make_user

NEW_PASSWORD = "violet tram kettle 42"
REMEMBER = "remember_token"


def _user(app, role="frontdesk"):
    with app.app_context():
        user = make_user(role=role)
        db.session.commit()
        return user.id, user.email


def _log_in(client, email, password=DEFAULT_PASSWORD, remember=True):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response


def _logged_in(client) -> bool:
    """True when the client reaches a page instead of the login page."""
    response = client.get("/account")
    return response.status_code == 200


def _remember_cookie(client) -> str:
    cookie = client.get_cookie(REMEMBER)
    assert cookie is not None
    return cookie.value


def _replay(app, cookie_value):
    """A new browser holding only a copied remember cookie."""
    thief = app.test_client()
    thief.set_cookie(REMEMBER, cookie_value)
    return thief


def test_remember_cookie_is_random_per_login_and_stored_hashed(app, client):
    """Two logins give two different remember cookies; the database holds neither token."""
    _, email = _user(app)
    _log_in(client, email)
    first = _remember_cookie(client)
    client.post("/logout")
    _log_in(client, email)
    second = _remember_cookie(client)
    assert first != second
    with app.app_context():
        hashes = set(db.session.scalars(select(StaffSession.token_hash)))
    tokens = {value.split("|")[0] for value in (first, second)}
    assert len(hashes) == 2 and not hashes & tokens


def test_remember_cookie_alone_logs_in_while_the_session_is_open(app, client):
    """The copied cookie works while its session is open (the test below is not vacuous)."""
    _, email = _user(app)
    _log_in(client, email)
    assert _logged_in(_replay(app, _remember_cookie(client)))


def test_remember_cookie_replayed_after_logout_is_refused(app, client):
    """After logout, the remember cookie copied before it opens nothing."""
    _, email = _user(app)
    _log_in(client, email)
    copied = _remember_cookie(client)
    assert client.post("/logout").status_code == 302
    assert not _logged_in(_replay(app, copied))


def test_remember_cookie_replayed_after_a_password_change_is_refused(app, client):
    """Changing one's password on one computer ends the sessions of every other; the one that
    changed it stays logged in."""
    _, email = _user(app)
    _log_in(client, email)
    elsewhere = _remember_cookie(client)
    here = app.test_client()
    _log_in(here, email)
    response = here.post(
        "/account/password",
        data={"current": DEFAULT_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert "logged out in 1 other place" in here.get("/account").get_data(as_text=True)
    assert _logged_in(here)
    assert not _logged_in(client)
    assert not _logged_in(_replay(app, elsewhere))


def test_password_reset_by_an_admin_ends_every_session(app, client, login_as):
    """An admin's password reset logs the user out everywhere."""
    _, email = _user(app)
    victim = app.test_client()
    _log_in(victim, email)
    copied = _remember_cookie(victim)
    login_as("admin")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == email))
    assert (
        client.post(
            f"/admin/users/{user_id}/password",
            data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        ).status_code
        == 303
    )
    assert not _logged_in(victim) and not _logged_in(_replay(app, copied))


def test_role_change_and_deactivation_end_sessions(app, client, login_as):
    """A new role or a deactivation logs the account out at once (its cookies carried the old
    rights); a change of name alone does not."""
    user_id, email = _user(app, role="clinician")
    staff = app.test_client()
    _log_in(staff, email)
    login_as("admin")
    client.post(
        f"/admin/users/{user_id}", data={"name": "New Name", "role": "clinician", "active": "y"}
    )
    assert _logged_in(staff)
    client.post(
        f"/admin/users/{user_id}", data={"name": "New Name", "role": "frontdesk", "active": "y"}
    )
    assert not _logged_in(staff)
    _log_in(staff, email)
    copied = _remember_cookie(staff)
    client.post(f"/admin/users/{user_id}", data={"name": "New Name", "role": "frontdesk"})
    assert not _logged_in(staff) and not _logged_in(_replay(app, copied))
    with app.app_context():
        reasons = set(
            db.session.scalars(
                select(StaffSession.ended_reason).where(StaffSession.user_id == user_id)
            )
        )
    assert reasons == {"role_changed", "deactivated"}


def _idle(app, minutes):
    """Pretend every session was last used `minutes` ago."""
    with app.app_context():
        for staff_session in db.session.scalars(select(StaffSession)):
            staff_session.last_seen_at = utcnow() - timedelta(minutes=minutes)
        db.session.commit()


def test_idle_timeout_ends_the_session(app, client):
    """A session unused for longer than the clinic's idle timeout (30 minutes) is refused, its
    remember cookie too; one used 29 minutes ago is not."""
    _, email = _user(app)
    _log_in(client, email)
    copied = _remember_cookie(client)
    _idle(app, 29)
    assert _logged_in(client)
    _idle(app, 31)
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not _logged_in(_replay(app, copied))


def test_idle_timeout_is_a_clinic_setting(app, client):
    """With a 10-minute timeout a session idle for 11 minutes ends."""
    _, email = _user(app)
    with app.app_context():
        db.session.get(ClinicSettings, 1).idle_timeout_minutes = 10
        db.session.commit()
    _log_in(client, email)
    _idle(app, 9)
    assert _logged_in(client)
    _idle(app, 11)
    assert not _logged_in(client)


def test_keep_alive_counts_as_activity(app, client):
    """'Stay logged in' moves the session's last activity to now."""
    _, email = _user(app)
    _log_in(client, email)
    _idle(app, 25)
    assert (
        client.post("/account/keep-alive", headers={"X-Requested-With": "fetch"}).status_code == 204
    )
    with app.app_context():
        last_seen = db.session.scalar(select(StaffSession.last_seen_at))
    assert utcnow() - last_seen < timedelta(minutes=1)


def test_sessions_end_at_their_expiry(app, client):
    """A session past its expiry (14 days when kept, 12 hours otherwise) is refused."""
    _, email = _user(app)
    _log_in(client, email, remember=False)
    with app.app_context():
        staff_session = db.session.scalar(select(StaffSession))
        lifetime = staff_session.expires_at - staff_session.created_at
        assert lifetime == timedelta(hours=12)
        staff_session.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert not _logged_in(client)


def test_account_page_lists_sessions_and_ends_one(app, client):
    """The account page lists both logins; ending the other one logs it out, not this one."""
    _, email = _user(app)
    other = app.test_client()
    _log_in(other, email)
    _log_in(client, email)
    body = client.get("/account").get_data(as_text=True)
    assert "2 open sessions" in body and "this browser" in body
    ids = re.findall(r"/account/sessions/(\d+)/end", body)
    assert len(ids) == 1
    assert client.post(f"/account/sessions/{ids[0]}/end").status_code == 302
    assert _logged_in(client) and not _logged_in(other)


def test_someone_elses_session_cannot_be_ended(app, client):
    """Ending a session id that belongs to another user is a 404, and it stays open."""
    _, email = _user(app)
    _, other_email = _user(app)
    other = app.test_client()
    _log_in(other, other_email)
    _log_in(client, email)
    with app.app_context():
        theirs = db.session.scalar(
            select(StaffSession.id).join(User).where(User.email == other_email)
        )
    assert client.post(f"/account/sessions/{theirs}/end").status_code == 404
    assert _logged_in(other)


def test_log_out_everywhere(app, client):
    """'Log out everywhere' ends every session of the user, this one included."""
    _, email = _user(app)
    other = app.test_client()
    _log_in(other, email)
    _log_in(client, email)
    copied = _remember_cookie(client)
    response = client.post("/account/sessions/end-all")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not _logged_in(client) and not _logged_in(other) and not _logged_in(_replay(app, copied))
