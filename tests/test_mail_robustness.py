"""Mail that one message cannot stop: internationalised addresses, slow servers, odd failures."""

import socket
import threading
import time
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.mail import MailError, build_message, open_mailer
from tracker.models import Reminder
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from .reminder_fixtures import SMTPServer, maintenance_patient

ANCHOR = date(2026, 3, 2)
SWEEP_DAY = date(2026, 3, 25)  # ANCHOR's window_upcoming reminder is due this day
UTF8_LOCAL = "josé.müller@bücher.example"  # needs SMTPUTF8
IDNA_ONLY = "ana@bücher.example"  # ASCII local part: goes out as ana@xn--bcher-kva.example
IDNA_ONLY_SENT = "ana@xn--bcher-kva.example"


def seed(app, count: int, special=()) -> list[str]:
    """`count` patients due a window reminder on SWEEP_DAY; the last ones get `special` addresses."""
    addresses = [f"due{n}@example.test" for n in range(count - len(special))] + list(special)
    with app.app_context():
        for address in addresses:
            maintenance_patient(ANCHOR, email=address)
        db.session.commit()
    return addresses


def sweep(app, manual=True):
    """One sweep on SWEEP_DAY, as `reminders run --on` would."""
    with app.app_context():
        return run_sweep(clock=Clock.on_date(SWEEP_DAY, get_settings()), manual=manual)


def rows(app) -> list[Reminder]:
    """Every reminder row, detached from the session."""
    with app.app_context():
        found = db.session.scalars(select(Reminder).order_by(Reminder.id)).all()
        db.session.expunge_all()
        return found


@pytest.fixture
def utf8_server():
    """A real SMTP server that offers SMTPUTF8."""
    server = SMTPServer(enable_SMTPUTF8=True).start()
    yield server
    server.stop()


@pytest.fixture
def plain_server():
    """A real SMTP server that does not offer SMTPUTF8."""
    server = SMTPServer(enable_SMTPUTF8=False).start()
    yield server
    server.stop()


def test_two_hundred_with_an_internationalised_address_all_delivered(utf8_server, make_app):
    """With SMTPUTF8 offered, 200 patients (one UTF-8 local part, one IDNA domain) all get their
    reminder: the domain goes out IDNA-encoded, nothing is left 'sending'."""
    app = make_app(**utf8_server.config())
    addresses = seed(app, 200, special=(UTF8_LOCAL, IDNA_ONLY))
    result = sweep(app)
    assert result.sent == 200 and result.failed == 0 and result.retrying == 0
    expected = [a for a in addresses if a not in (UTF8_LOCAL, IDNA_ONLY)]
    expected += ["josé.müller@xn--bcher-kva.example", IDNA_ONLY_SENT]
    assert Counter(utf8_server.recipients()) == Counter(expected)
    assert Counter(r.status for r in rows(app)) == Counter({"sent": 200})
    with utf8_server.handler.lock:
        raw = [content for _, content in utf8_server.handler.received]
    assert (
        sum("To: josé.müller@xn--bcher-kva.example\r\n".encode() in content for content in raw) == 1
    )


def test_server_without_smtputf8_fails_that_one_message_visibly(
    plain_server, make_app, login_as, client
):
    """Without SMTPUTF8, the UTF-8 address fails at once with a clear reason (shown on the
    reminders log) and the other 199, the IDNA-only one included, are delivered."""
    app = make_app(**plain_server.config())
    seed(app, 200, special=(UTF8_LOCAL, IDNA_ONLY))
    result = sweep(app)
    assert result.sent == 199 and result.failed == 1 and result.retrying == 0
    assert IDNA_ONLY_SENT in plain_server.recipients() and len(plain_server.recipients()) == 199
    statuses = Counter(r.status for r in rows(app))
    assert statuses == Counter({"sent": 199, "failed": 1})
    (failed,) = [r for r in rows(app) if r.status == "failed"]
    assert "SMTPUTF8" in failed.last_error and "josé" not in failed.last_error
    login_as("frontdesk")
    page = client.get("/reminders/?status=failed").get_data(as_text=True)
    assert "does not accept internationalised addresses" in page


