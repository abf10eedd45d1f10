"""The SQL status (tracker.status) equals the pure rule (scheduling.course_status), and so do
every SQL use built from it: each predicate and part, "booked", and the reminder planner's
candidates."""
from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete, select

from tracker import scheduling
from tracker.extensions import db
from tracker.models import ACTIVE_STATUSES, APPOINTMENT_STATUSES, COURSE_STATES, Appointment, Course
from tracker.reminders.clock import Clock as SweepClock
from tracker.reminders.planning import WINDOW_KINDS, booked_courses, desired_window_reminders
from tracker.services.clinic import get_settings
from tracker.status import (
    CASE_ORDER, booked_expr, clock_for, due_list, open_courses, status_expr, status_filter,
    status_parts, status_predicate,
)
from tracker.worklist.queries import PARTS, URGENCY, export_rows, part_sizes, worklist_page

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
    # A hold may carry a resume date, often near `on`; it was put on a series or maintenance.
    held_from = draw(st.sampled_from((None, "series_in_progress", "maintenance")))
    resume_on = (on + timedelta(days=draw(st.integers(-2, 2)))
                 if state == "on_hold" and draw(st.integers(0, 3)) > 0 else None)
    in_series = state == "series_in_progress" or (state == "on_hold" and held_from == "series_in_progress")
    anchored = last is not None and not in_series and draw(st.integers(0, 9)) > 0
    anchor = last if anchored else None
    window = scheduling.window_for(anchor, min_days, max_days) if anchor else None
    return dict(state=state, mode=draw(st.sampled_from(("scheduled", "as_needed"))),
                min_days=min_days, max_days=max_days, last_qualifying_on=last,
                anchor_date=anchor, window_opens=window.opens if window else None,
                window_closes=window.closes if window else None, resume_on=resume_on,
                state_before_hold=held_from if state == "on_hold" else None)


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
            max_days=course.max_days, lapse_grace_days=grace, series_max_gap_days=gap,
            resume_on=course.resume_on, state_before_hold=course.state_before_hold)
        assert sql_status == python_status, (course.state, course.mode, course.anchor_date, on)
        expected[course.id] = python_status
    for status in scheduling.STATUSES:
        wanted = {cid for cid, s in expected.items() if s == status}
        filtered = set(db.session.scalars(select(Course.id).where(status_filter([status], clock))))
        assert filtered == wanted, status
        predicate = set(db.session.scalars(select(Course.id).where(status_predicate(status, clock))))
        assert predicate == wanted, status
        # The parts (the worklist counts and pages each on its own) split the status exactly.
        parts = [set(db.session.scalars(select(Course.id).where(part)))
                 for part in status_parts(status, clock).values()]
        assert set().union(*parts) == wanted, status
        assert sum(len(part) for part in parts) == len(wanted), status
    db.session.execute(delete(Course))
    db.session.flush()


def test_the_case_names_every_status_once():
    """The CASE is built from one predicate per status, each status exactly once."""
    assert sorted(CASE_ORDER) == sorted(scheduling.STATUSES)
    assert len(CASE_ORDER) == len(set(CASE_ORDER))


def python_booked(course, appointments, zone) -> bool:
    """DOMAIN.md: an active appointment on a clinic-local day after the anchor (or the last
    series session; any active appointment when there is neither)."""
    bound = course.anchor_date or course.last_qualifying_on
    return any(a.status in ACTIVE_STATUSES
               and (bound is None or scheduling.local_date(a.start_at, zone) > bound)
               for a in appointments)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), on=DAYS)
def test_booked_and_planner_candidates_match_the_python_rules(app_ctx, data, on):
    """For random courses and appointments, booked_expr and the planner's window reminders equal
    the rules written out in Python (DOMAIN.md's booked; N days before opens / closes)."""
    db.session.execute(delete(Appointment))  # a failed example's rows would stay otherwise
    db.session.execute(delete(Course))
    clinic = get_settings()
    zone = ZoneInfo(clinic.timezone)
    booked, appointments = {}, {}
    for _ in range(data.draw(st.integers(1, 6))):
        course = make_course(make_patient(), opened_on=date(2020, 1, 1),
                             **course_facts(data.draw, on, clinic.lapse_grace_days,
                                            clinic.series_max_gap_days))
        bound = course.anchor_date or course.last_qualifying_on or on
        appointments[course.id] = []
        for _ in range(data.draw(st.integers(0, 3))):
            # Clinic hours only: SQLite reads the day boundary with the zone's offset on `on`.
            day = bound + timedelta(days=data.draw(st.integers(-2, 3)))
            start = datetime.combine(day, time(data.draw(st.integers(7, 19))), tzinfo=zone)
            appointments[course.id].append(
                book(course, start.astimezone(timezone.utc),
                     status=data.draw(st.sampled_from(APPOINTMENT_STATUSES))))
        booked[course.id] = python_booked(course, appointments[course.id], zone)
    clock = clock_for(on, clinic)
    assert set(db.session.scalars(select(Course.id).where(booked_expr(clock)))) == \
        {cid for cid, is_booked in booked.items() if is_booked}
    sweep = SweepClock.on_date(on, clinic)
    assert booked_courses(booked, sweep, clinic) == {cid for cid, b in booked.items() if b}
    # The worklist counts booked patients per part from each course's latest appointment.
    expected_sizes = {(kind, n): 0 for kind in ("open", "called", "booked") for n in range(len(PARTS))}
    for course in db.session.scalars(select(Course)):
        status = scheduling.course_status(
            state=course.state, mode=course.mode, on=on, anchor_date=course.anchor_date,
            last_qualifying_on=course.last_qualifying_on, min_days=course.min_days,
            max_days=course.max_days, lapse_grace_days=clinic.lapse_grace_days,
            series_max_gap_days=clinic.series_max_gap_days, resume_on=course.resume_on,
            state_before_hold=course.state_before_hold)
        part = "undated" if status == "due" and course.window_closes is None else "dated"
        if course.state == "on_hold":
            part = "resumed" if part == "dated" else f"resumed_{part}"
        if (status, part) in PARTS:
            kind = "booked" if booked[course.id] else "open"  # nobody was called here
            expected_sizes[(kind, PARTS.index((status, part)))] += 1
    assert part_sizes(clock) == expected_sizes
    # Page by page (each part read from its nearer end) the worklist is the export's order.
    whole = [row.course_id for row in db.session.execute(
        export_rows(clock, statuses=URGENCY, booked=None))]
    paged, page = [], 1
    while True:
        found = worklist_page(clock, statuses=URGENCY, booked=None, page=page,
                              per_page=2)
        paged += [row.course_id for row in found.items]
        if not found.has_next:
            break
        page += 1
    assert paged == whole

    last_due = on + timedelta(days=app_ctx.config["REMINDER_PLAN_AHEAD_DAYS"])
    expected = set()
    for course in db.session.scalars(select(Course)):
        # A hold whose resume date has come is in maintenance again (scheduling.state_on).
        state = scheduling.state_on(course.state, on, course.resume_on, course.state_before_hold)
        if (state, course.mode) != ("maintenance", "scheduled") or course.anchor_date is None \
                or booked[course.id]:
            continue
        for kind in WINDOW_KINDS:
            target, lead = ((course.window_opens, clinic.window_upcoming_days)
                            if kind == "window_upcoming"
                            else (course.window_closes, clinic.window_closing_days))
            if target - timedelta(days=lead) <= last_due and on < target:
                expected.add((kind, course.id))
    planned = {(p.kind, p.course_id) for p in desired_window_reminders(sweep, clinic)}
    assert planned == expected
    db.session.execute(delete(Appointment))
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
