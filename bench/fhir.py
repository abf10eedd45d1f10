"""The FHIR figure: one chair's Slots for a week (`GET /fhir/Slot?schedule=...&start=...`),
busy and free, from the bench date, through the app with a real token, in this process, with
the clock pinned to the bench date as bench/selfbook.py pins it."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from zoneinfo import ZoneInfo

from .measure import Unavailable

WEEK_DAYS = 7


def measure_fhir_slots(database_url: str, bench_date, runs: int) -> tuple[float, str]:
    """(median ms, what was listed) for the busiest chair's week of Slots, a page of 100."""
    try:
        import tracker.fhir.slots as fhir_clock
        from tracker.api.tokens import issue_token
    except ImportError:
        raise Unavailable("tracker.fhir is not in the project yet") from None
    from sqlalchemy import func, select

    from tracker.extensions import db
    from tracker.models import ACTIVE_STATUSES, ApiToken, Appointment, User
    from tracker.services.clinic import get_settings

    from .build import FULL_DAYS, bench_app

    app = bench_app(database_url)
    real_now, real_today = fhir_clock.utcnow, fhir_clock.clinic_today
    try:
        with app.app_context():
            zone = ZoneInfo(get_settings().timezone)
            now = datetime.combine(bench_date, wall_time(7), tzinfo=zone).astimezone(UTC)
            week_end = now + timedelta(days=WEEK_DAYS)
            busiest = db.session.execute(
                select(Appointment.chair_id, func.count())
                .where(
                    Appointment.status.in_(ACTIVE_STATUSES),
                    Appointment.start_at >= now,
                    Appointment.start_at < week_end,
                )
                .group_by(Appointment.chair_id)
                .order_by(func.count().desc(), Appointment.chair_id)
                .limit(1)
            ).first()
            if busiest is None:
                raise Unavailable("no booked chair in the bench week")
            user = db.session.scalar(
                select(User).where(User.active.is_(True)).order_by(User.id).limit(1)
            )
            if user is None:
                raise Unavailable("no staff account in the bench clinic")
            _token, secret = issue_token(user, scope="read", name="bench-fhir", actor="bench")
            db.session.commit()
            chair_id = busiest[0]
            last = bench_date + timedelta(days=WEEK_DAYS - 1)
            path = (
                f"/fhir/Slot?schedule=Schedule/{chair_id}&start=ge{bench_date.isoformat()}"
                f"&start=le{last.isoformat()}&_count=100"
            )
            db.session.remove()
        fhir_clock.utcnow = lambda: now
        fhir_clock.clinic_today = lambda: bench_date
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        timings, bundle = [], {}
        for index in range(runs + 3):
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"GET /fhir/Slot answered {response.status_code}")
            bundle = response.get_json()
            if index >= 3:  # the first requests warm the connection pool
                timings.append(elapsed)
        statuses = [e["resource"]["status"] for e in bundle.get("entry", [])]
        # For context: a week past the fully booked month, where the chair has free time.
        later = bench_date + timedelta(days=FULL_DAYS + 7)
        later_path = (
            f"/fhir/Slot?schedule=Schedule/{chair_id}&start=ge{later.isoformat()}"
            f"&start=le{(later + timedelta(days=WEEK_DAYS - 1)).isoformat()}&_count=100"
        )
        later_timings, later_bundle = [], {}
        for _ in range(max(runs // 3, 3)):
            started = time.perf_counter()
            later_bundle = client.get(later_path, headers=headers).get_json()
            later_timings.append((time.perf_counter() - started) * 1000)
        later_free = sum(e["resource"]["status"] == "free" for e in later_bundle.get("entry", []))
        what = (
            f"chair {chair_id}, {bench_date} to {last}: {statuses.count('busy')} busy and "
            f"{statuses.count('free')} free slots; the week from {later}: {later_free} free "
            f"slots listed in {statistics.median(later_timings):.1f} ms"
        )
        return statistics.median(timings), what
    finally:
        fhir_clock.utcnow, fhir_clock.clinic_today = real_now, real_today
        with app.app_context():
            db.session.rollback()
            db.session.execute(ApiToken.__table__.delete().where(ApiToken.name == "bench-fhir"))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
