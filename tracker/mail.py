"""One place that renders and delivers mail: .eml files by default, SMTP when configured.

Rendering: a template pair under templates/email/ (`<name>.txt` and `<name>.html`) becomes a
text part with an HTML alternative, built with the SMTP email policy. Delivery: `open_mailer()`
gives a mailer whose `send()` returns only once the message is accepted (the file is in place,
or the SMTP server said 250); anything else raises MailError, so callers record a message as
sent only after acceptance.

Addresses go out with their domain IDNA-encoded; a local part that is not ASCII needs a server
that offers SMTPUTF8, and without one that message alone fails (MailError, permanent). Every
exchange with the server (opening the connection, or one message) has a total deadline,
MAIL_DEADLINE_SECONDS, enforced by a watchdog that shuts the socket: a server that trickles a
byte at a time cannot hold a sweep past it.
"""
from __future__ import annotations

import functools
import logging
import os
import secrets
import smtplib
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import headerregistry, policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from flask import current_app

from .validators import check_email

log = logging.getLogger(__name__)

FILE_MODE = 0o600  # outbox files hold patients' addresses: owner only
FOLDER_MODE = 0o700


class MailError(Exception):
    """A message was not accepted. `connection`: the server itself was unreachable or too slow
    (stop sending for now); `permanent`: retrying this message cannot help."""

    def __init__(self, message: str, connection: bool = False, permanent: bool = False):
        super().__init__(message)
        self.connection = connection
        self.permanent = permanent


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


class _HeaderClasses(headerregistry.HeaderRegistry):
    """The standard header registry, but each header class is built once: Python's builds a
    new class for every header of every message, most of the cost of building a message."""

    def __init__(self):
        super().__init__()
        self._built: dict[str, type] = {}

    def __getitem__(self, name):
        key = name.lower()
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = super().__getitem__(name)
        return built


class MailPolicy(policy.EmailPolicy):
    """The SMTP policy, with an ASCII header value kept as given and parsed only when read.

    The standard policy parses every header when it is set and refolds it when written, about
    three quarters of the cost of a message; an ASCII value within the line limit comes out
    the same either way. Anything else (non-ASCII, over-long) takes the standard path.
    """

    def header_store_parse(self, name, value):
        if isinstance(value, str) and not hasattr(value, "name") and value.isascii():
            if "\r" in value or "\n" in value:
                raise ValueError("Header values may not contain linefeed or carriage return characters")
            return (name, value)
        return super().header_store_parse(name, value)

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        return _parsed_header(self, name, value)


@functools.lru_cache(maxsize=512)
def _parsed_header(mail_policy: MailPolicy, name: str, value: str):
    """A stored ASCII header, parsed once however often it is read (header objects are
    immutable strings, safe to share)."""
    return policy.EmailPolicy.header_fetch_parse(mail_policy, name, value)


# Headers keep RFC 5322's 998 columns, so a long List-Unsubscribe URL stays a plain <URL>
# instead of being folded or becoming an encoded word.
# cte_type 7bit: non-ASCII bodies go quoted-printable or base64, for servers without 8BITMIME.
MAIL_POLICY = MailPolicy(linesep="\r\n", max_line_length=998, cte_type="7bit",
                         header_factory=_HeaderClasses())


# Boundaries drawn once per process: a boundary must only be absent from the message's own
# parts, and nobody can put 128 secret random bits into a body. Fixed per process, the headers
# naming them are parsed once (_parsed_header) and the generator compiles no regex per message.
BOUNDARIES = {kind: f"=_{kind}_{secrets.token_hex(16)}" for kind in ("alternative", "mixed")}


