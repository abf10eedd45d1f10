"""Security headers on every response, session cookie flags, and refusing an insecure start-up."""
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from flask_wtf.csrf import generate_csrf

from tracker import create_app
from tracker.extensions import db

from .conftest import build_app
from .factories import DEFAULT_PASSWORD, make_user

REPO = Path(__file__).resolve().parent.parent
REFUSAL = "Refusing to start: the secret key is missing or a default value"


def assert_security_headers(response):
    """The headers every response must carry, whatever its status or type."""
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")


@pytest.fixture
def staff(app):
    """Email addresses of a frontdesk and an admin account."""
    with app.app_context():
        emails = {role: make_user(role=role).email for role in ("frontdesk", "admin")}
        db.session.commit()
    return emails


def _login(client, email):
    assert client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD}).status_code == 302


def test_headers_on_pages_redirects_and_errors(app, client, staff):
    """A page, a redirect, 403, 404, 405, 429 and the health check all carry the headers."""
    responses = [client.get("/login"), client.get("/"), client.get("/health"),
                 client.get("/no-such-page"), client.get("/logout")]
    assert [r.status_code for r in responses] == [200, 302, 200, 404, 405]
    _login(client, staff["frontdesk"])
    forbidden = client.get("/admin/")
    assert forbidden.status_code == 403
    client.post("/logout")
    for _ in range(3):
        client.post("/login", data={"email": staff["admin"], "password": "wrong wrong wrong"})
    throttled = client.post("/login", data={"email": staff["admin"], "password": DEFAULT_PASSWORD})
    assert throttled.status_code == 429
    for response in responses + [forbidden, throttled]:
        assert_security_headers(response)
    assert responses[0].headers["Cache-Control"] == "no-store"


def test_headers_on_static_files(client):
    """Static files (CSS) carry the same headers, and the CSS is served from the app itself."""
    response = client.get("/static/css/app.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert_security_headers(response)
    response.close()


def test_headers_and_no_details_on_server_errors(tmp_path):
    """An unexpected exception becomes a plain 500 page with the headers and no traceback."""
    app = build_app(tmp_path, PROPAGATE_EXCEPTIONS=False)

    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/explode-for-test", "explode_for_test", explode)
    try:
        response = app.test_client().get("/explode-for-test")
        body = response.get_data(as_text=True)
        assert response.status_code == 500
        assert "Something went wrong" in body
        assert "secret internals" not in body and "Traceback" not in body
        assert_security_headers(response)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_headers_on_csrf_failure(tmp_path):
    """A form posted without its token gets the 400 page, with the headers."""
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    try:
        response = app.test_client().post("/login", data={"email": "a@b.org", "password": "x" * 12})
        assert response.status_code == 400
        assert "The form expired" in response.get_data(as_text=True)
        assert_security_headers(response)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _cookie(response, name):
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_session_cookie_is_httponly_and_lax(app, client, staff):
    """The session and remember-me cookies are HttpOnly and SameSite=Lax (not Secure in development);
    remember-me lasts two weeks."""
    response = client.post("/login", data={"email": staff["frontdesk"], "password": DEFAULT_PASSWORD,
                                           "remember": "y"})
    for name in ("session", "remember_token"):
        cookie = _cookie(response, name)
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie
    expires = re.search(r"Expires=([^;]+)", _cookie(response, "remember_token")).group(1)
    lasts = parsedate_to_datetime(expires) - datetime.now(timezone.utc)
    assert timedelta(days=13, hours=23) < lasts <= timedelta(days=14)  # two weeks, not a year
    assert "Strict-Transport-Security" not in response.headers  # plain http in development


def test_cookies_are_secure_in_production(tmp_path, monkeypatch):
    """With TRACKER_ENV=production the session and remember-me cookies are also Secure, and HSTS is sent."""
    monkeypatch.setenv("TRACKER_ENV", "production")
    app = build_app(tmp_path, BASE_URL="https://tracker.clinic.example")
    try:
        assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
        with app.app_context():
            email = make_user(role="frontdesk").email
            db.session.commit()
        response = app.test_client().post("/login", data={"email": email, "password": DEFAULT_PASSWORD,
                                                          "remember": "y"})
        assert response.status_code == 302
        for name in ("session", "remember_token"):
            cookie = _cookie(response, name)
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("key", [None, "", "dev", "change-me", "short-key"])
def test_start_up_refuses_missing_or_default_secret_key(tmp_path, key):
    """Outside tests, create_app refuses a missing, default or short key and says what to do."""
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SECRET_KEY": key}
    with pytest.raises(RuntimeError) as caught:
        create_app(config)
    message = str(caught.value)
    assert REFUSAL in message
    assert "TRACKER_SECRET_KEY" in message and "secrets.token_hex" in message


def test_start_up_refuses_default_key_in_production_even_when_testing(tmp_path, monkeypatch):
    """TRACKER_ENV=production checks the key even with TESTING or debug switched on."""
    monkeypatch.setenv("TRACKER_ENV", "production")
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SECRET_KEY": "dev",
              "TESTING": True}
    with pytest.raises(RuntimeError, match=REFUSAL):
        create_app(config)
    with pytest.raises(RuntimeError, match="debug mode is on"):
        create_app(dict(config, SECRET_KEY="a-long-random-production-key-0123456789", TESTING=False, DEBUG=True))


def test_start_up_accepts_a_real_key(tmp_path):
    """A long random key starts the app outside tests."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                      "SECRET_KEY": "5f0c1a7e9b2d4c6e8f0a1b3c5d7e9f01"})
    assert not app.testing
    with app.test_request_context():
        assert generate_csrf()  # the key works for signing


def _flask(tmp_path, secret_key):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRACKER_", "FLASK_")) and k != "DATABASE_URL"}
    env.update(TRACKER_SECRET_KEY=secret_key, DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    return subprocess.run([sys.executable, "-m", "flask", "--app", "tracker", "routes"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("key", ["dev", ""])
def test_flask_cli_exits_non_zero_and_says_why(tmp_path, key):
    """`flask --app tracker ...` with a default or empty key exits 1 with the reason, no traceback."""
    result = _flask(tmp_path, key)
    assert result.returncode == 1
    assert REFUSAL in result.stderr
    assert "Traceback" not in result.stderr


def test_flask_cli_starts_with_a_real_key(tmp_path):
    """The same command with a real key runs (so the refusal above is about the key)."""
    result = _flask(tmp_path, "5f0c1a7e9b2d4c6e8f0a1b3c5d7e9f01")
    assert result.returncode == 0, result.stderr
    assert "admin.settings" in result.stdout


def test_nul_characters_are_refused_everywhere(app, client, staff):
    """A NUL character (which PostgreSQL cannot store) in the path, query or form is a 400 page
    that says why, and nothing is saved."""
    _login(client, staff["admin"])
    for response in (client.get("/patients/?q=%00"), client.get("/admin/audit?x%00=1"),
                     client.get("/admin/users/%00"),
                     client.post("/admin/users/new", data={"email": "a@b.org", "name": "A\x00",
                                                           "role": "admin", "password": "x" * 20,
                                                           "confirm": "x" * 20})):
        assert response.status_code == 400
        assert "NUL character" in response.get_data(as_text=True)
        assert_security_headers(response)
    with app.app_context():
        from tracker.models import User

        assert db.session.query(User).filter_by(email="a@b.org").first() is None
