"""The login page in a real browser: usable, accessible, and no script runs."""
from .conftest import axe_violations, log_in


def test_login_page_accessible(page):
    """axe-core finds no serious or critical violation on the login page."""
    page.goto("/login")
    assert page.get_by_role("heading", name="Log in").is_visible()
    assert axe_violations(page) == []


def test_wrong_password_error_next_to_field(page, staff):
    """A wrong password shows an announced error beside the field."""
    email, _ = staff("frontdesk")
    log_in(page, email, "not the password")
    alert = page.get_by_role("alert").filter(has_text="Email or password is not right.")
    assert alert.is_visible()
    assert page.get_by_label("Email").input_value() == email


def test_login_lands_on_worklist(page, staff):
    """A front-desk user logs in and lands on the worklist."""
    email, password = staff("frontdesk")
    log_in(page, email, password)
    assert page.get_by_role("heading", name="Worklist").is_visible()
    assert axe_violations(page) == []
