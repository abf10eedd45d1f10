"""Planning from the current facts: what is planned, sent, cancelled or skipped, and when."""
import email
import email.policy
import os
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Reminder, utcnow
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from .factories import make_user
from .reminder_fixtures import book, booster, local, maintenance_patient

ANCHOR = date(2026, 3, 2)  # window 2026-04-01 .. 2026-05-31
UPCOMING_DAY = date(2026, 3, 25)  # 7 days before the window opens
CLOSING_DAY = date(2026, 5, 17)  # 14 days before it closes


def sweep_on(day, **kw):
    """A manual sweep as `day`'s sweeps would run (end of send hours)."""
    return run_sweep(clock=Clock.on_date(day, get_settings()), manual=True, **kw)


def sweep_at(moment, manual=False):
    """A sweep at an exact instant, as the scheduler would run it."""
    return run_sweep(clock=Clock.for_settings(moment, get_settings()), manual=manual)


def rows(**filters):
    query = select(Reminder).order_by(Reminder.id)
    for name, value in filters.items():
        query = query.where(getattr(Reminder, name) == value)
    return db.session.scalars(query).all()


def outbox(app):
    """Messages the file backend wrote, parsed."""
    folder = app.config["MAIL_OUTBOX_DIR"]
    if not os.path.isdir(folder):
        return []
    found = []
    for name in sorted(os.listdir(folder)):
        assert name.endswith(".eml"), name
        with open(os.path.join(folder, name), "rb") as handle:
            found.append(email.message_from_binary_file(handle, policy=email.policy.default))
    return found


def test_window_upcoming_planned_ahead_and_sent_on_its_day(app_ctx):
    """The opening reminder is planned ahead, waits, and goes out 7 days before the window opens."""
    patient, _ = maintenance_patient(ANCHOR)
    db.session.commit()
    result = sweep_on(UPCOMING_DAY - timedelta(days=1))
    assert result.sent == 0
    upcoming = rows(kind="window_upcoming")
    assert len(upcoming) == 1 and upcoming[0].status == "pending"
    assert upcoming[0].due_at == local(UPCOMING_DAY, 8)
    assert upcoming[0].dedupe_key == f"window_upcoming:p{patient.id}:2026-03-02"
    assert outbox(app_ctx) == []

    result = sweep_on(UPCOMING_DAY)
    assert result.sent == 1
    sent = rows(kind="window_upcoming")[0]
    assert sent.status == "sent" and sent.attempts == 1 and sent.sent_at is not None
    messages = outbox(app_ctx)
    assert len(messages) == 1
    assert messages[0]["To"] == patient.email
    assert sent.message_id == messages[0]["Message-ID"]
    assert "Wed 1 Apr 2026" in messages[0].get_body(("plain",)).get_content()


def test_window_closing_sent_only_while_unbooked(app_ctx):
    """The closing reminder goes 14 days before the window closes; a second sweep sends nothing."""
    maintenance_patient(ANCHOR)
    db.session.commit()
    sweep_on(UPCOMING_DAY)
    result = sweep_on(CLOSING_DAY)
    assert result.sent == 1
    assert [r.status for r in rows(kind="window_closing")] == ["sent"]
    assert sweep_on(CLOSING_DAY).sent == 0
    assert len(outbox(app_ctx)) == 2


def test_booking_after_planning_cancels_window_reminders(app_ctx):
    """A booking made after planning cancels the pending window reminder and plans its own."""
    patient, course = maintenance_patient(ANCHOR)
    db.session.commit()
    sweep_on(UPCOMING_DAY - timedelta(days=3))
    assert rows(kind="window_upcoming")[0].status == "pending"

    appointment = book(patient, course, local(date(2026, 4, 6), 10))
    db.session.commit()
    result = sweep_on(UPCOMING_DAY)
    assert result.sent == 0 and result.cancelled == 1
    upcoming = rows(kind="window_upcoming")[0]
    assert (upcoming.status, upcoming.skip_reason) == ("cancelled", "appointment booked")
    planned = rows(kind="appointment")
    assert len(planned) == 1 and planned[0].appointment_id == appointment.id
    assert planned[0].due_at == local(date(2026, 4, 4), 10)  # 48 hours before
    assert outbox(app_ctx) == []


def test_appointment_reminder_sent_48_hours_before_with_ics(app_ctx):
    """The appointment reminder goes out 48 hours before, in clinic time, with the .ics attached."""
    patient, course = maintenance_patient(ANCHOR)
    appointment = book(patient, course, local(date(2026, 4, 8), 9, 30))
    db.session.commit()
    assert sweep_at(local(date(2026, 4, 6), 9, 25)).sent == 0
    assert sweep_at(local(date(2026, 4, 6), 9, 30)).sent == 1
    row = rows(kind="appointment")[0]
    assert row.status == "sent" and row.appointment_id == appointment.id
    (message,) = outbox(app_ctx)
    assert message["Subject"] == "Reminder: your visit on Wed 8 Apr 2026 at 09:30"
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "text/calendar"
    content = attachment.get_content()
    assert appointment.uid in (content.decode() if isinstance(content, bytes) else content)


def test_cancelled_appointment_cancels_its_reminder(app_ctx):
    """Cancelling an appointment between sweeps cancels its pending reminder; nothing is sent."""
    patient, course = maintenance_patient(ANCHOR)
    appointment = book(patient, course, local(date(2026, 4, 8), 9, 30))
    db.session.commit()
    sweep_at(local(date(2026, 4, 1), 12))
    assert rows(kind="appointment")[0].status == "pending"
    appointment.status, appointment.cancel_reason = "cancelled", "patient"
    db.session.commit()
    result = sweep_at(local(date(2026, 4, 6), 12))
    assert result.sent == 0
    row = rows(kind="appointment")[0]
    assert (row.status, row.skip_reason) == ("cancelled", "appointment cancelled")
    assert outbox(app_ctx) == []


def test_moved_appointment_replans_its_reminder(app_ctx):
    """Moving an appointment cancels the reminder for the old time and plans one for the new."""
    patient, course = maintenance_patient(ANCHOR)
    appointment = book(patient, course, local(date(2026, 4, 8), 9, 30))
    db.session.commit()
    sweep_at(local(date(2026, 4, 1), 12))
    appointment.start_at = local(date(2026, 4, 10), 14)
    appointment.end_at = appointment.start_at + timedelta(minutes=100)
    db.session.commit()
    sweep_at(local(date(2026, 4, 6), 12))
    old, new = rows(kind="appointment")
    assert (old.status, old.skip_reason) == ("cancelled", "appointment moved")
    assert new.status == "pending" and new.due_at == local(date(2026, 4, 8), 14)
    assert sweep_at(local(date(2026, 4, 8), 14)).sent == 1
    (message,) = outbox(app_ctx)
    assert "Fri 10 Apr 2026 at 14:00" in message["Subject"]


def test_rescheduled_appointment_gets_one_reminder(app_ctx):
    """A reschedule (cancel + new linked appointment) sends only the new appointment's reminder."""
    patient, course = maintenance_patient(ANCHOR)
    first = book(patient, course, local(date(2026, 4, 8), 9, 30))
    db.session.commit()
    sweep_at(local(date(2026, 4, 1), 12))
    first.status = "cancelled"
    second = book(patient, course, local(date(2026, 4, 9), 11))
    second.rescheduled_from_id = first.id
    db.session.commit()
    sweep_at(local(date(2026, 4, 7), 11))
    statuses = {r.appointment_id: r.status for r in rows(kind="appointment")}
    assert statuses == {first.id: "cancelled", second.id: "sent"}
    assert len(outbox(app_ctx)) == 1


def test_new_anchor_cancels_old_window_reminders(app_ctx):
    """A booster re-anchors the window: reminders for the old anchor are cancelled, new ones planned."""
    patient, course = maintenance_patient(ANCHOR)
    db.session.commit()
    sweep_on(date(2026, 3, 20))
    assert rows(kind="window_upcoming")[0].status == "pending"
    booster(course, date(2026, 3, 22))
    db.session.commit()
    sweep_on(date(2026, 3, 23))
    (old,) = rows(kind="window_upcoming", anchor_date=ANCHOR)
    assert (old.status, old.skip_reason) == ("cancelled", "window moved: new anchor date")
    sweep_on(date(2026, 4, 14))  # new window opens 2026-04-21
    (new,) = rows(kind="window_upcoming", anchor_date=date(2026, 3, 22))
    assert new.status == "sent"
    assert len(outbox(app_ctx)) == 1


@pytest.mark.parametrize("patient_kw, reason", [
    ({"email_consent": False}, "no email consent"),
    ({"email": None}, "no email address"),
    ({"email_opt_out_at": utcnow()}, "opted out"),
])
def test_patient_mail_needs_consent_address_and_no_opt_out(app_ctx, patient_kw, reason):
    """Without consent, an address, or with an opt-out, the reminder is skipped with the reason."""
    maintenance_patient(ANCHOR, **patient_kw)
    db.session.commit()
    result = sweep_on(UPCOMING_DAY)
    assert result.sent == 0 and result.skipped == 1
    row = rows(kind="window_upcoming")[0]
    assert (row.status, row.skip_reason) == ("skipped", reason)
    assert outbox(app_ctx) == []


