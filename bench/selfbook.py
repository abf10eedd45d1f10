"""The patient's booking page (`GET /my/book/<token>`) at the bench clinic's size.

Served in this process through the app's own request handling (routing, the signed link, the
slot search on the chairs bookable online, the template), with the clock pinned to the bench
date the clinic was generated for, as bench/wsgi_bench.py pins it for the worklist.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from zoneinfo import ZoneInfo

from .measure import Unavailable


def measure_selfbook(database_url: str, bench_date, runs: int) -> tuple[float, float, str]:
    """(p50 ms, p95 ms, what the page offered) for the booking page of an unbooked patient whose
    window is open on the bench date."""
    try:
        import tracker.patient_links.common as page_clock
        from tracker.patient_links.tokens import make_token
    except ImportError:
        raise Unavailable("tracker.patient_links is not in the project yet") from None
    from sqlalchemy import and_, exists, select

    from tracker.extensions import db
    from tracker.models import ACTIVE_STATUSES, Appointment, Course
    from tracker.services.clinic import get_settings

    from .build import bench_app

    app = bench_app(database_url)
    app.config["PATIENT_PAGE_LIMIT_PER_MINUTE"] = 1_000_000  # the bench is one source
    real_now, real_today = page_clock.utcnow, page_clock.clinic_today
    added: list[int] = []
    try:
        with app.app_context():
            zone = ZoneInfo(get_settings().timezone)
            now = datetime.combine(bench_date, wall_time(9), tzinfo=zone).astimezone(UTC)
            unbooked = ~exists().where(
                and_(
                    Appointment.patient_id == Course.patient_id,
                    Appointment.status.in_(ACTIVE_STATUSES),
                )
            )
            course = db.session.scalar(
                select(Course)
                .where(
                    Course.state == "maintenance",
                    Course.mode == "scheduled",
                    Course.window_opens <= bench_date,
                    Course.window_closes >= bench_date + timedelta(days=14),
                    unbooked,
                )
                .order_by(Course.id)
                .limit(1)
            )
            if course is None:  # a small clinic books every waiting patient: add one for the run
                course = _waiting_patient(db, bench_date)
                added.append(course.patient_id)
            with app.test_request_context():
                path = f"/my/book/{make_token('book', course.patient_id, course.id)}"
            db.session.remove()
        page_clock.utcnow = lambda: now
        page_clock.clinic_today = lambda: bench_date
        client = app.test_client()
        samples, body = [], ""
        for index in range(runs + 3):
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"GET /my/book/<token> answered {response.status_code}")
            body = response.get_data(as_text=True)
            if index >= 3:  # the first requests warm the templates and the connection pool
                samples.append(elapsed)
        offered = body.count('name="slot"')
        samples.sort()
        p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
        return statistics.median(samples), p95, f"{offered} times offered on the page"
    finally:
        page_clock.utcnow, page_clock.clinic_today = real_now, real_today
        with app.app_context():
            if added:  # the cached clinic is left as it was built
                from tracker.models import Patient

                db.session.delete(db.session.get(Patient, added[0]))
                db.session.commit()
            db.session.remove()
            db.engine.dispose()


def _waiting_patient(db, bench_date):
    """A patient in maintenance, window open on the bench date, nothing booked (committed)."""
    from tracker.models import Course, Patient

    anchor = bench_date - timedelta(days=40)
    patient = Patient(
        mrn="BENCH-SELFBOOK",
        first_name="Bench",
        last_name="Waiting",
        date_of_birth=anchor.replace(year=1980),
        email="bench.waiting@example.org",
        email_consent=True,
    )
    course = Course(
        patient=patient,
        state="maintenance",
        mode="scheduled",
        series_planned=1,
        min_days=30,
        max_days=90,
        opened_on=anchor,
        qualifying_count=1,
        last_qualifying_on=anchor,
        anchor_date=anchor,
        window_opens=anchor + timedelta(days=30),
        window_closes=anchor + timedelta(days=90),
    )
    db.session.add_all([patient, course])
    db.session.commit()
    return course
