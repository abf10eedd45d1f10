"""The front desk's calendar in Chromium: a series booked as its form opens, booking from an
empty week cell, moving a visit to later the same day in three clicks; axe-clean, 360 px."""

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tracker.extensions import db
from tracker.formatting import format_day
from tracker.models import Appointment, AuditEvent
from tracker.services import courses as course_service
from tracker.services.clinic import clinic_today, get_settings

from ..factories import make_patient
from .conftest import log_in
from .helpers import (
    NARROW,
    OVERFLOW_TOLERANCE,
    add_appointment,
    horizontal_overflow,
    local_instant,
    set_up_clinic,
)

WIDE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def check_clean(journey, label: str) -> None:
    """axe-core finds nothing at all on the page (no violation of any impact)."""
    found = journey.check(label)
    assert found.rules == [], found.line()


def screenshots(browser, live_server, email: str, path: str, name: str) -> None:
    """The page at 1366x900 and at 390x844, saved under /tmp for a person to look at."""
    for size, viewport in (("wide", WIDE), ("phone", PHONE)):
        context = browser.new_context(base_url=live_server.url, viewport=viewport)
        try:
            shot = context.new_page()
            log_in(shot, email)
            shot.goto(path)
            shot.screenshot(path=f"/tmp/calendar-{name}-{size}.png", full_page=True)
        finally:
            context.close()


def test_series_booked_with_the_forms_defaults(journey, live_app, staff):
    """A new series patient: the series form is sent exactly as it opens and books every session."""
    with live_app.app_context():
        set_up_clinic()
        patient = make_patient(first_name="Sami", last_name="Okoro")
        course_service.open_course(
            patient,
            get_settings(),
            actor="system",
            opened_on=clinic_today(),
            indication="CRPS",
            series_planned=6,
            min_days=30,
            max_days=90,
        )
        db.session.commit()
        patient_id = patient.id
    email, password = staff("frontdesk")
    page = journey.page
    log_in(page, email, password)
    page.goto(f"/patients/{patient_id}")
    with page.expect_navigation():
        page.get_by_role("link", name="Book a series").click()
    expect(page.get_by_role("heading", name="Book a series for Sami Okoro")).to_be_visible()
    weekdays = page.get_by_role("group", name="Weekdays")
    assert [
        weekdays.get_by_label(day).is_checked() for day in ("Monday", "Tuesday", "Wednesday")
    ] == [True, False, True]
    check_clean(journey, "book a series")
    with page.expect_navigation():
        page.get_by_role("button", name="Book the series").click()
    expect(
        page.get_by_role("status").get_by_text("Booked 6 sessions (not yet confirmed).")
    ).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Week of"))).to_be_visible()
    with live_app.app_context():
        starts = db.session.scalars(
            select(Appointment.start_at).order_by(Appointment.start_at)
        ).all()
    assert len(starts) == 6
    # Without any box ticked the browser lets the form go and the server says what to do.
    page.goto(f"/schedule/book-series?patient_id={patient_id}")
    for day in ("Monday", "Wednesday", "Friday"):
        page.get_by_role("group", name="Weekdays").get_by_label(day).uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Book the series").click()
    expect(
        page.get_by_role("alert").filter(has_text="Choose at least one weekday.").last
    ).to_be_visible()
    check_clean(journey, "book a series (no weekday)")
    journey.finish("series-defaults")


