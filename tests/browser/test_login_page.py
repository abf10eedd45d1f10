"""The login page in a real browser: usable, accessible, and no script runs."""
from playwright.sync_api import expect

from .conftest import axe_violations, log_in


def test_login_page_accessible(page):
    """axe-core finds no serious or critical violation on the login page."""
    page.goto("/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert axe_violations(page) == []


def test_wrong_password_error_next_to_field(page, staff):
    """A wrong password shows an announced error beside the field."""
    email, _ = staff("frontdesk")
    log_in(page, email, "not the password")
    alert = page.get_by_role("alert").filter(has_text="Email or password is not right.")
    expect(alert).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(email)


def test_login_lands_on_worklist(page, staff):
    """A front-desk user logs in and lands on the worklist."""
    email, password = staff("frontdesk")
    log_in(page, email, password)
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    assert axe_violations(page) == []
