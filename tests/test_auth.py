"""Login, logout, throttling and the login-required wall."""
import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import LoginAttempt

from .factories import DEFAULT_PASSWORD, make_user


def _user(app, **kw):
    with app.app_context():
        user = make_user(**kw)
        db.session.commit()
        return user.id, user.email


def test_health_needs_no_login(client):
    """The health check answers without a session and reveals nothing else."""
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_pages_redirect_to_login(client):
    """An anonymous visitor is sent to the login page."""
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_and_logout(app, client):
    """Right credentials log in; logout is a POST and ends the session."""
    _, email = _user(app, role="frontdesk")
    response = client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # index redirects to a page, not to login
    assert "/login" not in client.get("/").headers["Location"]
    assert client.post("/logout").status_code == 302
    assert "/login" in client.get("/").headers["Location"]


def test_wrong_password_shows_error_on_field(app, client):
    """A wrong password keeps the typed email and says what went wrong."""
    _, email = _user(app, role="frontdesk")
    response = client.post("/login", data={"email": email, "password": "wrong password!"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Email or password is not right." in body
    assert f'value="{email}"' in body


def test_account_held_after_repeated_failures(app, client):
    """Repeated failures hold the account for the address they came from: even the right
    password is refused there, and every attempt is logged."""
    app.config["LOGIN_BACKOFF_SECONDS"] = 30  # a slow machine cannot outwait the first hold
    user_id, email = _user(app, role="frontdesk")
    for _ in range(5):
        client.post("/login", data={"email": email, "password": "wrong password!"})
    response = client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    with app.app_context():
        outcomes = db.session.scalars(select(LoginAttempt.outcome).where(LoginAttempt.user_id == user_id)
                                      .order_by(LoginAttempt.id)).all()
        assert outcomes == ["wrong"] * 3 + ["held"] * 3


def test_open_redirect_refused(app, client):
    """After login, `next` may only point inside the site."""
    _, email = _user(app, role="frontdesk")
    response = client.post("/login?next=//evil.example/x", data={"email": email, "password": DEFAULT_PASSWORD})
    assert "evil.example" not in response.headers["Location"]


@pytest.mark.parametrize("target", ["/\\evil.example/x", "/\t/evil.example/x", "https://evil.example/x"])
def test_next_that_a_browser_reads_as_offsite_is_refused(app, client, target):
    """A `next` with a backslash or a tab (which browsers turn into //) or a scheme goes home instead."""
    _, email = _user(app, role="frontdesk")
    response = client.post("/login", query_string={"next": target},
                           data={"email": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]


def test_next_inside_the_site_is_followed(app, client):
    """A same-site `next` path with its query string is where login leads."""
    _, email = _user(app, role="frontdesk")
    response = client.post("/login", query_string={"next": "/reminders/?status=failed"},
                           data={"email": email, "password": DEFAULT_PASSWORD})
    assert response.headers["Location"].endswith("/reminders/?status=failed")


def test_security_headers(client):
    """Every response carries a CSP without inline script and the other headers."""
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_landing_page_by_role(client, login_as):
    """After login a clinician lands on the day sheet, the front desk on the worklist."""
    login_as("clinician")
    assert client.get("/").headers["Location"].endswith("/schedule/day")
    client.post("/logout")
    login_as("frontdesk")
    assert client.get("/").headers["Location"].endswith("/worklist/")
