"""The admin's journey in a real browser: a chair, opening hours, a new front-desk account."""
from playwright.sync_api import expect
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Chair, OpeningHours

from .conftest import log_in

NEW_PASSWORD = "violet harbour lantern 42"


def test_admin_adds_chair_hours_and_frontdesk_user(journey, staff, live_app):
    """An admin adds a chair, opens on Saturdays, adds a front-desk user who then logs in."""
    page = journey.page
    email, password = staff("admin")
    log_in(page, email, password)
    journey.check("worklist (admin)")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
    journey.check("admin start page")

    page.get_by_role("link", name="Chairs", exact=True).click()
    expect(page.get_by_role("heading", name="Chairs")).to_be_visible()
    journey.check("chairs")
    page.get_by_label("Chair name").fill("Recliner by the window")
    page.get_by_label("Position").fill("5")
    page.get_by_role("button", name="Add chair").click()
    expect(page.get_by_role("status").get_by_text("Chair Recliner by the window added.")).to_be_visible()
    expect(page.get_by_role("button", name="Save Recliner by the window")).to_be_visible()
    journey.check("chairs after adding one")

    page.get_by_role("navigation", name="Schedule").get_by_role("link", name="Opening hours").click()
    expect(page.get_by_role("heading", name="Opening hours")).to_be_visible()
    journey.check("opening hours")
    saturday = page.get_by_role("group", name="Saturday")
    saturday.get_by_label("Open", exact=True).check()
    saturday.get_by_label("Opens").fill("09:00")
    saturday.get_by_label("Closes").fill("13:30")
    page.get_by_role("button", name="Save opening hours").click()
    expect(page.get_by_role("status").get_by_text("Opening hours saved.")).to_be_visible()
    saturday = page.get_by_role("group", name="Saturday")
    expect(saturday.get_by_label("Open", exact=True)).to_be_checked()
    expect(saturday.get_by_label("Opens")).to_have_value("09:00")
    expect(saturday.get_by_label("Closes")).to_have_value("13:30")
    journey.check("opening hours after saving")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Add a staff account").click()
    expect(page.get_by_role("heading", name="Add a staff account")).to_be_visible()
    journey.check("add a staff account")
    page.get_by_label("Email").fill("robin.desk@clinic.test")
    page.get_by_label("Name").fill("Robin Desk")
    page.get_by_label("Role").select_option(label="Front desk")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Add account").click()
    expect(page.get_by_role("status").get_by_text("Added robin.desk@clinic.test as frontdesk.")).to_be_visible()
    expect(page.get_by_role("link", name="robin.desk@clinic.test")).to_be_visible()
    journey.check("staff accounts")

    page.get_by_role("button", name="Log out").click()
    log_in(page, "robin.desk@clinic.test", NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    expect(page.get_by_text("Robin Desk (frontdesk)")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    journey.check("worklist (new front-desk user)")
    journey.finish("admin-journey")

    with live_app.app_context():
        chair = db.session.scalars(select(Chair).where(Chair.name == "Recliner by the window")).one()
        assert chair.position == 5 and chair.active
        saturday_hours = db.session.scalars(select(OpeningHours).where(OpeningHours.weekday == 5)).one()
        assert (saturday_hours.opens.strftime("%H:%M"), saturday_hours.closes.strftime("%H:%M")) == ("09:00", "13:30")
