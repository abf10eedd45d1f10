"""A patient's own way through their links in Chromium, against a real SMTP server: the window
reminder arrives, its link books a time, the confirmation (planned in the outbox, sent by the
next sweep) arrives with its calendar file, and
the front desk sees the visit, booked online, on the day sheet and the worklist. Then the
manage link: confirm, and cancel with a reason; and the resend page."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tracker import booking
from tracker.extensions import db
from tracker.models import Appointment, utcnow
from tracker.patient_links.tokens import make_token
from tracker.services.clinic import clinic_zone, get_settings

from ..patient_link_fixtures import assert_no_clinical_words, due_patient, open_clinic, visit
from ..reminder_fixtures import SMTPServer
from .conftest import log_in
from .helpers import horizontal_overflow

SHOTS = Path(os.environ.get("TRACKER_SHOTS_DIR", "/tmp/shots-selfservice"))
SIZES = {"wide": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def shoot(page, name: str) -> None:
    """Screenshots at a desktop and a phone size (for a person to look at); fits at 360 px."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 800})
    assert horizontal_overflow(page) <= 2, f"{name} is wider than 360 px"
    page.set_viewport_size(SIZES["wide"])


def link_in(message, kind: str) -> str:
    """The first patient link of a kind ('book' or 'visit') in a message's text part."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(rf"https?://\S+/my/{kind}/\S+", text)
    assert match, f"no {kind} link in the message"
    return match.group(0)


def wait_for(predicate, page, timeout_ms: int = 10_000):
    """Poll until predicate() holds (mail arrives on the server's own thread)."""
    for _ in range(timeout_ms // 100):
        if predicate():
            return
        page.wait_for_timeout(100)
    raise AssertionError("timed out waiting")


@pytest.fixture
def smtp(live_app):
    """A real SMTP server; the live app sends through it."""
    server = SMTPServer().start()
    live_app.config.update(server.config())
    yield server
    server.stop()


def test_reminder_link_books_a_visit_seen_by_the_front_desk(
    journey, live_app, smtp, staff, playwright_browser
):
    """Reminder -> booking page -> a time -> booked; confirmation with .ics; day sheet and worklist."""
    page = journey.page
    with live_app.app_context():
        open_clinic()
        settings = get_settings()
        # The confirmation goes out with the next sweep, which this test runs now (any hour);
        # the visit's own reminder stays in the future.
        settings.send_hours_start, settings.send_hours_end = 0, 24
        settings.appointment_hours = 1
        patient, course = due_patient(days_since_anchor=80, first_name="Robin", last_name="Vale")
        db.session.commit()
        patient_id, address = patient.id, patient.email
        today = course.window_closes - timedelta(days=10)
    result = live_app.test_cli_runner().invoke(args=["reminders", "run", "--on", today.isoformat()])
    assert result.exit_code == 0, result.output
    wait_for(lambda: len(smtp.messages) == 1, page)
    (reminder,) = smtp.messages
    assert reminder["To"] == address
    for part in ("plain", "html"):
        assert_no_clinical_words(reminder.get_body(preferencelist=(part,)).get_content())

    page.goto(link_in(reminder, "book"))
    expect(page.get_by_role("heading", name="Hello Robin, book your next visit")).to_be_visible()
    assert "Vale" not in page.content()
    assert_no_clinical_words(page.inner_text("body"))
    journey.check("book: times")
    shoot(page, "book-times")
    first_time = page.get_by_role("button").filter(has_text=re.compile(r"^\d\d:\d\d$")).first
    chosen = first_time.get_attribute("aria-label")
    first_time.click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Robin, book this time?")).to_be_visible()
    journey.check("book: held time")
    shoot(page, "book-held")
    page.get_by_role("button", name="Book this time").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Robin, your visit is booked")).to_be_visible()
    assert chosen.split(" at ")[1] in page.inner_text("body")
    journey.check("book: booked")
    shoot(page, "book-booked")

    assert len(smtp.messages) == 1  # nothing is sent from the page itself
    result = live_app.test_cli_runner().invoke(args=["reminders", "run"])
    assert result.exit_code == 0, result.output
    wait_for(lambda: len(smtp.messages) == 2, page)
    confirmation = smtp.messages[1]
    attachments = [
        part
        for part in confirmation.iter_attachments()
        if part.get_content_type() == "text/calendar"
    ]
    assert len(attachments) == 1 and b"BEGIN:VEVENT" in attachments[0].get_content().encode()
    assert_no_clinical_words(confirmation.get_body(preferencelist=("plain",)).get_content())
    with live_app.app_context():
        appointment = db.session.scalars(
            select(Appointment).where(Appointment.patient_id == patient_id)
        ).one()
        day = booking.wall(appointment.start_at, clinic_zone()).date()
    assert link_in(confirmation, "visit")

    staff_context = playwright_browser.new_context(base_url=journey.origin, viewport=SIZES["wide"])
    desk = staff_context.new_page()
    log_in(desk, *staff("frontdesk"))
    desk.goto(f"/schedule/day?date={day.isoformat()}")
    block = desk.locator("td.block", has_text="Robin Vale")
    expect(block).to_have_count(1)
    expect(block).to_contain_text("Booked online")
    desk.screenshot(path=str(SHOTS / "staff-day-sheet.png"), full_page=True)
    desk.goto(f"/patients/{patient_id}")
    expect(desk.get_by_role("heading", name="From the patient's links")).to_be_visible()
    expect(desk.get_by_text("Booked a visit online")).to_be_visible()
    desk.screenshot(path=str(SHOTS / "staff-patient-page.png"), full_page=True)
    desk.goto("/worklist/?booked=booked")
    row = desk.locator("tr.booked", has=desk.get_by_role("link", name="Vale, Robin"))
    expect(row).to_have_count(1)
    expect(row).not_to_contain_text("Not booked")
    staff_context.close()
    journey.finish("self-service-booking")


def test_manage_link_confirm_then_cancel_with_a_reason(journey, live_app, smtp):
    """The confirmation's manage link: the visit shown, confirmed in one click, cancelled with
    a reason in one more (the reason is the button); the cancelled visit offers nothing more."""
    page = journey.page
    with live_app.app_context():
        clinic = open_clinic()
        patient, _ = due_patient(first_name="Sam")
        when = (utcnow() + timedelta(days=4)).replace(minute=0, second=0, microsecond=0)
        appointment = visit(patient, clinic["chairs"][0], clinic["maintenance"], when)
        db.session.commit()
        appointment_id = appointment.id
        with live_app.test_request_context():
            token = make_token("manage", patient.id, appointment.id)
    page.goto(f"/my/visit/{token}")
    expect(page.get_by_role("heading", name="Hello Sam, your visit")).to_be_visible()
    expect(page.get_by_text("Booked, not yet confirmed.")).to_be_visible()
    journey.check("manage: pending")
    shoot(page, "manage-pending")
    page.get_by_role("button", name="Confirm my visit").click()
    page.wait_for_load_state()
    expect(page.get_by_role("status").filter(has_text="your visit is confirmed")).to_be_visible()
    page.get_by_role("button", name="Cancel my visit: I cannot come at that time").click()
    page.wait_for_load_state()
    expect(page.get_by_text("This visit is cancelled.")).to_be_visible()
    expect(page.get_by_role("button")).to_have_count(0)
    journey.check("manage: cancelled")
    shoot(page, "manage-cancelled")
    with live_app.app_context():
        row = db.session.get(Appointment, appointment_id)
        assert (row.status, row.cancel_reason) == ("cancelled", "patient")
    journey.finish("self-service-manage")


def test_resend_page_answers_the_same_and_mails_only_the_address_on_file(journey, live_app, smtp):
    """A match and a miss get the same page; only the match's address on file receives mail."""
    page = journey.page
    with live_app.app_context():
        open_clinic()
        patient, _ = due_patient(first_name="Kim", email="kim@example.test")
        db.session.commit()
        dob = patient.date_of_birth.isoformat()
    answers = []
    for address in ("kim@example.test", "nobody@example.test"):
        page.goto("/my/links")
        if not answers:
            journey.check("resend: form")
            shoot(page, "resend-form")
        page.get_by_label("Your email address").fill(address)
        page.get_by_label("Your date of birth").fill(dob)
        page.get_by_role("button", name="Send me my links").click()
        page.wait_for_load_state()
        answers.append(page.inner_text("main"))
    assert answers[0] == answers[1] and "If the details match" in answers[0]
    journey.check("resend: sent")
    shoot(page, "resend-sent")
    wait_for(lambda: len(smtp.messages) == 1, page)
    assert smtp.recipients() == ["kim@example.test"]
    assert link_in(smtp.messages[0], "book")
    journey.finish("self-service-resend")


def test_waitlist_join_then_an_offer_booked_in_the_browser(
    journey, live_app, smtp, staff, playwright_browser
):
    """The booking page's "tell me if an earlier time frees up" with the days that suit; a
    cancelled visit's time is offered by email; the link's page books it; staff see the waitlist."""
    from tracker.models import WaitlistEntry
    from tracker.services.clinic import clinic_today

    from ..patient_link_fixtures import local

    page = journey.page
    with live_app.app_context():
        clinic = open_clinic(chairs=1)
        settings = get_settings()
        settings.send_hours_start, settings.send_hours_end = 0, 24
        settings.appointment_hours = 1
        waiting, course = due_patient(days_since_anchor=85, first_name="Wren", last_name="Hollis")
        holder, _ = due_patient(first_name="Xavi")
        freed = visit(
            holder,
            clinic["chairs"][0],
            clinic["maintenance"],
            local(clinic_today() + timedelta(days=2), 10),
            "booked",
        )
        db.session.commit()
        with live_app.test_request_context():
            book_token = make_token("book", waiting.id, course.id)
            manage_token = make_token("manage", holder.id, freed.id)
        waiting_id = waiting.id
    page.goto(f"/my/book/{book_token}")
    page.get_by_role("button", name="Tell me").click()  # no day ticked: said on the field
    page.wait_for_load_state()
    expect(
        page.get_by_role("alert").filter(has_text="Choose at least one day").first
    ).to_be_visible()
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        page.get_by_label(day, exact=True).check()
    page.get_by_role("button", name="Tell me").click()
    page.wait_for_load_state()
    expect(page.get_by_role("status").filter(has_text="earlier time frees up")).to_be_visible()
    journey.check("waitlist: joined")
    shoot(page, "waitlist-joined")
    with live_app.app_context():
        assert db.session.scalars(select(WaitlistEntry.patient_id)).all() == [waiting_id]
    page.goto(f"/my/visit/{manage_token}")  # the other patient cancels
    page.get_by_role("button", name="Cancel my visit: I cannot come at that time").click()
    page.wait_for_load_state()
    result = live_app.test_cli_runner().invoke(args=["reminders", "run"])
    assert result.exit_code == 0, result.output
    wait_for(lambda: any(m["Subject"].startswith("An earlier time") for m in smtp.messages), page)
    offer = next(m for m in smtp.messages if m["Subject"].startswith("An earlier time"))
    page.goto(link_in(offer, "offer"))
    expect(page.get_by_role("heading", name="Wren, an earlier time for your visit")).to_be_visible()
    journey.check("offer: open")
    shoot(page, "offer-open")
    page.get_by_role("button", name="Book this time").click()
    page.wait_for_load_state()
    expect(page.get_by_role("status").filter(has_text="booked for you")).to_be_visible()
    journey.check("offer: booked")
    shoot(page, "offer-booked")
    staff_context = playwright_browser.new_context(base_url=journey.origin, viewport=SIZES["wide"])
    desk = staff_context.new_page()
    log_in(desk, *staff("frontdesk"))
    desk.goto("/worklist/waitlist")
    expect(desk.get_by_role("cell", name="Accepted: booked")).to_be_visible()
    desk.screenshot(path=str(SHOTS / "staff-waitlist.png"), full_page=True)
    staff_context.close()
    journey.finish("self-service-waitlist")
