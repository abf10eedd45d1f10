"""The mail module: .eml files by default, SMTP with login, STARTTLS or SSL, errors recorded."""
import email
import email.policy
import os
import shutil
import ssl
import subprocess
from datetime import date

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.mail import MailError, build_message, open_mailer, outbox_dir, send
from tracker.models import Reminder
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from .conftest import build_app
from .reminder_fixtures import SMTPServer, maintenance_patient, password_authenticator

SWEEP_DAY = date(2026, 3, 25)


def sample_message(to="someone@example.test"):
    return build_message(to=to, subject="Hello", text="Plain text body.\n", html="<p>HTML body.</p>",
                         sender_name="Clinic appointments", headers={"X-Test": "yes"})


def one_due_reminder(app):
    with app.app_context():
        patient, _ = maintenance_patient(date(2026, 3, 2))
        db.session.commit()
        return patient.email


def sweep(app):
    with app.app_context():
        return run_sweep(clock=Clock.on_date(SWEEP_DAY, get_settings()), manual=True)


def reminder_row(app):
    with app.app_context():
        return db.session.scalar(select(Reminder).where(Reminder.kind == "window_upcoming"))


def test_message_has_date_id_text_and_html(app_ctx):
    """A built message has Date, Message-ID, the sender's display name, text and an HTML alternative."""
    message = email.message_from_bytes(sample_message().as_bytes(), policy=email.policy.default)
    assert message["Date"] and message["Message-ID"].startswith("<") and message["Message-ID"].endswith(">")
    assert message["From"] == "Clinic appointments <no-reply@clinic.invalid>"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().splitlines() == ["Plain text body."]
    assert message.get_body(("html",)).get_content().strip() == "<p>HTML body.</p>"


def test_file_backend_writes_eml_when_no_server(app_ctx):
    """Without MAIL_SERVER, a message becomes one complete .eml file under the outbox folder."""
    assert open_mailer().__class__.__name__ == "FileMailer"
    message = sample_message()
    send(message)
    folder = app_ctx.config["MAIL_OUTBOX_DIR"]
    names = os.listdir(folder)
    assert len(names) == 1 and names[0].endswith(".eml")
    with open(os.path.join(folder, names[0]), "rb") as handle:
        written = email.message_from_binary_file(handle, policy=email.policy.default)
    assert written["Message-ID"] == message["Message-ID"]


def test_default_outbox_is_in_the_instance_folder(tmp_path):
    """With no MAIL_OUTBOX_DIR configured, files go to instance/outbox/ (the embedded default)."""
    app = build_app(tmp_path, MAIL_OUTBOX_DIR=None)
    try:
        with app.app_context():
            assert outbox_dir() == os.path.join(app.instance_path, "outbox")
    finally:
        with app.app_context():
            db.engine.dispose()


def test_file_backend_error_is_a_mail_error(app_ctx, tmp_path):
    """An outbox folder that cannot be written gives a MailError, not a crash."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    app_ctx.config["MAIL_OUTBOX_DIR"] = str(blocker / "outbox")
    with pytest.raises(MailError):
        send(sample_message())


def test_smtp_login_delivers_and_keeps_message_id(make_app):
    """With a login configured the sweep authenticates, the server accepts, the row keeps the Message-ID."""
    server = SMTPServer(authenticator=password_authenticator("mailer", "s3cret"), auth_require_tls=False).start()
    try:
        app = make_app(**server.config(), MAIL_USERNAME="mailer", MAIL_PASSWORD="s3cret")
        address = one_due_reminder(app)
        assert sweep(app).sent == 1
        assert server.recipients() == [address]
        (received,) = server.messages
        assert reminder_row(app).message_id == received["Message-ID"]
    finally:
        server.stop()


def test_smtp_wrong_password_is_recorded_not_sent(make_app):
    """A refused login leaves the reminder pending with the server's answer as its error."""
    server = SMTPServer(authenticator=password_authenticator("mailer", "s3cret"), auth_require_tls=False).start()
    try:
        app = make_app(**server.config(), MAIL_USERNAME="mailer", MAIL_PASSWORD="wrong")
        one_due_reminder(app)
        result = sweep(app)
        assert result.sent == 0 and result.retrying == 1
        row = reminder_row(app)
        assert row.status == "pending" and "535" in row.last_error
        assert server.recipients() == []
    finally:
        server.stop()


@pytest.fixture
def certificate(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1 that the client's default context trusts."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    return context


def test_smtp_starttls(make_app, certificate):
    """MAIL_USE_STARTTLS upgrades the connection (the server insists on it) before sending."""
    server = SMTPServer(tls_context=certificate, require_starttls=True).start()
    try:
        app = make_app(**server.config(), MAIL_USE_STARTTLS=True)
        address = one_due_reminder(app)
        assert sweep(app).sent == 1
        assert server.recipients() == [address]
    finally:
        server.stop()


def test_smtp_without_starttls_is_refused_by_a_tls_only_server(make_app, certificate):
    """Against a server that requires STARTTLS, a plain connection fails and nothing is marked sent."""
    server = SMTPServer(tls_context=certificate, require_starttls=True).start()
    try:
        app = make_app(**server.config())
        one_due_reminder(app)
        assert sweep(app).sent == 0
        assert reminder_row(app).status == "pending" and reminder_row(app).last_error
    finally:
        server.stop()


def test_smtp_ssl(make_app, certificate):
    """MAIL_USE_SSL talks TLS from the first byte (SMTPS)."""
    server = SMTPServer(ssl_context=certificate).start()
    try:
        app = make_app(**server.config(), MAIL_USE_SSL=True)
        address = one_due_reminder(app)
        assert sweep(app).sent == 1
        assert server.recipients() == [address]
    finally:
        server.stop()


def test_smtp_connection_dropped_between_messages_is_reopened(make_app):
    """When the server drops the kept-open connection, the mailer reconnects and the next message arrives."""
    first = SMTPServer().start()
    second = None
    try:
        app = make_app(**first.config())
        with app.app_context(), open_mailer() as mailer:
            mailer.send(sample_message("first@example.test"))
            first.stop()  # a server restart: the open connection is gone
            second = SMTPServer(port=first.port).start()
            mailer.send(sample_message("second@example.test"))
        assert first.recipients() == ["first@example.test"]
        assert second.recipients() == ["second@example.test"]
    finally:
        first.stop()
        if second is not None:
            second.stop()
