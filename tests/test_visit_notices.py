"""Patients are told of a booking, a move and a cancellation: once each, by the outbox, to a real SMTP server."""

from datetime import date, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Chair, OpeningHours, Reminder
from tracker.reminders import notices
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.appointments import move_appointment
from tracker.services.clinic import get_settings

from .conftest import build_app
from .reminder_fixtures import SMTPServer, book, local, maintenance_patient

VISIT_DAY = date(2026, 5, 20)
NOW = local(date(2026, 5, 1), 10)  # inside the default send hours (08:00-20:00)


@pytest.fixture
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(tmp_path, smtp):
    """An app sending through the test's SMTP server."""
    app = build_app(tmp_path, **smtp.config())
    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def _calendar(message) -> Calendar:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_content())


def _rows(kind=None):
    query = select(Reminder).order_by(Reminder.id)
    if kind:
        query = query.where(Reminder.kind == kind)
    return db.session.scalars(query).all()


def _told(patient, visit) -> None:
    """The patient was told of the booking already (its notice is on record as sent)."""
    db.session.add(
        Reminder(
            dedupe_key="told",
            kind="visit_booked",
            patient_id=patient.id,
            appointment_id=visit.id,
            due_at=NOW,
            status="sent",
        )
    )


def _sweep(at=NOW):
    return run_sweep(clock=Clock.for_settings(at, get_settings()), manual=True)


def test_booked_notice_goes_once_with_a_request_ics(mail_app, smtp):
    """A booking plans one notice; two sweeps send it once, with METHOD:REQUEST and the visit's UID."""
    patient, course = maintenance_patient(date(2026, 4, 1))
    visit = book(patient, course, local(VISIT_DAY, 10))
    settings = get_settings()
    assert notices.visit_booked(visit, now=NOW, settings=settings)
    assert not notices.visit_booked(visit, now=NOW, settings=settings)  # the dedupe key holds
    db.session.commit()
    assert _sweep().sent == 1 and _sweep().sent == 0
    (message,) = smtp.messages
    assert message["Subject"] == "Your visit on Wed 20 May 2026 at 10:00"
    calendar = _calendar(message)
    event = calendar.walk("VEVENT")[0]
    assert calendar["METHOD"] == "REQUEST" and str(event["UID"]) == visit.uid
    assert str(event["ATTENDEE"]) == f"mailto:{patient.email}"


def test_move_sends_one_change_notice_and_cancels_the_old_reminder(mail_app, smtp):
    """After a move: one 'new time' notice with the same UID and a higher SEQUENCE; the reminder for
    the old time is cancelled, never sent."""
    patient, course = maintenance_patient(date(2026, 4, 1))
    visit = book(patient, course, local(VISIT_DAY, 10))
    settings = get_settings()
    notices.visit_booked(visit, now=NOW, settings=settings)
    db.session.commit()
    assert _sweep().sent == 1
    # The 48-hour reminder for the old time is planned two days before...
    before_visit = local(VISIT_DAY - timedelta(days=3), 9)
    assert _sweep(before_visit).sent == 0
    assert [row.status for row in _rows("appointment")] == ["pending"]
    # ... then the visit moves in place (same UID, SEQUENCE + 1) to the next day.
    old_sequence = visit.sequence
    visit.start_at, visit.end_at = (
        visit.start_at + timedelta(days=1),
        visit.end_at + timedelta(days=1),
    )
    visit.sequence = old_sequence + 1
    assert notices.visit_moved(visit, now=before_visit, settings=settings)
    db.session.commit()
    assert _sweep(before_visit).sent == 1
    on_old_reminder_day = local(VISIT_DAY - timedelta(days=2), 11)
    _sweep(on_old_reminder_day)
    appointment_rows = _rows("appointment")
    old_key = f"appointment:a{visit.id}:{local(VISIT_DAY, 10):%Y%m%dT%H%MZ}"
    old_reminder = next(row for row in appointment_rows if row.dedupe_key == old_key)
    assert (old_reminder.status, old_reminder.skip_reason) == ("cancelled", "appointment moved")
    assert old_reminder.sent_at is None
    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects.count("New time for your visit: Thu 21 May 2026 at 10:00") == 1
    moved = next(m for m in smtp.messages if m["Subject"].startswith("New time"))
    calendar = _calendar(moved)
    event = calendar.walk("VEVENT")[0]
    assert calendar["METHOD"] == "REQUEST" and str(event["UID"]) == visit.uid
    assert int(event["SEQUENCE"]) > old_sequence
    assert not any("20 May" in s and s.startswith("Reminder") for s in subjects)


def test_a_visit_moved_away_and_back_is_told_and_reminded_each_time(mail_app, smtp):
    """Moved in place 10:00 -> 14:00 -> 10:00 -> 14:00 by the move service: every move is told
    once, and the reminder of the time it ends at goes out, although a reminder of that same
    time was planned (and retired) before."""
    for weekday in range(7):
        db.session.add(OpeningHours(weekday=weekday, opens=time(7), closes=time(19)))
    patient, course = maintenance_patient(date(2026, 4, 1))
    visit = book(patient, course, local(VISIT_DAY, 10))
    _told(patient, visit)
    settings = get_settings()
    db.session.commit()
    three_days_before = local(VISIT_DAY - timedelta(days=3), 9)
    assert _sweep(three_days_before).sent == 0  # the reminder of 10:00 is planned
    chair = db.session.get(Chair, visit.chair_id)
    for hour in (14, 10, 14):
        move_appointment(
            visit,
            chair=chair,
            start_at=local(VISIT_DAY, hour),
            actor="system",
            reason="patient",
            patient_agreed=True,
            now=three_days_before,
        )
        assert notices.visit_moved(visit, now=three_days_before, settings=settings)
        db.session.commit()
        assert _sweep(three_days_before).sent == 1
    assert _sweep(local(VISIT_DAY - timedelta(days=2), 15)).sent == 1  # the 48-hour reminder
    subjects = [m["Subject"] for m in smtp.messages]
    assert [s for s in subjects if s.startswith("New time")] == [
        f"New time for your visit: Wed 20 May 2026 at {hour}:00" for hour in (14, 10, 14)
    ]
    reminders = [s for s in subjects if s.startswith("Reminder")]
    assert len(reminders) == 1 and "14:00" in reminders[0], subjects
    sent = [r for r in _rows("appointment") if r.status == "sent"]
    assert [r.dedupe_key.endswith(":m3") for r in sent] == [True]


def test_moved_twice_before_sending_tells_the_last_time_only(mail_app, smtp):
    """Two moves before the sweep: the first notice is retired, the patient hears of the last time."""
    patient, course = maintenance_patient(date(2026, 4, 1))
    visit = book(patient, course, local(VISIT_DAY, 10))
    settings = get_settings()
    _told(patient, visit)
    for _ in range(2):
        visit.start_at, visit.end_at = (
            visit.start_at + timedelta(hours=1),
            visit.end_at + timedelta(hours=1),
        )
        assert notices.visit_moved(visit, now=NOW, settings=settings)
    db.session.commit()
    assert _sweep().sent == 1
    assert [m["Subject"] for m in smtp.messages] == [
        "New time for your visit: Wed 20 May 2026 at 12:00"
    ]
    assert [r.skip_reason for r in _rows("visit_moved") if r.status == "cancelled"] == [
        "visit moved again"
    ]


def test_a_move_before_the_booked_notice_went_out_sends_one_message(mail_app, smtp):
    """A visit moved before its booking notice was sent: one message, with the new time."""
    patient, course = maintenance_patient(date(2026, 4, 1))
    visit = book(patient, course, local(VISIT_DAY, 10))
    settings = get_settings()
    notices.visit_booked(visit, now=NOW, settings=settings)
    visit.start_at, visit.end_at = (
        visit.start_at + timedelta(hours=2),
        visit.end_at + timedelta(hours=2),
    )
    assert not notices.visit_moved(visit, now=NOW, settings=settings)
    db.session.commit()
    assert _sweep().sent == 1
    assert [m["Subject"] for m in smtp.messages] == ["Your visit on Wed 20 May 2026 at 12:00"]


def test_cancellation_by_the_clinic_sends_method_cancel(mail_app, smtp):
    """A visit the patient was told of, cancelled: one notice with METHOD:CANCEL, STATUS:CANCELLED."""
    patient, course = maintenance_patient(date(2026, 4, 1))
    visit = book(patient, course, local(VISIT_DAY, 10))
    settings = get_settings()
    notices.visit_booked(visit, now=NOW, settings=settings)
    db.session.commit()
    _sweep()
    visit.status, visit.cancel_reason, visit.sequence = "cancelled", "clinic", visit.sequence + 1
    assert notices.visit_cancelled(visit, now=NOW, settings=settings)
    db.session.commit()
    assert _sweep().sent == 1
    cancelled = smtp.messages[-1]
    assert cancelled["Subject"] == "Cancelled: your visit on Wed 20 May 2026 at 10:00"
    calendar = _calendar(cancelled)
    event = calendar.walk("VEVENT")[0]
    assert (
        calendar["METHOD"] == "CANCEL"
        and event["STATUS"] == "CANCELLED"
        and str(event["UID"]) == visit.uid
    )


def test_no_cancellation_for_a_visit_never_told_and_none_without_consent(mail_app, smtp):
    """Cancelling before the booking notice went out retires it and sends nothing; a patient without
    consent gets no notice rows at all."""
    patient, course = maintenance_patient(date(2026, 4, 1))
    visit = book(patient, course, local(VISIT_DAY, 10))
    settings = get_settings()
    notices.visit_booked(visit, now=NOW, settings=settings)
    visit.status = "cancelled"
    assert not notices.visit_cancelled(visit, now=NOW, settings=settings)
    quiet, quiet_course = maintenance_patient(date(2026, 4, 1), email_consent=False)
    assert not notices.visit_booked(
        book(quiet, quiet_course, local(VISIT_DAY, 12)), now=NOW, settings=settings
    )
    db.session.commit()
    assert _sweep().sent == 0 and smtp.messages == []
    (row,) = _rows()
    assert (row.kind, row.status, row.skip_reason) == (
        "visit_booked",
        "cancelled",
        "visit no longer booked",
    )


def test_notice_outside_send_hours_waits_for_them(mail_app, smtp):
    """A booking at 22:00 is told at 08:00 the next morning, not at night."""
    patient, course = maintenance_patient(date(2026, 4, 1))
    visit = book(patient, course, local(VISIT_DAY, 10))
    evening = local(date(2026, 5, 1), 22)
    notices.visit_booked(visit, now=evening, settings=get_settings())
    db.session.commit()
    (row,) = _rows()
    assert row.due_at == local(date(2026, 5, 2), 8)
    assert _sweep(evening + timedelta(hours=1)).sent == 0
    assert _sweep(local(date(2026, 5, 2), 8, 5)).sent == 1


def test_a_series_booked_at_once_is_told_in_one_email_with_every_visit(mail_app, smtp):
    """Booking a series plans one notice: one email lists every visit and its calendar file holds
    an event per visit (each its own UID). A visit of the series cancelled later was told of, so
    it gets its own cancellation; moving another before the email went out sends no extra mail."""
    from tracker.services import appointments as service

    from .schedule_fixtures import series_patient, setup_clinic

    clinic = setup_clinic()
    patient, _ = series_patient(first_name="Robin")
    settings = get_settings()
    plan = service.book_series(
        patient,
        appointment_type=clinic["series"],
        chair=None,
        first_day=date(2026, 5, 4),
        weekdays=[0, 2, 4],
        wall_time=local(VISIT_DAY, 9).astimezone(notices_zone()).time(),
        count=3,
        actor="test",
        now=NOW,
    )
    first, second, third = plan.appointments
    assert notices.visit_booked(first, now=NOW, settings=settings)
    db.session.commit()
    assert _sweep().sent == 1 and _sweep().sent == 0
    (message,) = smtp.messages
    assert message["Subject"] == "Your 3 visits, from Mon 4 May 2026"
    text = message.get_body(("plain",)).get_content()
    for day in ("Mon 4 May 2026 at 09:00", "Wed 6 May 2026 at 09:00", "Fri 8 May 2026 at 09:00"):
        assert day in text
    calendar = _calendar(message)
    assert calendar["METHOD"] == "REQUEST"
    assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == [first.uid, second.uid, third.uid]
    assert len(_rows("visit_booked")) == 1

    third.status, third.cancel_reason, third.sequence = "cancelled", "clinic", third.sequence + 1
    assert notices.visit_cancelled(third, now=NOW, settings=settings)
    db.session.commit()
    assert _sweep().sent == 1
    event = _calendar(smtp.messages[-1]).walk("VEVENT")[0]
    assert str(event["UID"]) == third.uid and event["STATUS"] == "CANCELLED"


def test_a_series_visit_moved_before_the_email_went_out_is_told_once(mail_app, smtp):
    """The series notice is written when it is sent: a visit moved (or cancelled) before then
    shows its new time (or is left out), and no separate notice goes for it."""
    from tracker.services import appointments as service

    from .schedule_fixtures import series_patient, setup_clinic

    clinic = setup_clinic()
    patient, _ = series_patient()
    settings = get_settings()
    plan = service.book_series(
        patient,
        appointment_type=clinic["series"],
        chair=None,
        first_day=date(2026, 5, 4),
        weekdays=[0, 2, 4],
        wall_time=local(VISIT_DAY, 9).astimezone(notices_zone()).time(),
        count=3,
        actor="test",
        now=NOW,
    )
    first, second, third = plan.appointments
    notices.visit_booked(first, now=NOW, settings=settings)
    second.start_at, second.end_at = (
        second.start_at + timedelta(hours=4),
        second.end_at + timedelta(hours=4),
    )
    assert not notices.visit_moved(second, now=NOW, settings=settings)
    third.status = "cancelled"
    db.session.commit()
    assert _sweep().sent == 1
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "Wed 6 May 2026 at 13:00" in text and "Fri 8 May 2026" not in text
    assert smtp.messages[0]["Subject"] == "Your 2 visits, from Mon 4 May 2026"


def notices_zone():
    """The clinic's zone (the series' wall-clock time is typed in it)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(get_settings().timezone)
