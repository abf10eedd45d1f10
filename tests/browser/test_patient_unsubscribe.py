"""The patient's journey in a real browser: the unsubscribe link of a real reminder email."""
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.models import Patient
from tracker.services.clinic import clinic_today

from ..factories import make_patient
from .helpers import complete_series, read_eml, unsubscribe_link


def test_patient_unsubscribes_from_reminder_email(journey, live_app, live_server):
    """A reminder sweep writes an email; its link opens a page that records the opt-out."""
    page = journey.page
    with live_app.app_context():
        today = clinic_today()
        patient = make_patient(first_name="Jordan", last_name="Quill", email="jordan.quill@example.test")
        # The window opens in 7 days: today's sweep sends the window_upcoming reminder.
        complete_series(patient, today - timedelta(days=23))
        db.session.commit()
        patient_id = patient.id

    result = live_app.test_cli_runner().invoke(args=["reminders", "run", "--on", today.isoformat()])
    assert result.exit_code == 0, result.output
    messages = [read_eml(path) for path in sorted(Path(live_app.config["MAIL_OUTBOX_DIR"]).glob("*.eml"))]
    to_jordan = [m for m in messages if m["To"] == "jordan.quill@example.test"]
    assert len(to_jordan) == 1, result.output
    link = unsubscribe_link(to_jordan[0])
    assert link.startswith(live_server.url + "/unsubscribe/")

    page.goto(link)
    expect(page.get_by_role("heading", name="Email reminders from")).to_be_visible()
    expect(page.get_by_text("Do you want to stop receiving reminder emails from us?")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)  # no staff pages for a patient
    journey.check("unsubscribe (confirm)")
    page.get_by_role("button", name="Stop reminder emails").click()
    expect(page.get_by_role("status").filter(
        has_text="You will not receive reminder emails from us any more.")).to_be_visible()
    journey.check("unsubscribe (done)")
    journey.finish("patient-journey")

    with live_app.app_context():
        assert db.session.get(Patient, patient_id).email_opt_out_at is not None