def transport_address(address: str) -> tuple[str, bool]:
    """(the address as sent, whether it needs SMTPUTF8); MailError (permanent) when malformed.

    The domain is IDNA-encoded (müller.de -> xn--mller-kva.de), so only a local part that is
    not ASCII needs SMTPUTF8. The error names the problem, never the address.
    """
    try:
        checked = check_email(address)
    except ValueError as error:
        raise MailError(f"the recipient's address is not valid: {error}", permanent=True) from None
    return checked.transport, checked.smtputf8


def build_message(*, to: str, subject: str, text: str, html: str, sender_name: str,
                  headers: dict | None = None, attachments=()) -> EmailMessage:
    """A message with Date, Message-ID, a text part and its HTML alternative, then any
    attachments (multipart/mixed around the multipart/alternative)."""
    config = current_app.config
    from_address = config.get("MAIL_FROM_ADDRESS") or "no-reply@localhost"
    recipient, _ = transport_address(to)
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = subject
    message["From"] = formataddr((sender_name, from_address))
    message["To"] = recipient
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text if text.endswith("\n") else text + "\n")
    message.make_alternative(boundary=BOUNDARIES["alternative"])
    message.add_alternative(html if html.endswith("\n") else html + "\n", subtype="html")
    if attachments:
        message.make_mixed(boundary=BOUNDARIES["mixed"])
    for attachment in attachments:
        message.add_attachment(attachment.content, maintype=attachment.maintype,
                               subtype=attachment.subtype, filename=attachment.filename,
                               params=attachment.params or {})
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # only the top-level message carries it
    return message


def needs_smtputf8(message: EmailMessage) -> bool:
    """True when an address of the message is not ASCII (its local part, after IDNA); a
    display name may be anything (it travels as an encoded word)."""
    for name, stored in message.raw_items():
        if name.lower() not in ("from", "to", "sender") or (isinstance(stored, str) and stored.isascii()):
            continue  # an ASCII header holds only ASCII addresses: no need to parse it
        header = message.policy.header_fetch_parse(name, stored)
        if not all(address.addr_spec.isascii() for address in header.addresses):  # type: ignore[attr-defined]
            return True
    return False


def message_bytes(message: EmailMessage) -> bytes:
    """The message as written to a file: raw UTF-8 headers only where an address needs them."""
    if needs_smtputf8(message):
        return message.as_bytes(policy=message.policy.clone(utf8=True))  # type: ignore[call-arg]
    return message.as_bytes()


def outbox_dir() -> str:
    """Where the file backend writes: MAIL_OUTBOX_DIR, else instance/outbox/."""
    return current_app.config.get("MAIL_OUTBOX_DIR") or os.path.join(current_app.instance_path, "outbox")


class FileMailer:
    """Writes each message as an .eml file (mode 0600, in a 0700 folder); a file that exists
    is a message accepted."""

    def __init__(self, directory: str):
        self.directory = directory

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send(self, message: EmailMessage) -> None:
        """Write the message atomically (temporary name, then rename)."""
        try:
            os.makedirs(self.directory, mode=FOLDER_MODE, exist_ok=True)
            stem = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
            final = os.path.join(self.directory, f"{stem}.eml")
            partial = final + ".part"
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(message_bytes(message))
            os.replace(partial, final)  # readers never see half a message
        except OSError as error:
            raise MailError(f"could not write the message file: {error.strerror or error}") from error


