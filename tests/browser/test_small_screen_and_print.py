"""Pages at 360 px wide (a phone) fit without sideways scrolling; the day sheet prints cleanly."""
from datetime import timedelta

from playwright.sync_api import expect
import pytest

from tracker.extensions import db
from tracker.services.clinic import clinic_today

from ..factories import make_patient, make_user
from .conftest import log_in
from .helpers import (
    NARROW, OVERFLOW_TOLERANCE, add_appointment, complete_series, horizontal_overflow,
    local_instant, set_up_clinic,
)


@pytest.fixture
def narrow_page(playwright_browser, live_server):
    """A phone-sized page: 360 CSS pixels wide."""
    context = playwright_browser.new_context(base_url=live_server.url,
                                             viewport={"width": NARROW, "height": 740})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def busy_clinic(live_app):
    """An admin, a patient in maintenance with a long name and email, and a booked appointment today."""
    with live_app.app_context():
        today = clinic_today()
        clinic = set_up_clinic(chairs=4)
        admin = make_user(role="admin", email="a.very.long.administrator.address@infusion-clinic.example.test",
                          name="Alexandra Konstantinopoulou-Featherstonehaugh")
        patient = make_patient(first_name="Maximiliana", last_name="Wolfeschlegelsteinhausen-Bergerdorff",
                               email="maximiliana.wolfeschlegelsteinhausen@example-long-domain.test")
        complete_series(patient, today - timedelta(days=40))
        appointment = add_appointment(patient, clinic["chairs"][1], clinic["maintenance"],
                                      local_instant(today, 10), clinician=admin)
        db.session.commit()
        return {"email": admin.email, "patient_id": patient.id, "appointment_id": appointment.id,
                "today": today}


def key_pages(facts) -> list[tuple[str, str]]:
    """(label, path) of the pages staff use most."""
    patient, appointment = facts["patient_id"], facts["appointment_id"]
    return [
        ("worklist", "/worklist/"),
        ("patients list", "/patients/"),
        ("patient page", f"/patients/{patient}"),
        ("add patient", "/patients/new"),
        ("record infusion", f"/patients/{patient}/infusions/new"),
        ("day sheet", f"/schedule/day?date={facts['today'].isoformat()}"),
        ("week", "/schedule/week"),
        ("book", f"/schedule/book?patient_id={patient}"),
        ("appointment", f"/schedule/appointments/{appointment}"),
        ("reschedule", f"/schedule/appointments/{appointment}/reschedule"),
        ("move", f"/schedule/appointments/{appointment}/move"),
        ("reminders log", "/reminders/"),
        ("admin", "/admin/"),
        ("clinic settings", "/admin/settings"),
        ("opening hours", "/schedule/hours"),
        ("chairs", "/schedule/chairs"),
    ]


def test_login_page_fits_360_px(narrow_page):
    """The login page needs no sideways scrolling on a 360 px screen."""
    narrow_page.goto("/login")
    expect(narrow_page.get_by_role("button", name="Log in")).to_be_visible()
    assert horizontal_overflow(narrow_page) <= OVERFLOW_TOLERANCE


def test_key_pages_fit_360_px(narrow_page, busy_clinic):
    """Every key page fits 360 px: wide tables scroll inside their own box, not the page."""
    log_in(narrow_page, busy_clinic["email"])
    too_wide = {}
    for label, path in key_pages(busy_clinic):
        response = narrow_page.goto(path)
        assert response.status == 200, (label, path, response.status)
        overflow = horizontal_overflow(narrow_page)
        if overflow > OVERFLOW_TOLERANCE:
            too_wide[label] = overflow
    assert too_wide == {}


def test_day_sheet_prints_without_navigation_or_buttons(page, busy_clinic):
    """Printed, the day sheet keeps the grid and drops navigation, forms and buttons."""
    log_in(page, busy_clinic["email"])
    page.goto(f"/schedule/day?date={busy_clinic['today'].isoformat()}")
    sheet = page.get_by_role("table", name="Chairs as columns, clinic time as rows")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.emulate_media(media="print")
    expect(sheet).to_be_visible()
    expect(sheet.get_by_role("link", name="Maximiliana Wolfeschlegelsteinhausen-Bergerdorff")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    for name in ("Main", "Schedule", "Other days"):
        assert page.get_by_role("navigation", name=name).is_hidden(), name
    visible_buttons = [b.inner_text() for b in page.get_by_role("button").all() if b.is_visible()]
    assert visible_buttons == []
    expect(page.get_by_label("Date")).to_be_hidden()
    expect(page.get_by_role("alert").filter(has_text="scheduler")).to_be_hidden()  # admins' banner
    assert page.evaluate("document.scrollingElement.scrollWidth") <= page.viewport_size["width"]
    pdf = page.pdf(format="A4", landscape=True)  # headless Chromium lays the print styles out
    assert pdf.startswith(b"%PDF")
