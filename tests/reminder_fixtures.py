"""Helpers for the reminder, mail and scheduler tests: a real SMTP server and clinic facts."""
import asyncio
import email
import email.policy
import socket
import threading
import uuid
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tracker.extensions import db
from tracker.models import Appointment, AppointmentType, Chair
from tracker.services.clinic import get_settings
from tracker.services.infusions import record_infusion

from .factories import make_course, make_patient

CLINIC_TZ = "America/New_York"


def free_port() -> int:
    """A TCP port nobody listens on right now (aiosmtpd cannot pick one itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    """Keeps every message the server accepts (after `delay` seconds, like a slow server)."""

    def __init__(self, delay: float = 0.0):
        self.received = []
        self.lock = threading.Lock()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class SMTPServer:
    """A real SMTP server on localhost, started and stopped by the test."""

    def __init__(self, port=None, delay: float = 0.0, **controller_options):
        self.port = port or free_port()
        self.handler = RecordingHandler(delay)
        self.options = controller_options
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        """The accepted messages, parsed."""
        with self.handler.lock:
            raw = [content for _, content in self.handler.received]
        return [email.message_from_bytes(content, policy=email.policy.default) for content in raw]

    def recipients(self) -> list[str]:
        """One entry per accepted message and recipient."""
        with self.handler.lock:
            return [rcpt for rcpts, _ in self.handler.received for rcpt in rcpts]

    def config(self) -> dict:
        """App config that sends through this server."""
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_TIMEOUT": 5}


def password_authenticator(username: str, password: str):
    """An aiosmtpd authenticator accepting one login (a failure must not be 'handled')."""

    def authenticate(server, session, envelope, mechanism, auth_data):
        if auth_data.login == username.encode() and auth_data.password == password.encode():
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    return authenticate


def local(day: date, hour: int, minute: int = 0, tz: str = CLINIC_TZ) -> datetime:
    """A clinic-local wall-clock time as an aware UTC instant."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def maintenance_patient(anchor: date, **patient_kw):
    """A patient whose one-infusion series ended on `anchor` (window anchor + 30 .. + 90)."""
    patient = make_patient(**patient_kw)
    course = make_course(patient, series_planned=1, opened_on=anchor)
    settings = get_settings()
    record_infusion(course, actor="system", settings=settings, today=anchor,
                    given_at=local(anchor, 10, tz=settings.timezone), require_early_reason=False)
    db.session.flush()
    return patient, course


def booster(course, day: date):
    """A later qualifying infusion: re-anchors the window."""
    settings = get_settings()
    return record_infusion(course, actor="system", settings=settings, today=day,
                           given_at=local(day, 10, tz=settings.timezone), require_early_reason=False)


def appointment_type():
    """One appointment type (created once per database)."""
    kind = db.session.scalar(db.select(AppointmentType).limit(1))
    if kind is None:
        kind = AppointmentType(name="Maintenance", prep_min=15, infusion_min=40, recovery_min=45)
        db.session.add(kind)
        db.session.flush()
    return kind


def book(patient, course, start: datetime, status: str = "booked") -> Appointment:
    """An appointment row made directly with the model (the booking rules are tested elsewhere),
    on a chair of its own so that appointments never clash."""
    kind = appointment_type()
    chair = Chair(name=f"Chair {uuid.uuid4().hex[:8]}")
    db.session.add(chair)
    db.session.flush()
    appointment = Appointment(uid=f"{uuid.uuid4()}@test", patient_id=patient.id,
                              course_id=course.id if course else None, appointment_type_id=kind.id,
                              chair_id=chair.id, start_at=start, end_at=start + timedelta(minutes=100),
                              status=status)
    db.session.add(appointment)
    db.session.flush()
    return appointment


def concurrent_sweeps(app, day: date, workers: int = 2) -> list:
    """`workers` sweeps of `day` started together (threads, separate connections); the errors
    they raised (none, when all went well)."""
    import threading

    from tracker.reminders.clock import Clock
    from tracker.reminders.sending import run_sweep

    barrier, errors = threading.Barrier(workers), []

    def sweep(worker):
        try:
            with app.app_context():
                clock = Clock.on_date(day, get_settings())
                barrier.wait(timeout=10)
                run_sweep(clock=clock, manual=True, worker=worker)
        except Exception as error:  # noqa: BLE001  (surfaced to the caller)
            errors.append(error)

    threads = [threading.Thread(target=sweep, args=(f"sweeper-{n}",)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors
