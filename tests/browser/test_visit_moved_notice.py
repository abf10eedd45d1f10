"""A visit moved in the browser: the patient gets exactly one change notice, through a real SMTP
server, whose calendar file updates the same event; the reminder for the old time never goes."""

import re
from datetime import timedelta

from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Reminder, utcnow
from tracker.reminders import notices
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import clinic_today, get_settings

from ..factories import make_patient
from ..reminder_fixtures import SMTPServer
from .conftest import log_in
from .helpers import add_appointment, local_instant, set_up_clinic


def _calendar(message) -> Calendar:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_content())


def test_a_moved_visit_sends_one_change_notice_and_cancels_the_old_reminder(
    journey, staff, live_app
):
    """Booked (told, its reminder planned), then moved by the front desk in the browser to later
    the same day: the next sweeps send one 'new time' email with METHOD:REQUEST, the same UID and
    a higher SEQUENCE; the reminder for the old time is cancelled, never sent, and one for the
    new time waits."""
    page = journey.page
    smtp = SMTPServer().start()
    try:
        live_app.config.update(smtp.config())
        with live_app.app_context():
            clinic = set_up_clinic()
            day = clinic_today() + timedelta(days=3)
            patient = make_patient(first_name="Maren", last_name="Holt", mrn="MRN-MV-1")
            visit = add_appointment(
                patient, clinic["chairs"][0], clinic["maintenance"], local_instant(day, 9)
            )
            notices.visit_booked(visit, now=utcnow(), settings=get_settings())
            db.session.commit()
            visit_id, uid = visit.id, visit.uid
            # Early tomorrow, inside the send hours: the booked notice goes, and the reminder
            # (48 hours before the visit, due at 09:00 tomorrow) is planned but not yet due.
            morning = Clock.for_settings(
                local_instant(clinic_today() + timedelta(days=1), 8, 30), get_settings()
            )
            assert run_sweep(clock=morning, manual=True).sent == 1
            (old_reminder,) = db.session.scalars(
                select(Reminder).where(Reminder.kind == "appointment")
            ).all()
            assert old_reminder.status == "pending" and old_reminder.appointment_id == visit_id
            old_reminder_id = old_reminder.id
        email, password = staff("frontdesk")
        log_in(page, email, password)
        page.goto(f"/schedule/day?date={day.isoformat()}")
        with page.expect_navigation():
            page.get_by_role("link", name="Move Maren Holt, 09:00").click()
        page.get_by_role("radio", name=re.compile(r"^15:00 to 16:40 · ")).check()
        with page.expect_navigation():
            page.get_by_role("button", name="Move to this time").click()
        expect(page.get_by_role("status").get_by_text(re.compile(r"^Moved from "))).to_be_visible()
        journey.check("appointment after the move")
        with live_app.app_context():
            assert run_sweep(clock=morning, manual=True).sent == 1
            assert run_sweep(clock=morning, manual=True).sent == 0
            old = db.session.get(Reminder, old_reminder_id)
            assert (old.status, old.sent_at) == ("cancelled", None)
            sent = db.session.scalars(
                select(Reminder.kind).where(Reminder.status == "sent").order_by(Reminder.id)
            ).all()
            assert sent == ["visit_booked", "visit_moved"]
            waiting = db.session.scalars(
                select(Reminder).where(Reminder.kind == "appointment", Reminder.status == "pending")
            ).all()
            new_start = local_instant(day, 15)
            assert [r.due_at for r in waiting] == [new_start - timedelta(hours=48)]
        booked, moved = smtp.messages
        assert moved["To"] == booked["To"] and moved["Subject"].startswith(
            "New time for your visit"
        )
        assert moved["Subject"].endswith("at 15:00")
        first, changed = _calendar(booked), _calendar(moved)
        (before,), (after,) = first.walk("VEVENT"), changed.walk("VEVENT")
        assert changed["METHOD"] == "REQUEST"
        assert str(after["UID"]) == str(before["UID"]) == uid
        assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
        assert after.decoded("DTSTART") == new_start
        journey.finish("visit-moved-notice")
    finally:
        smtp.stop()
