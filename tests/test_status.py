"""The SQL status (tracker.status) equals the pure rule (scheduling.course_status)."""
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete, select

from tracker import scheduling
from tracker.extensions import db
from tracker.models import COURSE_STATES, Appointment, Course
from tracker.services.clinic import get_settings
from tracker.status import clock_for, due_list, open_courses, status_expr, status_filter

from .factories import make_course, make_patient
from .course_helpers import book, maintenance_course

DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31))
POOL = 8


def course_facts(draw, on, grace, gap):
    """Random but consistent stored facts, often on a boundary: the window follows the anchor."""
    state = draw(st.sampled_from(COURSE_STATES + ("maintenance",) * 4))
    min_days = draw(st.integers(0, 120))
    max_days = draw(st.integers(min_days, 400))
    edge = draw(st.sampled_from((min_days, max_days, max_days + grace, gap)))
    near_edge = draw(st.integers(0, 3)) > 0
    days_before = draw(st.integers(edge - 1, edge + 1) if near_edge else st.integers(-3, 900))
    last = None if draw(st.integers(0, 9)) == 0 else on - timedelta(days=days_before)
    anchored = last is not None and state != "series_in_progress" and draw(st.integers(0, 9)) > 0
    anchor = last if anchored else None
    window = scheduling.window_for(anchor, min_days, max_days) if anchor else None
    return dict(state=state, mode=draw(st.sampled_from(("scheduled", "as_needed"))),
                min_days=min_days, max_days=max_days, last_qualifying_on=last,
                anchor_date=anchor, window_opens=window.opens if window else None,
                window_closes=window.closes if window else None)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), on=DAYS, grace=st.integers(0, 200), gap=st.integers(0, 60))
def test_sql_status_matches_course_status(app_ctx, data, on, grace, gap):
    """For random facts, dates, grace and gap, the SQL CASE and each WHERE filter equal course_status."""
    count = data.draw(st.integers(1, POOL))
    for _ in range(count):
        make_course(make_patient(), opened_on=date(2020, 1, 1),
                    **course_facts(data.draw, on, grace, gap))
    clinic = SimpleNamespace(lapse_grace_days=grace, series_max_gap_days=gap,
                             timezone="America/New_York")
    clock = clock_for(on, clinic)
    rows = db.session.execute(select(Course, status_expr(clock)).order_by(Course.id)).all()
    expected = {}
    for course, sql_status in rows:
        python_status = scheduling.course_status(
            state=course.state, mode=course.mode, on=on, anchor_date=course.anchor_date,
            last_qualifying_on=course.last_qualifying_on, min_days=course.min_days,
            max_days=course.max_days, lapse_grace_days=grace, series_max_gap_days=gap)
        assert sql_status == python_status, (course.state, course.mode, course.anchor_date, on)
        expected[course.id] = python_status
    for status in scheduling.STATUSES:
        filtered = set(db.session.scalars(select(Course.id).where(status_filter([status], clock))))
        assert filtered == {cid for cid, s in expected.items() if s == status}, status
    db.session.execute(delete(Course))
    db.session.flush()


def test_booked_needs_an_active_appointment_after_the_anchor(app_ctx):
    """Only an active appointment on a local day after the anchor books the course."""
    clinic = get_settings()
    course = maintenance_course(date(2026, 3, 2))
    clock = clock_for(date(2026, 4, 5), clinic)

    def booked_and_next():
        row = db.session.execute(open_courses(clock).where(Course.id == course.id)).one()
        return row.booked, row.next_appointment

    # 23:30 local on the anchor day is 03:30 UTC the next day: still the anchor day.
    book(course, datetime(2026, 3, 3, 3, 30, tzinfo=timezone.utc), status="booked")
    assert booked_and_next() == (False, None)
    book(course, datetime(2026, 4, 20, 14, 0, tzinfo=timezone.utc), status="cancelled")
    assert booked_and_next() == (False, None)
    later = book(course, datetime(2026, 4, 20, 14, 0, tzinfo=timezone.utc), status="pending")
    assert booked_and_next() == (True, later.start_at)
    earlier = book(course, datetime(2026, 3, 3, 5, 0, tzinfo=timezone.utc), status="booked")
    assert booked_and_next() == (True, earlier.start_at)  # 00:00 local on the day after
    assert db.session.scalar(select(Appointment.id).where(Appointment.id == earlier.id))


def test_open_courses_lists_only_open_courses(app_ctx):
    """Discharged and entered-in-error courses are not in the status query."""
    clock = clock_for(date(2026, 4, 5), get_settings())
    kept = make_course(make_patient(), state="on_hold")
    make_course(make_patient(), state="discharged", closed_on=date(2026, 4, 1))
    make_course(make_patient(), state="entered_in_error")
    rows = db.session.execute(open_courses(clock)).all()
    assert [(r.course_id, r.status) for r in rows] == [(kept.id, "on_hold")]


def test_due_list_gives_dates_as_iso_text(app_ctx):
    """due_list returns the anchor and window as 'YYYY-MM-DD' text, zero-padded, on every database."""
    make_course(make_patient(mrn="OLD"), state="maintenance", mode="scheduled",
                last_qualifying_on=date(999, 1, 2), anchor_date=date(999, 1, 2),
                window_opens=date(999, 2, 1), window_closes=date(2026, 12, 31))
    make_course(make_patient(mrn="NEW"))
    clock = clock_for(date(2026, 11, 26), get_settings())
    rows = db.session.connection().execute(due_list(clock)).all()
    assert [tuple(row[:5]) for row in rows] == [
        ("NEW", "series_in_progress", None, None, None),
        ("OLD", "due", "0999-01-02", "0999-02-01", "2026-12-31"),
    ]
