"""Many processes, one PostgreSQL database: two gunicorn web processes and two schedulers at once.

Everything runs as it would in production: `flask init-db`, `flask create-user`, `flask import`,
`gunicorn wsgi:app` (one worker each, free loopback ports), `flask --app tracker scheduler`
twice and `flask reminders run` twice, mail written as .eml files. The test checks that the
clashing bookings made through both web processes leave exactly one winner and that every
reminder goes out exactly once.
"""
import csv
import email
import email.policy
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, time as wall_time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from bench.web import CSRF_RE, Client, free_port

from .scratch_databases import scratch_postgres_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
PASSWORD = "quiet harbour lantern 7731"
ZONE = ZoneInfo("America/New_York")  # the clinic settings' default zone

pytestmark = pytest.mark.slow


@pytest.fixture
def deploy_url():
    """A brand-new PostgreSQL database for this test, dropped afterwards."""
    if not TEST_DATABASE_URL:
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does) to run the multi-process test")
    with scratch_postgres_database(TEST_DATABASE_URL, "deploy") as url:
        yield url


class Processes:
    """Child processes of one test, stopped (SIGTERM, then SIGKILL) at the end."""

    def __init__(self, env, log_dir):
        self.env = env
        self.log_dir = log_dir
        self.children = []

    def start(self, name, args):
        log = open(os.path.join(self.log_dir, f"{name}.log"), "wb")
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.children.append((name, proc, log))
        return proc

    def run(self, *args, stdin=None):
        """`flask --app tracker ARGS`, to completion; asserts it succeeded."""
        result = subprocess.run([os.path.join(BIN, "flask"), "--app", "tracker", *args], cwd=ROOT,
                                env=self.env, input=stdin, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"flask {args[0]}: {result.stdout[-1500:]}{result.stderr[-1500:]}"
        return result

    def logs(self):
        text_parts = []
        for name, _proc, _log in self.children:
            with open(os.path.join(self.log_dir, f"{name}.log"), "rb") as handle:
                text_parts.append(f"--- {name}\n" + handle.read().decode(errors="replace")[-3000:])
        return "\n".join(text_parts)

    def stop(self):
        for _name, proc, _log in self.children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _name, proc, log in self.children:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


@pytest.fixture
def processes(deploy_url, tmp_path):
    """Environment shared by every process (same database, same secret key, file mail)."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("TRACKER_") or name in ("FLASK_DEBUG", "TEST_DATABASE_URL"):
            del env[name]
    env.update({
        "DATABASE_URL": deploy_url,
        "TRACKER_SECRET_KEY": "deploy-test-" + secrets.token_hex(16),
        "TRACKER_MAIL_SERVER": "",
        "TRACKER_MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "TRACKER_LOG_LEVEL": "WARNING",
        "PYTHONPATH": ROOT,
    })
    group = Processes(env, str(tmp_path))
    yield group
    group.stop()


def write_clinic_csv(directory, count, today):
    """Patients in maintenance whose window opens in 7 days: a window reminder is due today."""
    anchor = today - timedelta(days=23)
    patients = directory / "patients.csv"
    infusions = directory / "infusions.csv"
    with open(patients, "w", newline="") as p_file, open(infusions, "w", newline="") as i_file:
        p_rows, i_rows = csv.writer(p_file), csv.writer(i_file)
        p_rows.writerow(["mrn", "first_name", "last_name", "date_of_birth", "email", "phone",
                         "email_consent", "indication", "series_planned", "min_days", "max_days", "mode"])
        i_rows.writerow(["mrn", "given_at", "outcome", "dose_mg_per_kg", "weight_kg", "duration_min",
                         "pain_before", "pain_after", "notes"])
        for n in range(count):
            consent = "no" if n % 5 == 4 else "yes"
            p_rows.writerow([f"D{n:04d}", "Sam", f"Deploy{n}", "1970-01-01", f"d{n}@example.org", "",
                             consent, "CRPS", "6", "30", "90", "scheduled"])
            for k in range(6):
                day = anchor - timedelta(days=2 * (5 - k))
                i_rows.writerow([f"D{n:04d}", f"{day.isoformat()}T10:00", "completed", "0.5", "70",
                                 "40", "6", "3", ""])
    return str(patients), str(infusions)


def prepare_clinic(url):
    """Chairs, opening hours every day, one appointment type, reminders sent at any hour."""
    from tracker import create_app
    from tracker.extensions import db
    from tracker.models import AppointmentType, Chair, OpeningHours
    from tracker.services.clinic import get_settings

    app = create_app({"TESTING": True, "SECRET_KEY": "deploy-test-setup-key",
                      "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        for n in (1, 2):
            db.session.add(Chair(name=f"Chair {n}", position=n, active=True))
        for weekday in range(7):
            db.session.add(OpeningHours(weekday=weekday, opens=wall_time(6), closes=wall_time(22)))
        db.session.add(AppointmentType(name="Booster", prep_min=15, infusion_min=40, recovery_min=45))
        settings = get_settings()
        settings.send_hours_start, settings.send_hours_end = 0, 24  # whatever hour CI runs at
        settings.phone = "(704) 555-0100"  # patient mail waits until the clinic has a phone
        db.session.commit()
        chairs = dict(db.session.execute(text("SELECT name, id FROM chairs")).all())
        patients = dict(db.session.execute(text("SELECT mrn, id FROM patients")).all())
        db.session.remove()
        db.engine.dispose()
    return chairs, patients


def wait_until(predicate, timeout, what, logs):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}\n{logs()}")


def query(url, sql, **params):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def book(client, patient_id, chair_id, start_local, barrier=None):
    """POST the booking form (another time, typed in clinic time) and return the status code."""
    status, _headers, page = client.request("GET", f"/schedule/book?patient_id={patient_id}")
    assert status == 200, page[:500]
    token = CSRF_RE.search(page.decode())
    form = {"csrf_token": token.group(1) or token.group(2), "slot": "other",
            "start_at": start_local.strftime("%Y-%m-%dT%H:%M"), "chair_id": str(chair_id),
            "appointment_type_id": _type_id(page), "clinician_id": "", "notes": ""}
    if barrier is not None:
        barrier.wait(timeout=30)
    status, _headers, _body = client.request("POST", f"/schedule/book?patient_id={patient_id}", form)
    return status


def _type_id(page: bytes) -> str:
    import re

    match = re.search(rb'name="appointment_type_id"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="appointment_type_id"', page)
    assert match, "the booking form has no appointment type"
    return (match.group(1) or match.group(2)).decode()


def at_once(*calls):
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def runner(index, call):
        results[index] = call(barrier)

    threads = [threading.Thread(target=runner, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def outbox_messages(directory):
    """Message-ID and recipient of every .eml file written."""
    found = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            if name.endswith(".eml"):
                with open(os.path.join(root, name), "rb") as handle:
                    message = email.message_from_binary_file(handle, policy=email.policy.default)
                found.append((message["Message-ID"], message["To"]))
    return found


def test_two_web_and_two_scheduler_processes_share_one_database(deploy_url, processes, tmp_path):
    """Clashing bookings through two web processes: one wins; two schedulers and two sweeps: each reminder once."""
    run = processes.run
    run("init-db")
    run("create-user", "desk1@clinic.example", "--role", "frontdesk", "--password-stdin", stdin=PASSWORD + "\n")
    run("create-user", "desk2@clinic.example", "--role", "frontdesk", "--password-stdin", stdin=PASSWORD + "\n")
    today = datetime.now(ZONE).date()
    run("import", *write_clinic_csv(tmp_path, 10, today))
    chairs, patients = prepare_clinic(deploy_url)
    consenting = [mrn for mrn in patients if int(mrn[1:]) % 5 != 4]

    # Two schedulers start together: both sweep at once, at start-up.
    flask = os.path.join(BIN, "flask")
    for name in ("scheduler1", "scheduler2"):
        processes.start(name, [flask, "--app", "tracker", "scheduler"])
    ports = [free_port(), free_port()]
    for index, port in enumerate(ports, 1):
        processes.start(f"web{index}", [os.path.join(BIN, "gunicorn"), "--workers", "1", "--bind",
                                        f"127.0.0.1:{port}", "wsgi:app"])

    def window_reminders_done():
        rows = query(deploy_url, "SELECT status, count(*) FROM reminders "
                     "WHERE kind = 'window_upcoming' GROUP BY status")
        return dict(rows).get("sent", 0) == len(consenting) and sum(c for _, c in rows) == len(patients)

    wait_until(window_reminders_done, 120, "both schedulers' first sweeps", processes.logs)
    for port in ports:
        wait_until(lambda: _healthy(port), 60, f"gunicorn on {port}", processes.logs)

    web1, web2 = Client(ports[0]), Client(ports[1])
    web1.login("desk1@clinic.example", PASSWORD)
    web2.login("desk2@clinic.example", PASSWORD)
    tomorrow = today + timedelta(days=1)
    ten, noon = datetime.combine(tomorrow, wall_time(10)), datetime.combine(tomorrow, wall_time(12))
    p = [patients[mrn] for mrn in consenting]

    # The same chair and time through both web processes at once: exactly one wins.
    clash = at_once(lambda b: book(web1, p[0], chairs["Chair 1"], ten, b),
                    lambda b: book(web2, p[1], chairs["Chair 1"], ten, b))
    assert sorted(clash) == [303, 400], clash
    # Again on the other chair, the other web process first in the list.
    clash2 = at_once(lambda b: book(web2, p[2], chairs["Chair 2"], ten, b),
                     lambda b: book(web1, p[3], chairs["Chair 2"], ten, b))
    assert sorted(clash2) == [303, 400], clash2
    # Different times at once: both are booked.
    apart = at_once(lambda b: book(web1, p[4], chairs["Chair 1"], noon, b),
                    lambda b: book(web2, p[5], chairs["Chair 2"], noon, b))
    assert apart == [303, 303], apart

    active = query(deploy_url, "SELECT chair_id, start_at, end_at FROM appointments "
                   "WHERE status IN ('pending', 'booked', 'arrived') ORDER BY chair_id, start_at")
    assert len(active) == 4
    for (chair_a, _start_a, end_a), (chair_b, start_b, _end_b) in zip(active, active[1:]):
        assert chair_a != chair_b or end_a <= start_b, "two active blocks overlap on one chair"

    # Two manual sweeps at once, with both schedulers still running: appointment reminders once.
    sweeps = [processes.start(f"sweep{n}", [flask, "--app", "tracker", "reminders", "run"]) for n in (1, 2)]
    for sweep in sweeps:
        assert sweep.wait(timeout=120) == 0, processes.logs()

    def appointment_reminders_done():
        rows = query(deploy_url, "SELECT count(*) FROM reminders WHERE kind = 'appointment' AND status = 'sent'")
        return rows[0][0] == 4

    wait_until(appointment_reminders_done, 60, "the appointment reminders", processes.logs)
    sent = query(deploy_url, "SELECT dedupe_key, message_id FROM reminders WHERE status = 'sent'")
    files = outbox_messages(tmp_path / "outbox")
    message_ids = [message_id for message_id, _to in files]
    assert len(message_ids) == len(set(message_ids)), "a message was written twice"
    assert sorted(message_ids) == sorted(message_id for _key, message_id in sent)
    assert len({key for key, _ in sent}) == len(sent)
    recipients = [to for _id, to in files]
    booked = {row[0] for row in query(deploy_url, "SELECT patient_id FROM appointments "
                                      "WHERE status IN ('pending', 'booked')")}
    for mrn, patient_id in patients.items():
        # The window reminder; for a booked patient also the booking notice and the visit reminder.
        expected = (mrn in consenting) * (1 + 2 * (patient_id in booked))
        assert recipients.count(f"d{int(mrn[1:])}@example.org") == expected, mrn


def _healthy(port):
    try:
        return Client(port).request("GET", "/health")[0] == 200
    except OSError:
        return False


def test_wsgi_entry_trusts_the_configured_number_of_proxies(tmp_path):
    """wsgi.py builds the app and reads client addresses from X-Forwarded-For only when told to."""
    script = (
        "import wsgi\n"
        "from werkzeug.middleware.proxy_fix import ProxyFix\n"
        "fix = wsgi.app.wsgi_app\n"
        "print(type(fix).__name__, getattr(fix, 'x_for', 0))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'wsgi.sqlite3'}",
                "TRACKER_SECRET_KEY": "wsgi-test-" + secrets.token_hex(16), "PYTHONPATH": ROOT})
    plain = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=60)
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert not plain.stdout.startswith("ProxyFix")
    proxied = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=dict(env, TRACKER_TRUSTED_PROXIES="1"),
                             capture_output=True, text=True, timeout=60)
    assert proxied.returncode == 0, proxied.stderr[-2000:]
    assert proxied.stdout.split() == ["ProxyFix", "1"]