def test_missed_days_catch_up_late_or_skip(app_ctx):
    """After days without sweeps, a still-relevant reminder goes late; a stale one is skipped."""
    late, _ = maintenance_patient(ANCHOR)
    stale, _ = maintenance_patient(date(2026, 2, 27))  # window opens 2026-03-29
    db.session.commit()
    sweep_on(date(2026, 3, 15))  # planned, nothing due yet
    assert {r.status for r in rows()} == {"pending"}
    # No sweep runs from 2026-03-16 until 2026-03-29.
    result = sweep_on(date(2026, 3, 29))
    sent = rows(kind="window_upcoming", patient_id=late.id)[0]
    skipped = rows(kind="window_upcoming", patient_id=stale.id)[0]
    assert sent.status == "sent"
    assert (skipped.status, skipped.skip_reason) == ("skipped", "too late: the window is already open")
    assert result.sent == 1 and result.skipped == 1


def test_window_reminders_wait_for_send_hours(app_ctx):
    """At night window reminders wait for 08:00 clinic time; appointment reminders do not wait."""
    patient, course = maintenance_patient(ANCHOR)
    other, other_course = maintenance_patient(date(2026, 3, 10))
    book(other, other_course, local(date(2026, 3, 27), 21))
    db.session.commit()
    night = sweep_at(local(UPCOMING_DAY, 21, 5))  # the reminder became due at 08:00 that day
    assert night.sent == 1
    assert rows(kind="window_upcoming", patient_id=patient.id)[0].status == "pending"
    assert rows(kind="appointment")[0].status == "sent"
    assert sweep_at(local(UPCOMING_DAY + timedelta(days=1), 7, 55)).sent == 0
    assert sweep_at(local(UPCOMING_DAY + timedelta(days=1), 8, 0)).sent == 1


def test_appointment_reminder_due_at_night_moves_into_the_last_send_hour(app_ctx):
    """An appointment reminder whose 48 hours fall at night goes at 19:00, the last send hour before."""
    patient, course = maintenance_patient(ANCHOR)
    early = book(patient, course, local(date(2026, 4, 8), 7))  # 48 h before: 04-06 07:00
    late = book(patient, course, local(date(2026, 4, 9), 21, 30))  # 48 h before: 04-07 21:30
    db.session.commit()
    sweep_at(local(date(2026, 4, 1), 12))
    due = {r.appointment_id: r.due_at for r in rows(kind="appointment")}
    assert due == {early.id: local(date(2026, 4, 5), 19), late.id: local(date(2026, 4, 7), 19)}
    assert sweep_at(local(date(2026, 4, 5), 18, 55)).sent == 0
    assert sweep_at(local(date(2026, 4, 5), 19, 0)).sent == 1
    assert [r.status for r in rows(kind="appointment")] == ["sent", "pending"]


def test_appointment_reminder_retimed_when_send_hours_change(app_ctx):
    """Narrower send hours re-time a pending appointment reminder, never to after the appointment."""
    settings = get_settings()
    settings.appointment_hours = 2
    patient, course = maintenance_patient(ANCHOR)
    appointment = book(patient, course, local(date(2026, 4, 8), 9))  # 2 h before: 07:00, at night
    db.session.commit()
    sweep_at(local(date(2026, 4, 1), 12))
    (row,) = rows(kind="appointment")
    assert row.due_at == local(date(2026, 4, 7), 19)
    settings.send_hours_start, settings.send_hours_end = 6, 18
    db.session.commit()
    sweep_at(local(date(2026, 4, 1), 12, 5))
    db.session.expire_all()
    (row,) = rows(kind="appointment")
    assert row.due_at == local(date(2026, 4, 8), 7) < appointment.start_at


def test_send_hours_follow_the_clinic_time_zone(app_ctx):
    """In a Sydney clinic the reminder is due at 08:00 Sydney time, across a daylight-saving change."""
    settings = get_settings()
    settings.timezone = "Australia/Sydney"
    db.session.commit()
    # Sydney leaves daylight saving on 2026-04-05; the reminder day 2026-04-06 is on standard time.
    maintenance_patient(date(2026, 3, 14))  # window opens 2026-04-13, reminder on 2026-04-06
    db.session.commit()
    sweep_on(date(2026, 4, 1))
    row = rows(kind="window_upcoming")[0]
    assert row.due_at == local(date(2026, 4, 6), 8, tz="Australia/Sydney")
    assert row.due_at.hour == 22  # 08:00 AEST is 22:00 UTC the day before
    assert sweep_at(local(date(2026, 4, 6), 7, 59, tz="Australia/Sydney")).sent == 0
    assert sweep_at(local(date(2026, 4, 6), 8, 0, tz="Australia/Sydney")).sent == 1