def test_booking_from_an_empty_calendar_cell(
    journey, live_app, live_server, playwright_browser, staff
):
    """Week -> an empty chair time -> find the patient -> Book, confirmed on the phone: the
    visit sits in that chair at that time; at 360 px the calendar scrolls inside its own box."""
    with live_app.app_context():
        set_up_clinic()
        make_patient(first_name="Lena", last_name="Quist")
        make_patient(first_name="Lenny", last_name="Other")
        db.session.commit()
        tomorrow = clinic_today() + timedelta(days=1)
    email, password = staff("frontdesk")
    page = journey.page
    log_in(page, email, password)
    page.goto(f"/schedule/week?date={tomorrow.isoformat()}")
    check_clean(journey, "week")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    cell = f"Book Chair 2, {format_day(tomorrow)} at 10:00"
    with page.expect_navigation():  # 1
        page.get_by_role("link", name=cell).click()
    expect(
        page.get_by_role("heading", name=f"Book Chair 2, {format_day(tomorrow)} at 10:00")
    ).to_be_visible()
    check_clean(journey, "book from a cell: choose the patient")
    page.get_by_label("Patient", exact=True).fill("Quist")
    with page.expect_navigation():
        page.get_by_label("Patient", exact=True).press("Enter")
    with page.expect_navigation():  # 2
        page.get_by_role("link", name="Book Lena Quist").click()
    chosen = page.get_by_role("radio", name=re.compile(r"^10:00 to 11:40 · Chair 2$"))
    expect(chosen).to_be_checked()
    check_clean(journey, "book from a cell: the time chosen")
    page.get_by_label("The patient confirmed this time").check()
    with page.expect_navigation():  # 3
        page.get_by_role("button", name="Book", exact=True).click()
    expect(
        page.get_by_role("status").get_by_text(
            f"Booked {format_day(tomorrow)}, 10:00 on Chair 2 (confirmed)."
        )
    ).to_be_visible()
    page.goto(f"/schedule/week?date={tomorrow.isoformat()}")
    expect(page.get_by_role("link", name="Lena Quist", exact=True)).to_be_visible()
    check_clean(journey, "week with the booking")

    narrow = playwright_browser.new_context(
        base_url=live_server.url, viewport={"width": NARROW, "height": 740}
    )
    try:
        small = narrow.new_page()
        log_in(small, email, password)
        small.goto(f"/schedule/week?date={tomorrow.isoformat()}")
        assert horizontal_overflow(small) <= OVERFLOW_TOLERANCE
        box = small.locator(".week-wrap")
        assert box.evaluate(
            "el => el.scrollWidth > el.clientWidth"
        )  # it scrolls, the page does not
        box.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
        expect(small.get_by_role("link", name="Lena Quist", exact=True)).to_be_visible()
    finally:
        narrow.close()
    screenshots(
        playwright_browser,
        live_server,
        email,
        f"/schedule/week?date={tomorrow.isoformat()}",
        "week",
    )
    journey.finish("book-from-cell")


def test_moving_a_visit_to_later_the_same_day(
    journey, live_app, live_server, playwright_browser, staff
):
    """Day sheet -> Move (1) -> a later start the same day (2) -> Move to this time (3): the same
    appointment, still confirmed, one 'moved from ... to ...' in its history and the audit."""
    with live_app.app_context():
        clinic = set_up_clinic()
        tomorrow = clinic_today() + timedelta(days=1)
        patient = make_patient(first_name="Ada", last_name="Brennan")
        visit = add_appointment(
            patient, clinic["chairs"][0], clinic["maintenance"], local_instant(tomorrow, 9)
        )
        db.session.commit()
        visit_id, uid = visit.id, visit.uid
    email, password = staff("frontdesk")
    page = journey.page
    log_in(page, email, password)
    page.goto(f"/schedule/day?date={tomorrow.isoformat()}")
    check_clean(journey, "day sheet with click-to-book")
    with page.expect_navigation():  # 1
        page.get_by_role("link", name="Move Ada Brennan, 09:00").click()
    expect(page.get_by_role("heading", name="Move Ada Brennan's appointment")).to_be_visible()
    legend = page.get_by_role("group", name=re.compile("^Free chair time")).locator("legend")
    assert legend.inner_text().endswith(format_day(tomorrow))  # its own day, not hidden
    expect(page.get_by_role("heading", name="Afternoon")).to_be_visible()
    check_clean(journey, "move")
    screenshots(
        playwright_browser, live_server, email, f"/schedule/appointments/{visit_id}/move", "move"
    )
    page.get_by_role("radio", name=re.compile(r"^15:00 to 16:40 · ")).check()  # 2
    with page.expect_navigation():  # 3
        page.get_by_role("button", name="Move to this time").click()
    day = format_day(tomorrow)
    expect(
        page.get_by_role("status").get_by_text(
            re.compile(
                rf"^Moved from {day}, 09:00 to {day}, 15:00 on Chair \d \(still confirmed\)\.$"
            )
        )
    ).to_be_visible()
    expect(
        page.get_by_role(
            "cell", name=re.compile(rf"^Moved from {day}, 09:00, Chair 1 to {day}, 15:00")
        )
    ).to_be_visible()
    check_clean(journey, "appointment after the move")
    with live_app.app_context():
        stored = db.session.get(Appointment, visit_id)
        assert (stored.uid, stored.sequence, stored.status) == (uid, 1, "booked")
        assert stored.start_at == local_instant(tomorrow, 15)
        moves = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "move")).all()
        assert [event.entity_id for event in moves] == [visit_id]
        assert db.session.scalars(select(Appointment.id)).all() == [visit_id]
    screenshots(
        playwright_browser, live_server, email, f"/schedule/day?date={tomorrow.isoformat()}", "day"
    )
    journey.finish("move-later-same-day")
