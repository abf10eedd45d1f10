"""The JSON API's figure: a day's appointments (`GET /api/v1/appointments?day=`), the busiest
day of the bench clinic, a page of 100, through the app with a real token, in this process."""

import statistics
import time

from .measure import Unavailable


def measure_api_appointments(database_url: str, bench_date, runs: int) -> tuple[float, str]:
    """(median ms, what was listed) for the day's appointments as an API client reads them."""
    try:
        from tracker.api.tokens import issue_token
    except ImportError:
        raise Unavailable("tracker.api is not in the project yet") from None
    from sqlalchemy import func, select

    from tracker.extensions import db
    from tracker.models import ApiToken, Appointment, User

    from .build import bench_app

    app = bench_app(database_url)
    with app.app_context():
        try:
            user = db.session.scalar(
                select(User).where(User.active.is_(True)).order_by(User.id).limit(1)
            )
            if user is None:
                raise Unavailable("no staff account in the bench clinic")
            day_column = func.date(Appointment.start_at)
            busiest = db.session.execute(
                select(day_column, func.count())
                .group_by(day_column)
                .order_by(func.count().desc())
                .limit(1)
            ).first()
            if busiest is None:
                raise Unavailable("no appointments in the bench clinic")
            _token, secret = issue_token(user, scope="read", name="bench", actor="bench")
            db.session.commit()
            client = app.test_client()
            path = f"/api/v1/appointments?day={busiest[0]}&per_page=100"
            headers = {"Authorization": f"Bearer {secret}"}
            for _ in range(3):
                client.get(path, headers=headers)
            timings = []
            for _ in range(runs):
                started = time.perf_counter()
                response = client.get(path, headers=headers)
                timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"the API answered {response.status_code}")
            listed = response.get_json()["meta"]["total"]
            return statistics.median(
                timings
            ), f"{busiest[0]}: {listed} appointments, first 100 listed"
        finally:
            db.session.rollback()
            db.session.execute(ApiToken.__table__.delete().where(ApiToken.name == "bench"))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
