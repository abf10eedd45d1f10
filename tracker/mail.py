"""One place that renders and delivers mail: .eml files by default, SMTP when configured.

Rendering: a template pair under templates/email/ (`<name>.txt` and `<name>.html`) becomes a
text part with an HTML alternative. Delivery: `open_mailer()` gives a mailer whose `send()`
returns only once the message is accepted (the file is in place, or the SMTP server said 250);
anything else raises MailError, so callers record a message as sent only after acceptance.
"""
from __future__ import annotations

import logging
import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.charset import Charset
from email.encoders import encode_base64
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid

from flask import current_app

log = logging.getLogger(__name__)


class MailError(Exception):
    """A message was not accepted; `connection` is True when the server itself was unreachable."""

    def __init__(self, message: str, connection: bool = False):
        super().__init__(message)
        self.connection = connection


@dataclass
class Attachment:
    """A file attached to a message."""

    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"
    params: dict = field(default_factory=dict)


def render_pair(name: str, **context) -> tuple[str, str]:
    """Render templates/email/<name>.txt and .html with the same context.

    The templates come from the app's Jinja environment (compiled once, then cached); mail needs
    no request context, so Flask's per-render context processors and signals are skipped.
    """
    env = current_app.jinja_env
    text = env.get_template(f"email/{name}.txt").render(context)
    html = env.get_template(f"email/{name}.html").render(context)
    return text, html


# Headers keep RFC 5322's 998 columns, so a long List-Unsubscribe URL stays a plain <URL>
# instead of being folded or becoming an encoded word. The parts' bodies are encoded already.
MAIL_POLICY = compat32.clone(max_line_length=998)
UTF8 = Charset("utf-8")  # base64 bodies for non-ASCII text


def _header_value(value: str):
    """ASCII as is; anything else as an RFC 2047 encoded word."""
    return value if value.isascii() else Header(value, UTF8, header_name=None)


def _text_part(content: str, subtype: str) -> MIMEText:
    """A text part: 7bit when ASCII with short lines (as EmailMessage.set_content did), else base64."""
    if not content.endswith("\n"):
        content += "\n"
    if content.isascii() and max(map(len, content.splitlines()), default=0) <= 998:
        part = MIMEText(content, subtype, "us-ascii", policy=MAIL_POLICY)
    else:
        part = MIMEText(content, subtype, "utf-8", policy=MAIL_POLICY)
    del part["MIME-Version"]  # only the top-level message carries it
    return part


def _attachment_part(attachment: "Attachment") -> MIMEBase:
    part = MIMEBase(attachment.maintype, attachment.subtype, policy=MAIL_POLICY, **(attachment.params or {}))
    del part["MIME-Version"]
    part.set_payload(attachment.content)
    encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
    return part


def build_message(*, to: str, subject: str, text: str, html: str, sender_name: str,
                  headers: dict | None = None, attachments=()) -> Message:
    """A MIME message with Date, Message-ID, a text part and its HTML alternative, then any
    attachments (multipart/mixed around the multipart/alternative)."""
    config = current_app.config
    from_address = config.get("MAIL_FROM_ADDRESS") or "no-reply@localhost"
    alternative = MIMEMultipart("alternative", policy=MAIL_POLICY)
    alternative.attach(_text_part(text, "plain"))
    alternative.attach(_text_part(html, "html"))
    if attachments:
        message = MIMEMultipart("mixed", policy=MAIL_POLICY)
        del alternative["MIME-Version"]
        message.attach(alternative)
        for attachment in attachments:
            message.attach(_attachment_part(attachment))
    else:
        message = alternative
    message["Subject"] = _header_value(subject)
    message["From"] = formataddr((sender_name, from_address))
    message["To"] = _header_value(to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = _header_value(value)
    return message


def outbox_dir() -> str:
    """Where the file backend writes: MAIL_OUTBOX_DIR, else instance/outbox/."""
    return current_app.config.get("MAIL_OUTBOX_DIR") or os.path.join(current_app.instance_path, "outbox")


class FileMailer:
    """Writes each message as an .eml file; a file that exists is a message accepted."""

    def __init__(self, directory: str):
        self.directory = directory

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send(self, message: Message) -> None:
        """Write the message atomically (temporary name, then rename)."""
        try:
            os.makedirs(self.directory, exist_ok=True)
            stem = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
            final = os.path.join(self.directory, f"{stem}.eml")
            partial = final + ".part"
            with open(partial, "wb") as handle:
                handle.write(message.as_bytes())
            os.replace(partial, final)  # readers never see half a message
        except OSError as error:
            raise MailError(f"could not write the message file: {error.strerror or error}") from error


class SMTPMailer:
    """Sends through one SMTP connection, opened at the first message and reopened if dropped."""

    def __init__(self, config):
        self.host = config["MAIL_SERVER"]
        self.port = int(config.get("MAIL_PORT") or 25)
        self.use_ssl = bool(config.get("MAIL_USE_SSL"))
        self.use_starttls = bool(config.get("MAIL_USE_STARTTLS"))
        self.username = config.get("MAIL_USERNAME")
        self.password = config.get("MAIL_PASSWORD")
        self.timeout = float(config.get("MAIL_TIMEOUT") or 10)
        self.connection: smtplib.SMTP | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        try:
            if self.use_ssl:
                connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                connection.ehlo()
                if self.use_starttls and not self.use_ssl:
                    connection.starttls(context=context)
                    connection.ehlo()
                if self.username:
                    connection.login(self.username, self.password or "")
            except BaseException:
                connection.close()
                raise
        except (smtplib.SMTPException, OSError) as error:
            raise MailError(f"mail server {self.host}:{self.port} unavailable: {_describe(error)}",
                            connection=True) from error
        return connection

    def send(self, message: Message) -> None:
        """Send one message; returns only when the server accepted it."""
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self.close()
            self.connection = self._connect()
            self._send_once(message)
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise MailError(f"mail server refused the message: {_describe(error)}") from error

    def _send_once(self, message: Message) -> None:
        try:
            self.connection.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise MailError(f"mail server refused the message: {_describe(error)}") from error

    def close(self) -> None:
        """Say QUIT if possible, drop the connection either way."""
        if self.connection is None:
            return
        try:
            self.connection.quit()
        except (smtplib.SMTPException, OSError):
            self.connection.close()
        self.connection = None


def _describe(error: BaseException) -> str:
    """A short description of a delivery error that never repeats the recipient's address."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in error.recipients.values()})
        return f"recipient refused ({', '.join(str(c) for c in codes)})"
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
        return f"{error.smtp_code} {text}"[:300]
    return f"{type(error).__name__}: {error}"[:300]


def open_mailer():
    """The configured backend: SMTP when MAIL_SERVER is set, else .eml files."""
    config = current_app.config
    if config.get("MAIL_SERVER"):
        return SMTPMailer(config)
    return FileMailer(outbox_dir())


def send(message: Message) -> None:
    """Deliver a single message through the configured backend (raises MailError)."""
    with open_mailer() as mailer:
        mailer.send(message)