class Watchdog:
    """Shuts a connection's socket when one exchange with the server runs past its deadline.

    A socket timeout bounds each read, not the conversation: a server sending one byte every
    few seconds never trips it. Shutting the socket from this timer thread wakes the blocked
    read, which then fails like a dropped connection.
    """

    def __init__(self, connection: smtplib.SMTP, seconds: float):
        self.connection = connection
        self.seconds = seconds
        self.expired = False
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        sock = self.connection.sock
        if sock is not None:
            try:  # noqa: SIM105
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        return False


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
        self.deadline = float(config.get("MAIL_DEADLINE_SECONDS") or 60)
        self.connection: smtplib.SMTP | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _too_slow(self) -> MailError:
        return MailError(f"mail server {self.host}:{self.port} did not finish within "
                         f"{self.deadline:g} seconds", connection=True)

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        started = time.monotonic()
        # No host given: nothing connects until connect(), inside the watchdog.
        connection: smtplib.SMTP
        if self.use_ssl:
            connection = smtplib.SMTP_SSL(timeout=min(self.timeout, self.deadline), context=context)
        else:
            connection = smtplib.SMTP(timeout=min(self.timeout, self.deadline))
        connection._host = self.host  # type: ignore[attr-defined]  # as __init__ would: the name TLS checks
        watchdog = Watchdog(connection, self.deadline)
        try:
            with watchdog:
                connection.connect(self.host, self.port)
                connection.ehlo()
                if self.use_starttls and not self.use_ssl:
                    connection.starttls(context=context)
                    connection.ehlo()
                if self.username:
                    connection.login(self.username, self.password or "")
        except Exception as error:
            connection.close()
            if watchdog.expired:
                raise self._too_slow() from error
            raise MailError(f"mail server {self.host}:{self.port} unavailable: {_describe(error)}",
                            connection=True) from error
        if watchdog.expired:  # it fired just as the last answer came: the socket is gone
            connection.close()
            raise self._too_slow()
        log.debug("connected to the mail server in %.2f s", time.monotonic() - started)
        return connection

    def send(self, message: EmailMessage) -> None:
        """Send one message; returns only when the server accepted it."""
        if self.connection is None:
            self.connection = self._connect()
        try:
            self._send_once(message)
        except smtplib.SMTPServerDisconnected:
            # A kept-open connection the server dropped between messages: reopen, try once more.
            self.close()
            self.connection = self._connect()
            try:
                self._send_once(message)
            except smtplib.SMTPServerDisconnected as error:
                self.close()
                raise MailError(f"mail server {self.host}:{self.port} dropped the connection",
                                connection=True) from error

    def _send_once(self, message: EmailMessage) -> None:
        """One message within the deadline; SMTPServerDisconnected is left to the caller."""
        assert self.connection is not None
        if needs_smtputf8(message) and not self.connection.has_extn("smtputf8"):
            raise MailError("the mail server does not accept internationalised addresses "
                            "(no SMTPUTF8); the address cannot be delivered through it", permanent=True)
        watchdog = Watchdog(self.connection, self.deadline)
        try:
            with watchdog:
                self.connection.send_message(message)
        except smtplib.SMTPServerDisconnected:
            if watchdog.expired:
                self.close()
                raise self._too_slow() from None
            raise
        except Exception as error:  # any failure is this message's, never the caller's crash
            self.close()
            if watchdog.expired:
                raise self._too_slow() from error
            if isinstance(error, smtplib.SMTPNotSupportedError):
                raise MailError(f"mail server cannot take this message: {_describe(error)}",
                                permanent=True) from error
            raise MailError(f"mail server refused the message: {_describe(error)}") from error
        if watchdog.expired:  # accepted just as the watchdog fired: the socket is gone
            self.close()

    def close(self) -> None:
        """Say QUIT if possible, drop the connection either way."""
        if self.connection is None:
            return
        try:
            with Watchdog(self.connection, min(self.deadline, 5)):
                self.connection.quit()
        except Exception:  # noqa: BLE001
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
    if isinstance(error, (smtplib.SMTPException, OSError)):
        return f"{type(error).__name__}: {error}"[:300]
    return type(error).__name__  # anything else may quote the message it choked on


def open_mailer():
    """The configured backend: SMTP when MAIL_SERVER is set, else .eml files."""
    config = current_app.config
    if config.get("MAIL_SERVER"):
        return SMTPMailer(config)
    return FileMailer(outbox_dir())


def send(message: EmailMessage) -> None:
    """Deliver a single message through the configured backend (raises MailError)."""
    with open_mailer() as mailer:
        mailer.send(message)