def test_changed_lead_days_retime_pending_rows(app_ctx):
    """Changing the lead time in the settings moves pending reminders at the next sweep."""
    maintenance_patient(ANCHOR)
    db.session.commit()
    sweep_on(date(2026, 3, 20))
    get_settings().window_upcoming_days = 3
    db.session.commit()
    sweep_on(date(2026, 3, 21))
    assert rows(kind="window_upcoming")[0].due_at == local(date(2026, 3, 29), 8)


def test_hold_and_as_needed_cancel_window_reminders(app_ctx):
    """A course put on hold or switched to as-needed no longer gets window reminders."""
    _, held = maintenance_patient(ANCHOR)
    _, prn = maintenance_patient(ANCHOR)
    db.session.commit()
    sweep_on(date(2026, 3, 20))
    held.state = "on_hold"
    prn.mode = "as_needed"
    db.session.commit()
    assert sweep_on(UPCOMING_DAY).sent == 0
    reasons = sorted(r.skip_reason for r in rows(kind="window_upcoming"))
    assert reasons == ["course on hold", "maintenance is as needed: no window"]


def test_a_hold_whose_resume_date_has_come_gets_window_reminders_again(app_ctx):
    """A course held until a date is due again from that date without anyone resuming it (the
    worklist says so), and its window reminders go out again; before the date they do not."""
    _, held = maintenance_patient(ANCHOR)
    held.state_before_hold, held.state = "maintenance", "on_hold"
    held.hold_reason, held.resume_on = "travelling", UPCOMING_DAY
    db.session.commit()
    assert sweep_on(UPCOMING_DAY - timedelta(days=1)).sent == 0  # still held: nothing planned
    assert rows(kind="window_upcoming") == []
    assert sweep_on(UPCOMING_DAY).sent == 1  # back from its resume date, still "on hold" stored
    (upcoming,) = rows(kind="window_upcoming")
    assert (upcoming.status, upcoming.course_id) == ("sent", held.id)
    assert db.session.get(type(held), held.id).state == "on_hold"
    assert sweep_on(CLOSING_DAY).sent == 1
    assert [r.status for r in rows(kind="window_closing")] == ["sent"]


def test_staff_digest_lists_unbooked_patients_for_front_desk(app_ctx):
    """The daily digest goes to each front-desk user and counts unbooked due and overdue patients
    (booked ones are not counted; no patient is named)."""
    desk = make_user(role="frontdesk")
    make_user(role="clinician")
    due, _ = maintenance_patient(date(2026, 3, 1), first_name="Dana", last_name="Due")
    overdue, _ = maintenance_patient(date(2026, 1, 2), first_name="Olive", last_name="Overdue")
    booked, booked_course = maintenance_patient(date(2026, 3, 1), first_name="Bea", last_name="Booked")
    book(booked, booked_course, local(date(2026, 4, 20), 10))
    db.session.commit()
    result = sweep_at(local(date(2026, 4, 10), 7, 0))
    assert result.sent == 1
    (digest,) = rows(kind="staff_digest")
    assert digest.user_id == desk.id and digest.status == "sent"
    (message,) = outbox(app_ctx)
    assert message["To"] == desk.email
    text = message.get_body(("plain",)).get_content()
    assert "Unbooked patients on the worklist for Fri 10 Apr 2026: 2." in text
    assert "Due: 1" in text and "Overdue: 1" in text
    assert due.mrn not in text and "Dana" not in text and "Booked" not in text
    sweep_at(local(date(2026, 4, 10), 9, 0))
    assert len(rows(kind="staff_digest")) == 1  # once a day (Olive's reactivation email goes at 09:00)


def test_empty_or_outdated_digest_is_skipped(app_ctx):
    """A digest with nothing to list is skipped; yesterday's unsent digest is replaced by today's."""
    make_user(role="frontdesk")
    db.session.commit()
    sweep_at(local(date(2026, 4, 10), 7, 0))
    assert rows(kind="staff_digest")[0].skip_reason == "worklist empty: nothing to send"
    maintenance_patient(date(2026, 3, 1))
    db.session.commit()
    run_sweep(clock=Clock.for_settings(local(date(2026, 4, 11), 6, 0), get_settings()), dry_run=False)
    yesterday_pending = rows(kind="staff_digest", anchor_date=date(2026, 4, 11))[0]
    assert yesterday_pending.status == "pending"
    sweep_at(local(date(2026, 4, 12), 7, 0))
    assert rows(kind="staff_digest", anchor_date=date(2026, 4, 11))[0].skip_reason == "replaced by a newer digest"
    assert rows(kind="staff_digest", anchor_date=date(2026, 4, 12))[0].status == "sent"
