"""Patient emails read well on a phone: each HTML part rendered in Chromium at 390 px, with the
clinic's name, a button to call, the phone and address, and a text part that says the same."""

import re
from datetime import date

from tracker.extensions import db
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from ..reminder_fixtures import book, local, maintenance_patient
from ..test_reminders_privacy import written_messages
from .helpers import horizontal_overflow

PHONE = {"width": 390, "height": 844}


def _sent_messages(app_ctx) -> list:
    """window_upcoming, window_closing and appointment, sent for one patient."""
    settings = get_settings()
    settings.display_name, settings.phone = "Riverside Appointments", "+1 555 0199"
    settings.address = "12 Elm Street\nSpringfield, IL 62701"
    db.session.commit()
    patient, course = maintenance_patient(date(2026, 3, 2), first_name="Robin")
    db.session.commit()
    run_sweep(clock=Clock.on_date(date(2026, 3, 25), settings), manual=True)
    run_sweep(clock=Clock.on_date(date(2026, 5, 17), settings), manual=True)
    book(patient, course, local(date(2026, 5, 20), 10))
    db.session.commit()
    run_sweep(clock=Clock.on_date(date(2026, 5, 18), settings), manual=True)
    return written_messages(app_ctx)


def test_patient_emails_read_well_at_390_px(app_ctx, playwright_browser):
    """Each HTML part fits 390 px without sideways scrolling, starts with the clinic's name, has a
    tappable call button inside the screen and the address, in type at least 16 px; the text part
    carries the same date, phone and address; axe finds nothing serious."""
    from axe_playwright_python.sync_playwright import Axe

    messages = _sent_messages(app_ctx)
    assert sorted(m["Subject"].split(":")[0] for m in messages) == [
        "Please book your next visit",
        "Reminder",
        "Time to book your next visit",
    ]
    context = playwright_browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        for n, message in enumerate(messages):
            html = message.get_body(("html",)).get_content()
            text = message.get_body(("plain",)).get_content()
            page.set_content(html)
            assert horizontal_overflow(page) == 0, message["Subject"]
            header = page.get_by_text("Riverside Appointments").first
            assert header.bounding_box()["y"] < 80
            button = page.get_by_role("link", name=re.compile(r"^Call"))
            box = button.bounding_box()
            assert button.get_attribute("href") == "tel:+15550199"
            assert box["height"] >= 40 and box["x"] + box["width"] <= PHONE["width"], message[
                "Subject"
            ]
            assert (
                page.evaluate(
                    "parseFloat(getComputedStyle(document.querySelector('[role=article]')).fontSize)"
                )
                >= 16
            )
            shown = page.inner_text("body")
            for fact in ("+1 555 0199", "12 Elm Street, Springfield, IL 62701", "Robin"):
                assert fact in shown and fact in text, (message["Subject"], fact)
            dates = re.findall(r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} 2026", shown)
            assert dates and all(day in text for day in dates)
            violations = [
                v["id"]
                for v in Axe().run(page).response["violations"]
                if v.get("impact") in ("serious", "critical")
            ]
            assert violations == [], (message["Subject"], violations)
            page.screenshot(path=f"/tmp/clarity-email-{n}-390.png", full_page=True)
    finally:
        context.close()
