"""Mail that follows a patient's own action goes through the outbox like every other message: the
online booking confirmation (with its manage link and .ics), the new time after a move and the
cancellation, each planned with the change, sent once by the sweep to a real SMTP server, only
with consent and within the send hours, and listed in the reminders log."""

import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Appointment, Patient, Reminder, utcnow
from tracker.patient_links.tokens import make_token, read_token
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from .conftest import build_app, login
from .factories import make_user
from .patient_link_fixtures import assert_no_clinical_words, due_patient, open_clinic, slot_values
from .reminder_fixtures import SMTPServer


@pytest.fixture
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(tmp_path, smtp):
    """An app sending through the test's SMTP server, sending around the clock (the patient
    pages read the real clock), with a patient whose window is open and their book link."""
    app = build_app(tmp_path, **smtp.config())
    with app.app_context():
        open_clinic()
        settings = get_settings()
        settings.send_hours_start, settings.send_hours_end = 0, 24
        settings.appointment_hours = 1  # the visit's own reminder stays in the future
        patient, course = due_patient()
        db.session.commit()
        with app.test_request_context():
            app.config["BOOK_TOKEN"] = make_token("book", patient.id, course.id)
        app.config["PATIENT_ID"] = patient.id
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _book_online(app) -> None:
    client = app.test_client()
    token = app.config["BOOK_TOKEN"]
    slot = slot_values(client.get(f"/my/book/{token}").get_data(as_text=True))[0]
    held = client.post(f"/my/book/{token}", data={"slot": slot})
    assert held.status_code == 303
    assert client.post(held.headers["Location"]).status_code == 303


def _rows(kind=None):
    query = select(Reminder).order_by(Reminder.id)
    if kind:
        query = query.where(Reminder.kind == kind)
    return db.session.scalars(query).all()


def _sweep(at=None):
    return run_sweep(clock=Clock.for_settings(at or utcnow(), get_settings()), manual=True)


def test_online_booking_confirmation_is_planned_then_sent_once(mail_app, smtp):
    """Booking plans one confirmation row (nothing is sent from the page); two sweeps send it
    once, with a REQUEST .ics for the visit, the manage link, and no clinical word."""
    _book_online(mail_app)
    assert smtp.messages == []
    with mail_app.app_context():
        (row,) = _rows("visit_booked_online")
        appointment = db.session.scalars(select(Appointment)).one()
        assert (row.kind, row.status, row.appointment_id) == (
            "visit_booked_online",
            "pending",
            appointment.id,
        )
        assert _sweep().sent == 1 and _sweep().sent == 0
        assert _rows("visit_booked_online")[0].status == "sent"
        uid = appointment.uid
    (message,) = smtp.messages
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(part.get_content())
    assert calendar["METHOD"] == "REQUEST"
    assert str(calendar.walk("VEVENT")[0]["UID"]) == uid
    text = message.get_body(("plain",)).get_content()
    token = re.search(r"/my/visit/(\S+)", text).group(1)
    with mail_app.test_request_context():
        link = read_token("manage", token)
    assert (link.patient_id, link.target_id) == (mail_app.config["PATIENT_ID"], appointment.id)
    for body in (text, message.get_body(("html",)).get_content(), message["Subject"]):
        assert_no_clinical_words(body)


def test_no_confirmation_without_consent(mail_app, smtp):
    """A patient who may not be emailed books online: no outbox row, no mail."""
    with mail_app.app_context():
        db.session.get(Patient, mail_app.config["PATIENT_ID"]).email_consent = False
        db.session.commit()
    _book_online(mail_app)
    with mail_app.app_context():
        assert db.session.scalars(select(Appointment)).one().notes == "Booked online"
        assert [row.kind for row in _rows() if row.patient_id] == []
        assert _sweep().sent == 0
    assert smtp.messages == []


def test_confirmation_waits_for_the_send_hours(mail_app, smtp):
    """Booked outside the send hours: the confirmation is due at their next start."""
    with mail_app.app_context():
        settings = get_settings()
        hour = utcnow().astimezone(Clock.for_settings(utcnow(), settings).zone).hour
        if hour < 23:
            settings.send_hours_start, settings.send_hours_end = hour + 1, 24
        else:
            settings.send_hours_start, settings.send_hours_end = 0, 23
        db.session.commit()
    _book_online(mail_app)
    with mail_app.app_context():
        (row,) = _rows("visit_booked_online")
        assert row.due_at > utcnow()
        assert _sweep().sent == 0
        assert _sweep(row.due_at + timedelta(minutes=1)).sent == 1
    assert len(smtp.messages) == 1


