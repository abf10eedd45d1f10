"""A patient moves their visit in Chromium from the manage link in their email, against a real
SMTP server: the visit moves in place, the next sweeps send exactly one change notice whose
calendar file updates the same event, and the link in the first email still shows the visit.
Then the waitlist from the booking page: joined, and left with one button."""

from datetime import timedelta

from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Appointment, Reminder, WaitlistEntry, utcnow
from tracker.patient_links.tokens import make_token
from tracker.reminders import notices
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from ..patient_link_fixtures import due_patient, open_clinic, visit
from .test_patient_self_service import link_in, shoot, smtp  # noqa: F401 (the smtp fixture)

SHOTS_PREFIX = "selfmove"


def _event(message):
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(part.get_content())
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def _sweep():
    return run_sweep(clock=Clock.for_settings(utcnow(), get_settings()), manual=True)


def test_a_patient_moves_their_visit_and_gets_one_notice(journey, live_app, smtp):  # noqa: F811
    """From the booked email's manage link: choose another time, one click; the visit keeps its
    id and UID, the old time's reminder is cancelled, one REQUEST notice with a higher SEQUENCE
    arrives, and the first email's link shows the new time."""
    page = journey.page
    with live_app.app_context():
        clinic = open_clinic()
        settings = get_settings()
        settings.send_hours_start, settings.send_hours_end = 0, 24
        settings.appointment_hours = 1
        patient, _ = due_patient(first_name="Noor")
        when = (utcnow() + timedelta(days=4)).replace(minute=0, second=0, microsecond=0)
        booked = visit(patient, clinic["chairs"][0], clinic["maintenance"], when, "booked")
        notices.visit_booked(booked, now=utcnow(), settings=settings)
        db.session.commit()
        visit_id, uid = booked.id, booked.uid
        assert _sweep().sent == 1
        (reminder,) = db.session.scalars(select(Reminder).where(Reminder.kind == "appointment"))
        reminder_id = reminder.id
    (first,) = smtp.messages
    manage = link_in(first, "visit")
    page.goto(manage)
    page.get_by_role("link", name="Choose another time").click()
    page.wait_for_load_state()
    journey.check("move: times")
    shoot(page, f"{SHOTS_PREFIX}-move-times")
    page.locator("button.time-button").last.click()
    page.wait_for_load_state()
    expect(page.get_by_role("status").filter(has_text="Your visit has been moved")).to_be_visible()
    expect(page.get_by_text("Confirmed.")).to_be_visible()
    journey.check("move: moved")
    shoot(page, f"{SHOTS_PREFIX}-manage-moved")
    with live_app.app_context():
        (moved,) = db.session.scalars(select(Appointment)).all()
        assert (moved.id, moved.uid, moved.status) == (visit_id, uid, "booked")
        assert moved.start_at != when
        assert db.session.get(Reminder, reminder_id).status == "cancelled"
        new_start = moved.start_at
        assert _sweep().sent == 1 and _sweep().sent == 0
    first, notice = smtp.messages
    assert notice["Subject"].startswith("New time for your visit")
    (_, before), (calendar, after) = _event(first), _event(notice)
    assert calendar["METHOD"] == "REQUEST" and str(after["UID"]) == str(before["UID"]) == uid
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert after.decoded("DTSTART") == new_start
    page.goto(manage)  # the link in the first email: the same visit, at its new time
    expect(page.get_by_role("heading", name="Hello Noor, your visit")).to_be_visible()
    expect(page.get_by_role("link", name="Choose another time")).to_be_visible()
    journey.finish("patient-move")


def test_a_patient_joins_then_leaves_the_waitlist(journey, live_app):
    """On the booking page: tick a day, 'Tell me'; then 'Take me off the list' ends the entry."""
    page = journey.page
    with live_app.app_context():
        open_clinic()
        patient, course = due_patient(first_name="Ines")
        db.session.commit()
        with live_app.test_request_context():
            token = make_token("book", patient.id, course.id)
    page.goto(f"/my/book/{token}")
    page.get_by_label("Tuesday").check()
    page.get_by_role("button", name="Tell me").click()
    page.wait_for_load_state()
    expect(page.get_by_role("button", name="Take me off the list")).to_be_visible()
    journey.check("waitlist: on the list")
    shoot(page, f"{SHOTS_PREFIX}-book-on-waitlist")
    page.get_by_role("button", name="Take me off the list").click()
    page.wait_for_load_state()
    expect(page.get_by_role("status").filter(has_text="You are off the list")).to_be_visible()
    expect(page.get_by_role("button", name="Take me off the list")).to_have_count(0)
    journey.check("waitlist: left")
    shoot(page, f"{SHOTS_PREFIX}-book-left-waitlist")
    with live_app.app_context():
        (entry,) = db.session.scalars(select(WaitlistEntry)).all()
        assert entry.end_reason == "left by the patient"
    journey.finish("patient-leaves-waitlist")
