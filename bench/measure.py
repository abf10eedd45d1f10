"""The measurements that run the project's commands or services: due, the sweep, the slot finder."""
from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, time as wall_time, timedelta, timezone
from zoneinfo import ZoneInfo

from . import procs


class Unavailable(Exception):
    """A measured feature is not in the project yet (or failed); the reason is printed."""


@dataclass
class Timed:
    """Median seconds over runs, the highest peak RSS, and what the last run said."""

    seconds: float
    peak_rss_mb: float
    runs: list


def _missing_command(finished: procs.Finished) -> bool:
    text = finished.stderr + finished.stdout
    return finished.returncode == 2 and ("No such command" in text or "no such option" in text.lower())


def measure_due(database_url: str, bench_date, scratch_dir: str, runs: int) -> tuple[Timed, int]:
    """`flask due --on DATE --format json` over every patient: median wall time, peak RSS."""
    out_path = os.path.join(scratch_dir, "due.json")
    results = []
    for _ in range(runs):
        finished = procs.flask(database_url, "due", "--on", bench_date.isoformat(), "--format", "json",
                               stdout_path=out_path)
        if _missing_command(finished):
            raise Unavailable("`flask due` is not in the project yet")
        if finished.returncode != 0:
            raise RuntimeError(f"`flask due` exited {finished.returncode}: "
                              + (finished.stderr.strip().splitlines() or ["no message"])[-1][:200])
        results.append(finished)
    with open(out_path, encoding="utf-8") as handle:
        try:
            count = len(json.load(handle))
        except ValueError as error:
            raise RuntimeError(f"`flask due --format json` did not print JSON ({error})")
    os.remove(out_path)
    return Timed(statistics.median(r.seconds for r in results),
                 max(r.peak_rss_mb for r in results), results), count


def measure_floor(kind: str, target: str, scratch_dir: str, runs: int) -> tuple[float, int]:
    """The hand-written query in its own process (bench.floor): median wall time and rows."""
    out_path = os.path.join(scratch_dir, "floor.json")
    env = procs.flask_env("unused")
    times = []
    for _ in range(runs):
        finished = procs.check(procs.python(["-m", "bench.floor", kind, target], env,
                                            stdout_path=out_path), "bench.floor")
        times.append(finished.seconds)
    with open(out_path, encoding="utf-8") as handle:
        count = len(json.load(handle))
    os.remove(out_path)
    return statistics.median(times), count


def measure_sweep(store, bench_date, scratch_dir: str) -> tuple[float, int, str]:
    """One `flask reminders run --on DATE` on a copy of the clinic: seconds, .eml files, summary."""
    outbox = os.path.join(scratch_dir, "outbox")
    os.makedirs(outbox, exist_ok=True)
    copy = store.scratch_copy(scratch_dir)
    try:
        finished = procs.flask(copy.url, "reminders", "run", "--on", bench_date.isoformat(),
                               env_extra={"TRACKER_MAIL_OUTBOX_DIR": outbox, "TRACKER_MAIL_SERVER": ""})
    finally:
        copy.drop()
    if _missing_command(finished):
        raise Unavailable("`flask reminders run` is not in the project yet")
    if finished.returncode != 0:
        raise RuntimeError(f"`flask reminders run` exited {finished.returncode}: "
                          + (finished.stderr.strip().splitlines() or ["no message"])[-1][:200])
    messages = sum(1 for _root, _dirs, files in os.walk(outbox) for name in files if name.endswith(".eml"))
    for root, _dirs, files in os.walk(outbox, topdown=False):
        for name in files:
            os.remove(os.path.join(root, name))
        os.rmdir(root)
    summary = " ".join(finished.stdout.split())[:300]
    return finished.seconds, messages, summary


def measure_slots(database_url: str, bench_date, runs: int) -> tuple[float, float, str]:
    """The slot finder for an unbooked patient whose window spans the fully booked month.

    Returns (median ms for the next free block, median ms for a page of proposals, what was
    found). Called in this process through the booking service, as the booking page calls it.
    """
    try:
        from tracker.services import appointments as booking_service
        search_slots = booking_service.search_slots
    except (ImportError, AttributeError):
        raise Unavailable("tracker.services.appointments.search_slots is not in the project yet")
    from sqlalchemy import and_, exists, select

    from tracker.extensions import db
    from tracker.models import ACTIVE_STATUSES, Appointment, Course, Patient
    from tracker.services.clinic import get_settings

    from .build import FULL_DAYS, bench_app

    app = bench_app(database_url)
    with app.app_context():
        try:
            zone = ZoneInfo(get_settings().timezone)
            now = datetime.combine(bench_date, wall_time(0), tzinfo=zone).astimezone(timezone.utc)
            spanning = select(Patient).join(Course, Course.patient_id == Patient.id).where(
                Course.state == "maintenance", Course.mode == "scheduled",
                Course.window_opens <= bench_date,
                Course.window_closes >= bench_date + timedelta(days=FULL_DAYS + 10),
            ).order_by(Patient.id).limit(1)
            unbooked = ~exists().where(and_(Appointment.patient_id == Patient.id,
                                            Appointment.status.in_(ACTIVE_STATUSES)))
            # A small clinic books every waiting patient; then any patient with such a window.
            patient = db.session.scalar(spanning.where(unbooked)) or db.session.scalar(spanning)
            if patient is None:
                raise Unavailable("no unbooked patient with a window past the booked month")
            types = booking_service.active_types()
            appointment_type = booking_service.default_type(booking_service.open_course_for(patient.id), types)

            def once(limit):
                started = time.perf_counter()
                found = search_slots(patient, appointment_type, today=bench_date, now=now, limit=limit)
                return (time.perf_counter() - started) * 1000, found

            for _ in range(2):
                once(1)
            first = [once(1) for _ in range(runs)]
            page = [once(12) for _ in range(max(runs // 3, 3))]
            found = first[-1][1]
            slots = found.slots or found.later_slots
            where = "no free block found"
            if slots:
                local = slots[0].start.astimezone(zone)
                where = f"next free block {local:%Y-%m-%d %H:%M} ({(local.date() - bench_date).days} days on)"
            return (statistics.median(ms for ms, _ in first), statistics.median(ms for ms, _ in page), where)
        finally:
            db.session.remove()
            db.engine.dispose()
