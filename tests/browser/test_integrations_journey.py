"""In a real browser: an admin issues an API token (shown once) and revokes it; a clinician
makes a calendar feed URL that a calendar app then fetches. Checked by axe, screenshotted."""

import re
import urllib.request

from playwright.sync_api import expect
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import ApiToken, CalendarFeed, User

from .conftest import log_in

SIZES = {"wide": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def _screens(page, name: str) -> None:
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.screenshot(path=f"/tmp/api-{name}-{size}.png", full_page=True)
    page.set_viewport_size(SIZES["wide"])


def test_admin_issues_and_revokes_an_api_token(journey, staff, live_app, live_server):
    """Admin → API tokens: issue with the form's defaults plus a person, copy it once, use it, revoke it."""
    page = journey.page
    email, password = staff("admin")
    staff("frontdesk", email="desk@clinic.test")
    log_in(page, email, password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", exact=True)).to_be_visible()
    journey.check("API tokens, none yet")
    with live_app.app_context():
        desk_id = db.session.scalar(select(User.id).where(User.email == "desk@clinic.test"))
    page.get_by_label("Acts as").select_option(value=str(desk_id))
    page.get_by_role("button", name="Issue token").click()
    secret = page.get_by_label("Token", exact=True).input_value()
    assert secret.startswith("trk_")
    expect(page.get_by_text("shown only this once")).to_be_visible()
    journey.check("API token just issued")
    _screens(page, "tokens-issued")
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/worklist", headers={"Authorization": f"Bearer {secret}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    page.goto("/admin/api-tokens/")
    assert secret not in page.content()
    page.get_by_text("Revoke…").click()
    page.get_by_label(re.compile("Yes, revoke")).check()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("status").get_by_text("Token revoked.")).to_be_visible()
    journey.check("API tokens after revoking")
    with live_app.app_context():
        assert db.session.scalar(select(ApiToken.revoked_at)) is not None
    journey.finish("api-tokens")


def test_clinician_makes_a_calendar_feed(journey, staff, live_app, live_server):
    """Calendar feed link → Make a subscription URL: the URL works in a calendar app's fetch."""
    page = journey.page
    email, password = staff("clinician")
    log_in(page, email, password)
    page.get_by_role("link", name="Calendar feed").click()
    expect(page.get_by_role("heading", name="Calendar feeds")).to_be_visible()
    journey.check("calendar feeds, none yet")
    page.get_by_role("button", name="Make a subscription URL").click()
    url = page.get_by_label("Subscription URL").input_value()
    assert url.startswith(live_server.url) and url.endswith(".ics")
    journey.check("calendar feed just made")
    _screens(page, "feeds-made")
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/calendar")
        assert b"BEGIN:VCALENDAR" in answer.read()
    with live_app.app_context():
        assert db.session.scalar(select(CalendarFeed.kind)) == "staff"
    journey.finish("calendar-feeds")


def test_admin_registers_a_webhook_and_sends_a_test(journey, staff, live_app):
    """Admin → Webhooks: add an address with the form's defaults (every event ticked), copy the
    secret, press Send a test: a real local server receives it signed; the log says delivered."""
    from ..api.receiver import Receiver

    page = journey.page
    email, password = staff("admin")
    log_in(page, email, password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    journey.check("webhooks, none yet")
    with Receiver() as receiver:
        page.get_by_label("Address (URL)").fill(receiver.url)
        page.get_by_label("What it is").fill("Referral system")
        expect(
            page.get_by_label("A patient lapses")
        ).to_be_checked()  # every event is ticked to start with
        page.get_by_role("button", name="Add address").click()
        receiver.secret = page.get_by_label("Signing secret").input_value()
        journey.check("webhook just added")
        _screens(page, "webhooks-added")
        page.get_by_role("link", name=receiver.url).click()
        page.get_by_role("button", name="Send a test").click()
        expect(page.get_by_role("status").get_by_text("Test event delivered.")).to_be_visible()
    assert len(receiver.received) == 1 and receiver.received[0]["signed"]
    expect(page.get_by_role("cell", name="delivered", exact=True)).to_be_visible()
    journey.check("webhook address with its log")
    _screens(page, "webhook-endpoint")
    journey.finish("webhooks")
