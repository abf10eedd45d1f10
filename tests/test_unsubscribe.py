"""The signed unsubscribe link: no login, a confirmation, the opt-out recorded and honoured at once."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AuditEvent, Patient, Reminder
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.reminders.unsubscribe import make_token, read_token, unsubscribe_path
from tracker.services.clinic import get_settings

from .conftest import build_app
from .reminder_fixtures import maintenance_patient


def patient_with_pending_reminder(app):
    """A consenting patient whose window reminder is planned (pending) but not yet due."""
    with app.app_context():
        patient, _ = maintenance_patient(date(2026, 3, 2))
        db.session.commit()
        run_sweep(clock=Clock.on_date(date(2026, 3, 20), get_settings()), manual=True)
        return patient.id, unsubscribe_path(make_token(patient.id))


def test_get_shows_confirmation_and_changes_nothing(app, client):
    """Opening the link (no login) asks for confirmation; a GET never opts out."""
    patient_id, path = patient_with_pending_reminder(app)
    response = client.get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Stop reminder emails" in page and 'method="post"' in page
    with app.app_context():
        assert db.session.get(Patient, patient_id).email_opt_out_at is None


def test_post_records_opt_out_with_audit_and_skips_pending_mail(app, client):
    """The button records the opt-out time, an audit event by 'patient', and skips pending mail."""
    patient_id, path = patient_with_pending_reminder(app)
    response = client.post(path)
    assert response.status_code == 302
    assert "You will not receive reminder emails" in client.get(path).get_data(as_text=True)
    with app.app_context():
        patient = db.session.get(Patient, patient_id)
        assert patient.email_opt_out_at is not None and not patient.may_email
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "opt_out"))
        assert (event.actor, event.patient_id, event.user_id) == ("patient", patient_id, None)
        assert event.changes["before"] == {"email_opt_out_at": None}
        reminder = db.session.scalar(select(Reminder).where(Reminder.patient_id == patient_id))
        assert (reminder.status, reminder.skip_reason) == ("skipped", "opted out")
        # The very next sweep sends nothing to this patient.
        result = run_sweep(clock=Clock.on_date(date(2026, 3, 25), get_settings()), manual=True)
        assert result.sent == 0
    assert client.post(path).status_code == 302  # a second click changes nothing
    with app.app_context():
        assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "opt_out")).all()) == 1


def test_opt_out_after_claiming_is_honoured_before_sending(app, client):
    """An opt-out recorded while a reminder waits in the outbox stops it at send time."""
    with app.app_context():
        patient, _ = maintenance_patient(date(2026, 3, 2))
        db.session.commit()
        patient_id = patient.id
    client.post(unsubscribe_path_for(app, patient_id))
    with app.app_context():
        result = run_sweep(clock=Clock.on_date(date(2026, 3, 25), get_settings()), manual=True)
        reminder = db.session.scalar(select(Reminder).where(Reminder.patient_id == patient_id))
    assert result.sent == 0 and (reminder.status, reminder.skip_reason) == ("skipped", "opted out")


def unsubscribe_path_for(app, patient_id):
    with app.app_context():
        return unsubscribe_path(make_token(patient_id))


@pytest.fixture
def csrf_app(tmp_path):
    """The app with CSRF protection on, as in production."""
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_one_click_post_works_without_csrf_token(csrf_app):
    """A mail client's RFC 8058 one-click POST (no CSRF token, no session) records the opt-out."""
    patient_id, path = patient_with_pending_reminder(csrf_app)
    client = csrf_app.test_client()
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with csrf_app.app_context():
        assert db.session.get(Patient, patient_id).email_opt_out_at is not None


def test_confirmation_button_works_with_csrf_on(csrf_app):
    """The confirmation page's form posts successfully with CSRF protection enabled."""
    patient_id, path = patient_with_pending_reminder(csrf_app)
    client = csrf_app.test_client()
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(path, data={"csrf_token": token}).status_code == 302
    with csrf_app.app_context():
        assert db.session.get(Patient, patient_id).email_opt_out_at is not None


@pytest.mark.parametrize("token", ["not-a-token", "eyJwIjoxfQ.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"])
def test_bad_or_forged_token_is_refused(app, client, token):
    """A tampered or made-up token gets a clear page (400), never a 500, and changes nothing."""
    patient_id, _ = patient_with_pending_reminder(app)
    for method in (client.get, client.post):
        response = method(f"/unsubscribe/{token}")
        assert response.status_code == 400
        assert "not valid or has expired" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Patient, patient_id).email_opt_out_at is None


def test_token_from_another_secret_or_expired_is_refused(app):
    """Tokens are signed with the app's secret and expire after UNSUBSCRIBE_MAX_AGE_DAYS."""
    with app.app_context():
        token = make_token(7)
        assert read_token(token) == 7
        app.config["UNSUBSCRIBE_MAX_AGE_DAYS"] = -1
        assert read_token(token) is None
        app.config["UNSUBSCRIBE_MAX_AGE_DAYS"] = 730
        app.config["SECRET_KEY"] = "another-secret-key-entirely"
        assert read_token(token) is None


def test_unknown_patient_token_is_refused(app, client):
    """A valid signature for a patient that no longer exists is refused like a bad link."""
    response = client.get(unsubscribe_path_for(app, 999999))
    assert response.status_code == 400


def test_email_carries_the_working_link_and_headers(app, client):
    """The sent email's List-Unsubscribe header and body link lead to this page for this patient."""
    import email
    import email.policy
    import os

    with app.app_context():
        patient, _ = maintenance_patient(date(2026, 3, 2))
        db.session.commit()
        patient_id = patient.id
        run_sweep(clock=Clock.on_date(date(2026, 3, 25), get_settings()), manual=True)
    folder = app.config["MAIL_OUTBOX_DIR"]
    (name,) = os.listdir(folder)
    with open(os.path.join(folder, name), "rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(https?://[^>]+)>", message["List-Unsubscribe"]).group(1)
    assert link in message.get_body(("plain",)).get_content().replace("=\n", "")
    path = "/" + link.split("/", 3)[3]
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        assert db.session.get(Patient, patient_id).email_opt_out_at is not None