class TricklingServer:
    """A TCP server of our own that sends an SMTP banner one byte every `interval` seconds."""

    BANNER = b"220 slow.example ESMTP ready\r\n"

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.accepted = 0
        self.threads: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _serve(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            worker = threading.Thread(target=self._trickle, args=(connection,), daemon=True)
            self.threads.append(worker)
            worker.start()

    def _trickle(self, connection):
        with connection:
            for byte in self.BANNER:
                if self.stopping.wait(self.interval):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        for worker in self.threads:
            worker.join(timeout=5)
        self.listener.close()

    def config(self) -> dict:
        """App config that sends through this server (a 10 s read timeout it never trips)."""
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_TIMEOUT": 10}


@pytest.fixture
def trickling_server():
    server = TricklingServer().start()
    yield server
    server.stop()


def test_trickling_server_cannot_hang_the_sweep(trickling_server, plain_server, make_app):
    """A server sending its banner a byte a second: the sweep ends at its 2 s deadline, the first
    message waits for a retry with the reason, the rest are given back untried; a later sweep
    through a working server sends all three."""
    app = make_app(**trickling_server.config(), MAIL_DEADLINE_SECONDS=2)
    seed(app, 3)
    started = time.monotonic()
    result = sweep(app)
    elapsed = time.monotonic() - started
    # Without the deadline the banner alone takes half a minute and each message as long again;
    # the margin is for a machine busy with other tests (the deadline itself is asserted below).
    assert elapsed < 20, f"the sweep took {elapsed:.1f} s"
    assert result.sent == 0 and result.retrying == 1 and "within 2 seconds" in result.error
    first, *rest = rows(app)
    assert first.status == "pending" and first.attempts == 1 and first.next_attempt_at is not None
    assert "did not finish within 2 seconds" in first.last_error
    assert [(r.status, r.attempts) for r in rest] == [("pending", 0), ("pending", 0)]
    assert trickling_server.accepted == 1

    app.config.update(plain_server.config())  # a working server now
    assert sweep(app).sent == 3
    assert Counter(r.status for r in rows(app)) == Counter({"sent": 3})


def test_slow_answer_to_a_message_is_cut_at_the_deadline(make_app):
    """A server that takes 4 s to answer the message, under a 10 s read timeout: the 1 s deadline
    ends the exchange and the message is retried later, not waited for."""
    server = SMTPServer(delay=4).start()
    try:
        app = make_app(**{**server.config(), "MAIL_TIMEOUT": 10}, MAIL_DEADLINE_SECONDS=1)
        seed(app, 2)
        started = time.monotonic()
        result = sweep(app)
        assert time.monotonic() - started < 3
        assert result.sent == 0 and result.retrying == 1
        assert [r.status for r in rows(app)] == ["pending", "pending"]
    finally:
        server.stop()


class ExplodingMailer:
    """A mailer whose send raises something no mail code expects, for one recipient."""

    def __init__(self, inner, bad_address: str):
        self.inner = inner
        self.bad_address = bad_address
        self.closed = 0

    def __enter__(self):
        self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        return self.inner.__exit__(*exc)

    def send(self, message):
        if str(message["To"]) == self.bad_address:
            raise UnicodeEncodeError("ascii", self.bad_address, 0, 1, "boom")
        self.inner.send(message)

    def close(self):
        self.closed += 1


def test_unexpected_error_is_that_messages_failure(plain_server, make_app, monkeypatch):
    """An exception that is not a mail error, raised for one message, is recorded on that row
    (type only, no address) and the other messages still go out."""
    app = make_app(**plain_server.config())
    addresses = seed(app, 3)
    made = []

    def exploding_mailer():
        made.append(ExplodingMailer(open_mailer(), addresses[1]))
        return made[-1]

    monkeypatch.setattr("tracker.reminders.sending.open_mailer", exploding_mailer)
    result = sweep(app)
    assert result.sent == 2 and result.retrying == 1
    assert sorted(plain_server.recipients()) == sorted([addresses[0], addresses[2]])
    failed = [r for r in rows(app) if r.status == "pending"]
    assert (
        len(failed) == 1
        and failed[0].last_error == "could not send the message: UnicodeEncodeError"
    )
    assert made[0].closed == 1


def test_error_escaping_the_batch_leaves_nothing_sending(plain_server, make_app, monkeypatch):
    """When something outside one message's handling breaks mid-batch, the batch's unsent rows
    are given back at once instead of waiting 'sending' for their lease to end."""
    app = make_app(**plain_server.config())
    seed(app, 4)
    calls = []

    def breaks_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("database gone")
        return original(*args, **kwargs)

    from tracker.reminders import sending

    original = sending.deliver_one
    monkeypatch.setattr(sending, "deliver_one", breaks_on_third)
    with pytest.raises(RuntimeError):
        sweep(app)
    statuses = [r.status for r in rows(app)]
    assert statuses.count("sent") == 2 and statuses.count("pending") == 1
    assert statuses.count("sending") == 1  # the row in hand when it broke: its fate is unknown


def test_malformed_stored_address_fails_that_row_only(plain_server, make_app):
    """An address stored before addresses were checked (a@b..com) fails its row at once with
    the reason; the others are delivered."""
    app = make_app(**plain_server.config())
    seed(app, 2, special=("a@b..com",))
    result = sweep(app)
    assert result.sent == 1 and result.failed == 1
    (failed,) = [r for r in rows(app) if r.status == "failed"]
    assert "not valid" in failed.last_error and "a@b..com" not in failed.last_error


def test_message_policy_and_idna(app_ctx):
    """Messages are built with the SMTP policy (CRLF, 998 columns), the domain IDNA-encoded;
    a malformed address is a permanent MailError."""
    message = build_message(
        to="ana@Bücher.example",
        subject="Grüße",
        text="Hallo\n",
        html="<p>Hallo</p>",
        sender_name="Praxis Süd",
    )
    assert message.policy.linesep == "\r\n" and message.policy.max_line_length == 998
    raw = message.as_bytes()
    assert b"To: ana@xn--bcher-kva.example\r\n" in raw and raw.isascii()  # no 8BITMIME needed
    assert raw.count(b"MIME-Version") == 1  # the top-level message only
    assert {part["Content-Transfer-Encoding"] for part in message.iter_parts()} <= {
        "7bit",
        "quoted-printable",
        "base64",
    }
    with pytest.raises(MailError) as error:
        build_message(to="a@b..com", subject="x", text="x", html="x", sender_name="x")
    assert error.value.permanent


def test_lease_is_renewed_while_a_slow_batch_is_sent(make_app):
    """A batch that outlasts its 2 s lease renews it before sending on, so a second sender
    starting meanwhile finds nothing to take and every reminder reaches the server once."""
    server = SMTPServer(delay=0.5).start()
    try:
        app = make_app(**server.config(), REMINDER_LEASE_SECONDS=2, REMINDER_BATCH_SIZE=10)
        addresses = seed(app, 7)
        results = {}

        def sender(worker: str, wait: float):
            time.sleep(wait)
            with app.app_context():
                results[worker] = run_sweep(
                    clock=Clock.on_date(SWEEP_DAY, get_settings()), worker=worker
                )

        threads = [
            threading.Thread(target=sender, args=("first", 0)),
            threading.Thread(target=sender, args=("second", 2.6)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert Counter(server.recipients()) == Counter(addresses)
        assert (results["first"].sent, results["second"].sent) == (7, 0)
        assert Counter(r.status for r in rows(app)) == Counter({"sent": 7})
    finally:
        server.stop()
