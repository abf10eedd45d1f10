"""Patient reminders say "call us": without a clinic phone they wait, visibly, and admins are warned."""

import os
from datetime import date

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Reminder
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from .factories import make_user
from .reminder_fixtures import maintenance_patient
from .test_reminders_privacy import written_messages as _written

DUE_DAY = date(2026, 3, 25)  # window_upcoming for an anchor on 2026-03-02


def written_messages(app) -> list:
    """The messages written so far (none before the outbox folder exists)."""
    return _written(app) if os.path.isdir(app.config["MAIL_OUTBOX_DIR"]) else []


def _no_phone():
    settings = get_settings()
    settings.phone = ""
    db.session.commit()
    return settings


def test_patient_reminders_wait_for_a_phone_then_go(app_ctx):
    """With no clinic phone the patient reminder stays waiting; once a phone is set, the next
    sweep sends it, with the phone in both parts."""
    settings = _no_phone()
    maintenance_patient(date(2026, 3, 2), first_name="Ines")
    db.session.commit()
    swept = run_sweep(clock=Clock.on_date(DUE_DAY, settings), manual=True)
    reminder = db.session.scalars(select(Reminder).where(Reminder.kind == "window_upcoming")).one()
    assert reminder.status == "pending" and reminder.sent_at is None
    assert swept.sent == 0 and written_messages(app_ctx) == []

    settings.phone = "+1 555 0142"
    db.session.commit()
    assert run_sweep(clock=Clock.on_date(DUE_DAY, settings), manual=True).sent == 1
    db.session.refresh(reminder)
    assert reminder.status == "sent"
    (message,) = written_messages(app_ctx)
    assert "+1 555 0142" in message.get_body(("plain",)).get_content()
    assert 'href="tel:+15550142"' in message.get_body(("html",)).get_content()


def test_admins_are_warned_and_the_log_says_why(app, client, login_as):
    """Without a phone every admin page warns, and the reminders log marks waiting patient rows."""
    with app.app_context():
        _no_phone()
        maintenance_patient(date(2026, 3, 2))
        run_sweep(clock=Clock.on_date(date(2026, 3, 25), get_settings()))
    login_as("admin")
    home = client.get("/admin/").get_data(as_text=True)
    assert (
        "Patient reminders are waiting" in home
        and "Add the phone number in the clinic settings" in home
    )
    log = client.get("/reminders/").get_data(as_text=True)
    assert "waiting for the clinic phone number" in log
    with app.app_context():
        get_settings().phone = "+1 555 0142"
        db.session.commit()
    assert "Patient reminders are waiting" not in client.get("/admin/").get_data(as_text=True)


def test_the_staff_digest_goes_without_a_phone(app_ctx):
    """Staff mail does not ask anyone to call the clinic: the digest is sent without a phone."""
    settings = _no_phone()
    make_user(role="frontdesk")
    maintenance_patient(date(2026, 2, 1))  # due on 2026-03-10 (window 03-03 .. 05-02)
    db.session.commit()
    day = date(2026, 3, 10)
    assert (
        run_sweep(
            clock=Clock.for_settings(Clock.on_date(day, settings).at_local(day, 7), settings)
        ).sent
        == 1
    )
    (message,) = written_messages(app_ctx)
    assert message["Subject"].startswith("Worklist for Tue 10 Mar 2026")
