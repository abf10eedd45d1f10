"""Two front-desk staff edit one patient in two browsers: the later save is refused and shows what
the first saved; checking and saving again keeps both changes. The outage page, in a browser."""

import os
from datetime import date

from playwright.sync_api import expect

from tracker.extensions import db

from ..factories import make_patient
from .conftest import LiveServer, log_in
from .helpers import run_axe, serious

SHOTS = "/tmp/input-shots"


def _shoot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)


def test_a_stale_edit_is_refused_with_what_was_saved(
    journey, staff, live_app, playwright_browser, live_server
):
    """B's phone change from a form opened before A's new email is refused (409); B sees A's email
    beside the field, saves again, and the patient keeps A's email and B's phone."""
    with live_app.app_context():
        patient = make_patient(
            mrn="ST-1",
            first_name="Ada",
            last_name="Moss",
            date_of_birth=date(1970, 1, 2),
            email="ada@example.org",
            phone="555-0101",
        )
        db.session.commit()
        patient_id = patient.id
    first = journey.page
    log_in(first, *staff("frontdesk"))
    second_context = playwright_browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}
    )
    second = second_context.new_page()
    log_in(second, *staff("frontdesk"))
    first.goto(f"/patients/{patient_id}/edit")
    second.goto(f"/patients/{patient_id}/edit")

    first.get_by_label("Email", exact=True).fill("ada.new@example.org")
    first.get_by_role("button", name="Save").click()
    expect(first.get_by_text("Patient saved.")).to_be_visible()

    second.get_by_label("Phone").fill("555-0199")
    second.get_by_role("button", name="Save").click()
    expect(
        second.get_by_role("alert").filter(has_text="Someone else changed this patient")
    ).to_be_visible()
    email = second.get_by_label("Email", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description("Saved meanwhile: ada.new@example.org.")
    found = run_axe(second, journey.test, "patient form refused as stale")
    assert serious(found) == [], found.line()
    _shoot(second, "stale-patient-form")

    email.fill("ada.new@example.org")
    second.get_by_role("button", name="Save").click()
    expect(second.get_by_text("Patient saved.")).to_be_visible()
    expect(second.get_by_text("555-0199")).to_be_visible()
    expect(second.get_by_text("ada.new@example.org")).to_be_visible()
    second_context.close()


def test_outage_page_in_a_browser(playwright_browser, tmp_path):
    """With the database unreachable the browser gets the app's own page: styled, no errors, 503."""
    from tracker import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://tracker@127.0.0.1:9/tracker",
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
            "WTF_CSRF_ENABLED": False,
        }
    )
    app.config["PROPAGATE_EXCEPTIONS"] = False  # served as in production
    with LiveServer(app) as server:
        context = playwright_browser.new_context(base_url=server.url)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Email").fill("someone@clinic.test")
        page.get_by_label("Password").fill("not the password at all")
        with page.expect_response(
            lambda r: r.url.endswith("/login") and r.request.method == "POST"
        ) as answer:
            page.get_by_role("button", name="Log in").click()
        assert answer.value.status == 503
        expect(page.get_by_role("heading", name="Temporarily unavailable")).to_be_visible()
        found = run_axe(page, "test_outage_page_in_a_browser", "database unavailable")
        assert serious(found) == [], found.line()
        _shoot(page, "database-unavailable")
        context.close()
    with app.app_context():
        db.engine.dispose()
