"""The header search in Chromium: results as you type by every key, keyboard only, no-JS form."""

from datetime import date

from playwright.sync_api import expect

from tracker.extensions import db

from ..factories import DEFAULT_PASSWORD, make_patient, make_user
from .conftest import log_in

SHOTS = "/tmp/search-shots"


def _clinic(live_app) -> str:
    """Three look-alike callers and a front-desk login; returns the login's email."""
    with live_app.app_context():
        make_patient(
            mrn="A-100",
            first_name="Jane",
            last_name="Doe",
            date_of_birth=date(1980, 4, 12),
            phone="(704) 555-0101",
            email="jane.doe@example.org",
        )
        make_patient(
            mrn="A-101",
            first_name="John",
            last_name="Doe",
            date_of_birth=date(1980, 12, 4),
            phone="+1 704 555 0199",
            email="jd@example.org",
        )
        make_patient(
            mrn="B-200", first_name="María", last_name="Núñez", date_of_birth=date(1975, 1, 2)
        )
        user = make_user(role="frontdesk")
        db.session.commit()
        return user.email


def _type(page, text: str):
    """Type into the header search as a person would."""
    box = page.get_by_role("combobox", name="Find a patient")
    box.fill("")
    box.press_sequentially(text, delay=20)
    return box


def test_search_by_each_key_from_the_header_with_the_keyboard(journey, live_app):
    """Name in any order, MRN, birth date as typed, phone in any punctuation, email: arrows and
    Enter open the patient, Escape closes the list; axe finds nothing on the open list."""
    page = journey.page
    log_in(page, _clinic(live_app), DEFAULT_PASSWORD)
    box = _type(page, "doe j")
    options = page.get_by_role("listbox", name="Patients found").get_by_role("option")
    expect(options).to_have_count(2)
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(options.nth(0)).to_contain_text("Doe, Jane")
    expect(options.nth(0)).to_contain_text("born Sat 12 Apr 1980 · MRN A-100 · (704) 555-0101")
    expect(page.get_by_role("status").first).to_have_text(
        "2 patients found; use the arrow keys to choose."
    )
    journey.check("header search open")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=f"{SHOTS}-open-1366.png")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SHOTS}-open-390.png")
    page.set_viewport_size({"width": 1280, "height": 900})

    for text, name in (
        ("jane doe", "Doe, Jane"),
        ("A-101", "Doe, John"),
        ("04/12/1980", "Doe, Jane"),
        ("1980-12-04", "Doe, John"),
        ("7045550101", "Doe, Jane"),
        ("(704) 555-0199", "Doe, John"),
        ("JANE.DOE@", "Doe, Jane"),
        ("nunez", "Núñez, María"),
    ):
        _type(page, text)
        expect(options).to_have_count(1)
        expect(options.nth(0)).to_contain_text(name)

    box = _type(page, "doe")
    expect(options).to_have_count(2)
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "header-search-list-1")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#header-search-list")).to_be_hidden()
    box.press("ArrowDown")  # opens the list again on its first patient
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    with page.expect_navigation():
        box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jane Doe")
    journey.finish("header-search")


def test_search_without_javascript_is_a_plain_form(playwright_browser, live_server, live_app):
    """With JavaScript off the header's search submits to a results page listing each match."""
    email = _clinic(live_app)
    context = playwright_browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    try:
        log_in(page, email, DEFAULT_PASSWORD)
        page.get_by_role("searchbox", name="Find a patient").fill("704 555 0101")
        with page.expect_navigation():
            page.get_by_role("search", name="Find a patient").get_by_role(
                "button", name="Search"
            ).click()
        rows = page.get_by_role("table").get_by_role("row")
        expect(rows).to_have_count(2)
        expect(rows.nth(1)).to_contain_text("Doe, Jane")
        assert "(704) 555-0101" in rows.nth(1).inner_text()
        page.screenshot(path=f"{SHOTS}-results-nojs-1366.png", full_page=True)
    finally:
        context.close()


def test_results_page_and_its_errors_pass_axe(journey, live_app):
    """The results page, with matches, with none, and with a partial date, has no axe violation."""
    page = journey.page
    log_in(page, _clinic(live_app), DEFAULT_PASSWORD)
    page.goto("/search/?q=doe")
    expect(page.get_by_role("link", name="Doe, Jane")).to_be_visible()
    journey.check("search results")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SHOTS}-results-390.png", full_page=True)
    page.goto("/search/?q=04%2F12")
    assert "Type the whole date of birth" in page.get_by_role("alert").inner_text()
    journey.check("search partial date")
    page.goto("/search/?q=nobody")
    assert "No patient found" in page.get_by_role("status").last.inner_text()
    journey.check("search nothing found")
    journey.finish("search-results")
