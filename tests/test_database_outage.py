"""With the database down, every page answers with the app's own 503 page and its security
headers, rendered without touching the database."""

import pytest

from tracker.extensions import db

from .conftest import build_app, login
from .factories import make_user

# Nothing listens on port 9 (discard) on a test machine: connecting is refused at once.
UNREACHABLE_POSTGRES = "postgresql+psycopg://tracker@127.0.0.1:9/tracker?connect_timeout=2"


def _down_app(tmp_path, url: str, secret: str = "test-secret-key-not-for-production"):
    """An app whose database cannot be reached (no schema set-up: there is nothing to reach)."""
    from tracker import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secret,
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        }
    )


def _assert_unavailable_page(response):
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "Temporarily unavailable" in body and "cannot reach its database" in body
    assert "Traceback" not in body and "OperationalError" not in body
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Retry-After"] == "30"


@pytest.mark.parametrize(
    "url",
    [
        UNREACHABLE_POSTGRES,
        "sqlite:///{tmp}/no-such-folder/tracker.sqlite3",  # SQLite cannot create a file there
    ],
)
def test_pages_while_the_database_is_unreachable(tmp_path, url):
    """Logging in (the first query) answers 503 with our page; the login form itself needs no database."""
    app = _down_app(tmp_path, url.format(tmp=tmp_path))
    client = app.test_client()
    assert client.get("/login").status_code == 200
    _assert_unavailable_page(
        client.post("/login", data={"email": "a@clinic.test", "password": "x" * 12})
    )
    health = client.get("/health")
    assert health.status_code == 503 and health.json == {"status": "database unavailable"}
    with app.app_context():
        db.engine.dispose()


def test_a_logged_in_user_when_the_database_goes_away(tmp_path):
    """A staff member's session outlives the database: their next page is the 503 page, not a
    bare 500 (loading the user from the session is the first query to fail)."""
    working = build_app(tmp_path)
    with working.app_context():
        user = make_user(role="frontdesk")
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
    client = working.test_client()
    login(client, user)
    down = _down_app(tmp_path, UNREACHABLE_POSTGRES, secret=working.config["SECRET_KEY"])
    down_client = down.test_client()
    for (
        cookie
    ) in client._cookies.values():  # the same browser, now talking to the app without a database
        down_client.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    for path in ("/worklist/", "/patients/", "/patients/1", "/schedule/day"):
        _assert_unavailable_page(down_client.get(path))
    for app in (working, down):
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
