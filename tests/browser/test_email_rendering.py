"""Patient emails read well on a phone: each HTML part rendered in Chromium at 390 px, with the
clinic's name, a button to call, the phone and address, and a text part that says the same
(the reminders, and every notice about a visit)."""

import re
from datetime import date, time, timedelta

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
    messages = _sent_messages(app_ctx)
    assert sorted(m["Subject"].split(":")[0] for m in messages) == [
        "Please book your next visit",
        "Reminder",
        "Time to book your next visit",
    ]
    _assert_each_reads_well(playwright_browser, messages, "window")


def _assert_each_reads_well(playwright_browser, messages, name: str) -> None:
    """The checks of the 390 px tests, for each message; a screenshot of each in /tmp."""
    from axe_playwright_python.sync_playwright import Axe

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
            times = re.findall(r"\b\d\d:\d\d\b", shown)
            assert all(moment in text for moment in times), message["Subject"]
            for link in page.get_by_role("link").all():  # every button's link is in the text too
                href = link.get_attribute("href")
                if href.startswith("http"):
                    assert href in text, (message["Subject"], href)
            violations = [
                v["id"]
                for v in Axe().run(page).response["violations"]
                if v.get("impact") in ("serious", "critical")
            ]
            assert violations == [], (message["Subject"], violations)
            page.screenshot(path=f"/tmp/clarity-email-{name}-{n}-390.png", full_page=True)
    finally:
        context.close()


def _notice_messages(app_ctx) -> list:
    """Every notice about a visit: booked, a series booked at once, moved, cancelled by the
    clinic (through the outbox), and the self-booking confirmation and the links email."""
    from tracker.patient_links.messages import links_message
    from tracker.reminders import notices
    from tracker.services import appointments as service

    from ..schedule_fixtures import series_patient, setup_clinic

    settings = get_settings()
    settings.display_name, settings.phone = "Riverside Appointments", "+1 555 0199"
    settings.address = "12 Elm Street\nSpringfield, IL 62701"
    now = local(date(2026, 5, 1), 10)
    clock = Clock.for_settings(now, settings)
    patient, course = maintenance_patient(date(2026, 4, 1), first_name="Robin")
    visit = book(patient, course, local(date(2026, 5, 20), 10))
    notices.visit_booked(visit, now=now, settings=settings)
    clinic = setup_clinic()
    series, _ = series_patient(first_name="Robin")
    plan = service.book_series(
        series,
        appointment_type=clinic["series"],
        chair=None,
        first_day=date(2026, 5, 4),
        weekdays=[0, 2, 4],
        wall_time=time(9),
        count=3,
        actor="test",
        now=now,
    )
    notices.visit_booked(plan.appointments[0], now=now, settings=settings)
    db.session.commit()
    run_sweep(clock=clock, manual=True)
    visit.start_at, visit.end_at = (
        visit.start_at + timedelta(days=1),
        visit.end_at + timedelta(days=1),
    )
    visit.sequence += 1
    notices.visit_moved(visit, now=now, settings=settings)
    db.session.commit()
    run_sweep(clock=clock, manual=True)
    visit.status, visit.cancel_reason, visit.sequence = "cancelled", "clinic", visit.sequence + 1
    notices.visit_cancelled(visit, now=now, settings=settings)
    db.session.commit()
    run_sweep(clock=clock, manual=True)
    second = book(patient, course, local(date(2026, 5, 27), 14))
    notices.visit_booked_online(second, now=now, settings=settings)
    db.session.commit()
    run_sweep(clock=clock, manual=True)
    return written_messages(app_ctx) + [
        links_message(patient, settings, visits=[second], course=course),
    ]


def test_visit_notices_read_well_at_390_px(app_ctx, playwright_browser):
    """The booked (one visit and a series), moved and cancelled notices, the self-booking
    confirmation and the links email: each fits 390 px with the clinic's name, a call button,
    the phone and address, and a text part carrying the same dates, times and links."""
    messages = _notice_messages(app_ctx)
    assert sorted(m["Subject"] for m in messages) == [
        "Cancelled: your visit on Thu 21 May 2026 at 10:00",
        "New time for your visit: Thu 21 May 2026 at 10:00",
        "Your 3 visits, from Mon 4 May 2026",
        "Your links from Riverside Appointments",
        "Your visit on Wed 20 May 2026 at 10:00",
        "Your visit on Wed 27 May 2026 at 14:00",
    ]
    _assert_each_reads_well(playwright_browser, messages, "notice")
