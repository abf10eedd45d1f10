"""Two-step login and the account page in Chromium: set-up at first login, the code at the
next, a recovery code, changing the password, ending sessions, the idle warning."""

import re
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import ClinicSettings, StaffSession, utcnow

from ..conftest import build_app
from ..factories import DEFAULT_PASSWORD, make_user
from .conftest import LiveServer, log_in
from .helpers import run_axe

SHOTS = "/tmp/auth_shots"
SIZES = {"wide": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
NEW_PASSWORD = "violet tram kettle 42"


@pytest.fixture
def strict_server(tmp_path):
    """The live app with the production rule: admins must log in with two steps."""
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True, TWO_FACTOR_REQUIRED_FOR_ADMINS=True)
    with LiveServer(app) as server:
        app.config["BASE_URL"] = server.url
        yield server
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def browser_page(playwright_browser, strict_server):
    context = playwright_browser.new_context(base_url=strict_server.url, viewport=SIZES["wide"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _account(app, role):
    with app.app_context():
        user = make_user(role=role)
        db.session.commit()
        return user.email


def _clean(page, request, label):
    """axe-core finds nothing at all on this page state; screenshots at both sizes."""
    found = run_axe(page, request.node.name, label)
    assert found.rules == [], found.line()
    for name, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=f"{SHOTS}/{label}-{name}.png", full_page=True)
    page.set_viewport_size(SIZES["wide"])


def _key(page) -> str:
    return page.locator("code.secret-key").inner_text().replace(" ", "")


def test_admin_sets_up_two_step_login_then_logs_in_with_a_code(
    browser_page, strict_server, request
):
    """The admin's first login leads through the set-up (QR code, key, code), shows the
    recovery codes once; the next login asks for the app's code; a recovery code works too."""
    page = browser_page
    email = _account(strict_server.app, "admin")
    log_in(page, email)
    expect(page.get_by_role("heading", name="Set up two-step login")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    _clean(page, request, "login-setup")
    page.get_by_role("button", name="Turn on two-step login").click()  # the form as it opens
    expect(page.get_by_role("alert").filter(has_text="Enter the code.").first).to_be_visible()
    secret = _key(page)
    page.get_by_label("Code shown by the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step login").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    codes = [c.strip() for c in page.locator(".recovery-codes code").all_inner_texts()]
    assert len(codes) == 10
    _clean(page, request, "recovery-codes")
    page.get_by_role("link", name="I have kept them: continue").click()
    page.get_by_role("button", name="Log out").click()

    log_in(page, email)
    expect(page.get_by_role("heading", name="Two-step login")).to_be_visible()
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert").filter(has_text="Enter the code.").first).to_be_visible()
    _clean(page, request, "login-code-error")
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(codes[0])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You used a recovery code")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    log_in(page, email)
    later = utcnow() + timedelta(seconds=30)  # the set-up code's step is spent
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        pyotp.TOTP(secret).at(later)
    )
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()


def test_account_page_password_and_sessions(
    browser_page, strict_server, playwright_browser, request
):
    """A front-desk user finds the account page from the header, sees two sessions, changes
    the password (the empty form first), which logs the other browser out."""
    page = browser_page
    email = _account(strict_server.app, "frontdesk")
    other_context = playwright_browser.new_context(base_url=strict_server.url)
    other = other_context.new_page()
    log_in(other, email)
    log_in(page, email)
    page.get_by_role("link", name=re.compile(r"\(frontdesk\)")).click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_text("2 open sessions")).to_be_visible()
    _clean(page, request, "account")
    page.get_by_role("button", name="Change password").click()
    expect(
        page.get_by_role("alert").filter(has_text="Enter your current password.").last
    ).to_be_visible()
    _clean(page, request, "account-password-errors")
    page.get_by_label("Current password").fill(DEFAULT_PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(
        page.get_by_text("Password changed. You were logged out in 1 other place.")
    ).to_be_visible()
    expect(page.get_by_text("1 open session")).to_be_visible()
    other.goto("/worklist/")
    expect(other.get_by_role("heading", name="Log in")).to_be_visible()
    other_context.close()
    page.get_by_role("button", name="Log out everywhere, here too").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_idle_warning_offers_to_stay_logged_in(browser_page, strict_server, request):
    """Two minutes before the idle timeout a warning appears; 'Stay logged in' counts as
    activity on the server and hides it."""
    page = browser_page
    app = strict_server.app
    with app.app_context():
        db.session.get(ClinicSettings, 1).idle_timeout_minutes = 5
        db.session.commit()
    email = _account(app, "clinician")
    page.clock.install()
    log_in(page, email)
    warning = page.get_by_role("alert").filter(has_text="you will be logged out in")
    expect(warning).to_be_hidden()
    with app.app_context():
        for staff_session in db.session.scalars(select(StaffSession)):
            staff_session.last_seen_at = utcnow() - timedelta(minutes=3)
        db.session.commit()
    page.clock.fast_forward("03:05")
    expect(warning).to_be_visible()
    _clean(page, request, "idle-warning")
    page.get_by_role("button", name="Stay logged in").click()
    warning.wait_for(state="hidden")
    with app.app_context():
        seen = db.session.scalar(select(StaffSession.last_seen_at))
    assert utcnow() - seen < timedelta(seconds=30)
