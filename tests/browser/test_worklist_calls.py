"""Logging a recall call from a worklist row in Chromium: the row sorts lower, the patient page
shows the call, the page passes axe and scrolls inside its own box at 360 px."""

from datetime import timedelta

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.services.clinic import clinic_today

from ..factories import DEFAULT_PASSWORD, make_patient, make_user
from .conftest import log_in
from .helpers import NARROW, OVERFLOW_TOLERANCE, complete_series, horizontal_overflow

SHOTS = "/tmp/search-shots"


def test_log_a_call_from_the_row_and_see_it_sort_lower(journey, live_app):
    """Choose the outcome, type a note, Log call: the flash names the patient, the row moves
    below the patients not called yet and shows the last contact; the filter hides it."""
    with live_app.app_context():
        today = clinic_today()
        complete_series(
            make_patient(first_name="Ada", last_name="Abbott", phone="(704) 555-0101"),
            today - timedelta(days=120),
        )
        complete_series(
            make_patient(first_name="Ben", last_name="Baker", phone="704-555-0102"),
            today - timedelta(days=100),
        )
        email = make_user(role="frontdesk").email
        db.session.commit()
    page = journey.page
    log_in(page, email, DEFAULT_PASSWORD)
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows.nth(1)).to_contain_text("Abbott, Ada")
    expect(rows.nth(1)).to_contain_text("overdue by")
    expect(rows.nth(1)).to_contain_text("Not contacted yet")
    journey.check("worklist with call forms")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=f"{SHOTS}-worklist-1366.png", full_page=True)

    page.get_by_label("Outcome of the call to Abbott, Ada").select_option(label="Left a voicemail")
    page.get_by_label("Note on the call to Abbott, Ada").fill("asked her to call back")
    with page.expect_navigation():
        page.get_by_role("button", name="Log call to Abbott, Ada").click()
    expect(page.locator(".flashes")).to_contain_text(
        "Call logged for Ada Abbott: Left a voicemail."
    )
    expect(rows.nth(1)).to_contain_text("Baker, Ben")
    expect(rows.nth(2)).to_contain_text("Abbott, Ada")
    expect(rows.nth(2)).to_contain_text("Left a voicemail")
    expect(rows.nth(2)).to_contain_text("1 call")
    journey.check("worklist after a call")

    page.get_by_label("Calls").select_option(label="Not contacted yet")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(2)  # the header row and Baker
    expect(rows.nth(1)).to_contain_text("Baker, Ben")

    page.set_viewport_size({"width": NARROW, "height": 740})
    page.goto("/worklist/")
    assert horizontal_overflow(page) <= OVERFLOW_TOLERANCE  # the table scrolls in its own box
    page.get_by_role("button", name="Log call to Baker, Ben").scroll_into_view_if_needed()
    expect(page.get_by_role("button", name="Log call to Baker, Ben")).to_be_in_viewport()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SHOTS}-worklist-390.png", full_page=True)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("link", name="Abbott, Ada", exact=True).click()
    calls = page.get_by_role("region", name="Calls")
    expect(calls).to_contain_text("Left a voicemail")
    expect(calls).to_contain_text("asked her to call back")
    journey.check("patient page calls")
    journey.finish("worklist-calls")


def test_a_call_without_an_outcome_is_stopped_by_the_browser_and_the_server(journey, live_app):
    """The outcome select is required (nothing preselected); the row's other fields keep working."""
    with live_app.app_context():
        complete_series(
            make_patient(first_name="Cy", last_name="Cole"), clinic_today() - timedelta(days=95)
        )
        email = make_user(role="frontdesk").email
        db.session.commit()
    page = journey.page
    log_in(page, email, DEFAULT_PASSWORD)
    outcome = page.get_by_label("Outcome of the call to Cole, Cy")
    expect(outcome).to_have_value("")
    page.get_by_role("button", name="Log call to Cole, Cy").click()
    assert outcome.evaluate("element => element.validity.valueMissing")
    expect(page.get_by_role("table").get_by_role("row").nth(1)).to_contain_text("Not contacted yet")