def test_confirmation_is_listed_in_the_reminders_log(mail_app, smtp):
    """Staff find the sent confirmation on the reminders log under its own kind."""
    _book_online(mail_app)
    with mail_app.app_context():
        _sweep()
        user = make_user(role="frontdesk")
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
    client = mail_app.test_client()
    login(client, user)
    page = client.get("/reminders/?kind=visit_booked_online").get_data(as_text=True)
    assert "Visit booked online" in page and "Sent" in page


def test_move_and_cancel_from_the_manage_link_tell_the_patient_once(mail_app, smtp):
    """After the confirmation went out, a move online sends the new time and a cancel sends the
    calendar cancellation, each once."""
    _book_online(mail_app)
    with mail_app.app_context():
        _sweep()
        appointment = db.session.scalars(select(Appointment)).one()
        with mail_app.test_request_context():
            token = make_token("manage", appointment.patient_id, appointment.id)
    client = mail_app.test_client()
    slot = slot_values(client.get(f"/my/visit/{token}/move").get_data(as_text=True))[-1]
    assert client.post(f"/my/visit/{token}/move", data={"slot": slot}).status_code == 303
    with mail_app.app_context():
        assert [r.kind for r in _rows("visit_moved")] == ["visit_moved"]
        assert _sweep().sent == 1 and _sweep().sent == 0
    cancelled = client.post(f"/my/visit/{token}/cancel", data={"reason": "cannot_come"})
    assert cancelled.status_code == 303
    with mail_app.app_context():
        assert _sweep().sent == 1 and _sweep().sent == 0
        calendar_methods = [
            Calendar.from_ical(part.get_content())["METHOD"]
            for message in smtp.messages
            for part in message.walk()
            if part.get_content_type() == "text/calendar"
        ]
    assert calendar_methods == ["REQUEST", "REQUEST", "CANCEL"]
    assert smtp.messages[1]["Subject"].startswith("New time for your visit")
    assert smtp.messages[2]["Subject"].startswith("Cancelled: your visit")


def _calendar_event(message):
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(part.get_content())
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def test_a_move_online_updates_the_same_calendar_event(mail_app, smtp):
    """The patient moves their visit from the manage link: the sweeps send exactly one notice,
    METHOD:REQUEST with the confirmation's UID, a higher SEQUENCE and the new start; the old
    time's reminder is cancelled, never sent; the notice's manage link is the same visit."""
    _book_online(mail_app)
    with mail_app.app_context():
        assert _sweep().sent == 1
        appointment = db.session.scalars(select(Appointment)).one()
        (old_reminder,) = _rows("appointment")
        assert old_reminder.status == "pending"
        with mail_app.test_request_context():
            token = make_token("manage", appointment.patient_id, appointment.id)
        appointment_id, old_start = appointment.id, appointment.start_at
    (confirmation,) = smtp.messages
    client = mail_app.test_client()
    slot = slot_values(client.get(f"/my/visit/{token}/move").get_data(as_text=True))[-1]
    assert client.post(f"/my/visit/{token}/move", data={"slot": slot}).status_code == 303
    with mail_app.app_context():
        (moved,) = db.session.scalars(select(Appointment)).all()
        assert moved.id == appointment_id and moved.start_at != old_start
        assert db.session.get(Reminder, old_reminder.id).status == "cancelled"
        assert _sweep().sent == 1 and _sweep().sent == 0
        assert db.session.get(Reminder, old_reminder.id).sent_at is None
        new_start = moved.start_at
        sent = db.session.scalars(
            select(Reminder.kind).where(Reminder.status == "sent").order_by(Reminder.id)
        ).all()
    assert sent == ["visit_booked_online", "visit_moved"]
    first, notice = smtp.messages
    assert first["Message-ID"] == confirmation["Message-ID"] and notice["Subject"].startswith(
        "New time for your visit"
    )
    (_, before), (calendar, after) = _calendar_event(first), _calendar_event(notice)
    assert calendar["METHOD"] == "REQUEST"
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert after.decoded("DTSTART") == new_start
    text = notice.get_body(("plain",)).get_content()
    link = re.search(r"/my/visit/(\S+)", text).group(1)
    with mail_app.test_request_context():
        assert read_token("manage", link).target_id == appointment_id
    assert client.get(f"/my/visit/{link}").status_code == 200
    assert client.get(f"/my/visit/{token}").status_code == 200
