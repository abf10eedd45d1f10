"""In a real browser: an old unsubscribe link after an address change, and the admin's warning
when reminder sweeps keep failing."""

import os
import threading
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.jobs import sweep
from tracker.models import Patient, SchedulerHeartbeat, utcnow
from tracker.services.clinic import clinic_today, get_settings
from tracker.services.patients import update_patient

from ..factories import make_patient
from ..reminder_fixtures import book, free_port, maintenance_patient
from .conftest import log_in
from .helpers import complete_series, read_eml, unsubscribe_link

SHOTS = Path(os.environ.get("TRACKER_SHOTS_DIR", "/tmp/shots-mail"))
SIZES = {"wide": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def shoot(page, name: str) -> None:
    """Screenshots of the current page at a desktop and a phone size, for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)


def test_old_unsubscribe_link_after_address_change_is_refused(journey, live_app, live_server):
    """The link in an email to the old address opens a clear refusal with the clinic's phone,
    and offers no button that could change anything."""
    page = journey.page
    with live_app.app_context():
        today = clinic_today()
        patient = make_patient(
            first_name="Jordan", last_name="Quill", email="jordan.old@example.test"
        )
        complete_series(patient, today - timedelta(days=23))
        get_settings().phone = "555-0142"
        db.session.commit()
        patient_id = patient.id
    result = live_app.test_cli_runner().invoke(args=["reminders", "run", "--on", today.isoformat()])
    assert result.exit_code == 0, result.output
    (message,) = [read_eml(p) for p in Path(live_app.config["MAIL_OUTBOX_DIR"]).glob("*.eml")]
    link = unsubscribe_link(message)
    with live_app.app_context():
        patient = db.session.get(Patient, patient_id)
        values = {
            n: getattr(patient, n)
            for n in ("mrn", "first_name", "last_name", "date_of_birth", "phone", "email_consent")
        }
        update_patient(
            patient,
            {**values, "email": "jordan.new@example.test", "email_opt_out": False},
            actor="test",
            today=today,
        )
        db.session.commit()

    page.goto(link)
    expect(
        page.get_by_role("alert").filter(has_text="sent to an email address we no longer have")
    ).to_be_visible()
    expect(page.get_by_role("button")).to_have_count(0)
    expect(page.get_by_text("call us on 555-0142")).to_be_visible()
    journey.check("unsubscribe (address changed)")
    shoot(page, "unsubscribe-address-changed")
    journey.finish("unsubscribe-address-changed")
    with live_app.app_context():
        assert db.session.get(Patient, patient_id).email_opt_out_at is None


def test_admin_sees_failing_sweeps_with_the_error(journey, live_app, staff):
    """Sweeps that cannot reach the mail server: after two intervals the admin's pages say that
    reminders are not going out, since when, and the last error."""
    page = journey.page
    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    with live_app.app_context():
        patient, course = maintenance_patient(utcnow().date() - timedelta(days=40))
        book(patient, course, utcnow() + timedelta(days=1))
        db.session.commit()
    sweep(live_app, "scheduler-host:77", threading.Event(), threading.Lock())
    with live_app.app_context():
        row = db.session.get(SchedulerHeartbeat, "scheduler-host:77")
        row.started_at -= timedelta(minutes=11)
        row.last_error_at -= timedelta(minutes=1)
        db.session.commit()

    log_in(page, staff("admin")[0])
    page.goto("/reminders/")
    warning = page.get_by_role("alert").filter(has_text="Reminders are not going out")
    expect(warning).to_be_visible()
    assert "unavailable" in warning.inner_text() and "Last error" in warning.inner_text()
    journey.check("reminders log (sweeps failing)")
    shoot(page, "admin-sweeps-failing")
    journey.finish("admin-sweeps-failing")
