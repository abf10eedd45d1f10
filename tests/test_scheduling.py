"""The date rules (tracker/scheduling.py): DOMAIN.md's worked examples and more."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker import scheduling
from tracker.scheduling import PhaseEntry, course_status, standard_phases, walk_phases, window_for

NY = ZoneInfo("America/New_York")
GRACE, GAP = 90, 14


def status(anchor, on, *, mode="scheduled", state="maintenance", min_days=30, max_days=90,
           last=None):
    return course_status(state=state, mode=mode, on=on, anchor_date=anchor,
                         last_qualifying_on=last or anchor, min_days=min_days, max_days=max_days,
                         lapse_grace_days=GRACE, series_max_gap_days=GAP)


@pytest.mark.parametrize("anchor, opens, closes", [
    (date(2026, 3, 2), date(2026, 4, 1), date(2026, 5, 31)),     # base
    (date(2026, 1, 31), date(2026, 3, 2), date(2026, 5, 1)),     # month end: no month arithmetic
    (date(2028, 1, 30), date(2028, 2, 29), date(2028, 4, 29)),   # leap year
    (date(2026, 12, 15), date(2027, 1, 14), date(2027, 3, 15)),  # year end
    (date(2027, 1, 30), date(2027, 3, 1), date(2027, 4, 30)),    # February without a leap day
    (date(2026, 3, 13), date(2026, 4, 12), date(2026, 6, 11)),   # series example
])
def test_window_examples(anchor, opens, closes):
    """The window is [anchor + min, anchor + max] in calendar days."""
    window = window_for(anchor, 30, 90)
    assert (window.opens, window.closes) == (opens, closes)


def test_base_overdue_and_lapsed_dates():
    """Base case: overdue from 2026-06-01, lapsed from 2026-08-30."""
    window = window_for(date(2026, 3, 2), 30, 90)
    assert window.overdue_from() == date(2026, 6, 1)
    assert window.lapsed_from(GRACE) == date(2026, 8, 30)
    assert status(date(2026, 3, 2), date(2026, 8, 29)) == "overdue"
    assert status(date(2026, 3, 2), date(2026, 8, 30)) == "lapsed"


@pytest.mark.parametrize("on, expected", [
    (date(2026, 3, 2), "not_yet_due"),
    (date(2026, 3, 31), "not_yet_due"),
    (date(2026, 4, 1), "due"),
    (date(2026, 5, 31), "due"),
    (date(2026, 6, 1), "overdue"),
])
def test_edges(on, expected):
    """DOMAIN.md edges: 03-31 / 04-01 / 05-31 / 06-01."""
    assert status(date(2026, 3, 2), on) == expected


def test_as_needed_never_due():
    """As-needed maintenance has no window: never due or overdue, whatever the date."""
    for days in (0, 31, 100, 1000):
        assert status(date(2026, 3, 2), date(2026, 3, 2) + timedelta(days=days), mode="as_needed") == "as_needed"


def test_on_hold_and_closed_courses():
    """On hold shows as on_hold; discharged courses have no status."""
    assert status(date(2026, 3, 2), date(2026, 9, 1), state="on_hold") == "on_hold"
    assert status(date(2026, 3, 2), date(2026, 9, 1), state="discharged") is None


def test_series_interrupted_after_max_gap():
    """A gap of 14 days is fine; 15 days without a series infusion is interrupted."""
    last = date(2026, 3, 4)
    common = dict(state="series_in_progress", last=last)
    assert status(None, last + timedelta(days=14), **common) == "series_in_progress"
    assert status(None, last + timedelta(days=15), **common) == "interrupted"


FROM_THE_START = PhaseEntry(1)


def _walk(days, planned, min_days=30, max_days=90, entry=FROM_THE_START):
    """The standard course's walk over qualifying session dates."""
    return walk_phases(standard_phases(planned, min_days, max_days), entry, sorted(days))


def test_series_example_anchor():
    """Six Mon/Wed/Fri infusions 2026-03-02 .. 03-13 anchor on 03-13."""
    days = [date(2026, 3, d) for d in (2, 4, 6, 9, 11, 13)]
    walk = _walk(days, 6)
    assert walk.position == 2 and walk.anchor_date == date(2026, 3, 13)
    assert (walk.window.opens, walk.window.closes) == (date(2026, 4, 12), date(2026, 6, 11))


def test_not_started_and_stopped_early_do_not_count_unless_marked():
    """not_started never qualifies; stopped_early only when a clinician marks it as counting."""
    assert not scheduling.qualifies("not_started", True)
    assert not scheduling.qualifies("stopped_early", False)
    assert scheduling.qualifies("stopped_early", True)
    walk = _walk([date(2026, 3, 2)], 2)  # the stopped_early session on 03-04 is left out
    assert walk.position == 1 and walk.anchor_date is None


def test_early_booster_reanchors():
    """Booster on day 20 is early and the new window runs 2026-04-21 .. 06-20."""
    anchor = date(2026, 3, 2)
    assert scheduling.booster_timing(anchor, date(2026, 3, 22), 30, 90) == "early"
    walk = _walk([anchor, date(2026, 3, 22)], 1)
    assert walk.timings == (None, "early")
    assert (walk.window.opens, walk.window.closes) == (date(2026, 4, 21), date(2026, 6, 20))


def test_late_and_on_time_boosters():
    """A booster after the window closes is late; inside it, on time."""
    anchor = date(2026, 3, 2)
    assert scheduling.booster_timing(anchor, date(2026, 6, 1), 30, 90) == "late"
    assert scheduling.booster_timing(anchor, date(2026, 5, 31), 30, 90) == "on_time"
    assert scheduling.booster_timing(anchor, date(2026, 4, 1), 30, 90) == "on_time"


def test_late_evening_infusion_belongs_to_local_date():
    """23:30 in New York on 03-02 is 04:30 UTC on 03-03, but belongs to 03-02."""
    instant = datetime(2026, 3, 2, 23, 30, tzinfo=NY).astimezone(timezone.utc)
    assert instant.date() == date(2026, 3, 3)
    assert scheduling.local_date(instant, "America/New_York") == date(2026, 3, 2)


@pytest.mark.parametrize("local", [
    datetime(2026, 3, 8, 3, 30, tzinfo=NY),             # just after clocks spring forward
    datetime(2026, 11, 1, 1, 30, tzinfo=NY),            # first 01:30 on the fall-back day
    datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY),    # second 01:30
    datetime(2026, 11, 1, 23, 59, tzinfo=NY),
])
def test_daylight_saving_days_keep_local_date(local):
    """On daylight-saving days the local date is the wall-clock date, and the window counts days."""
    day = scheduling.local_date(local.astimezone(timezone.utc), NY)
    assert day == local.date()
    assert window_for(day, 30, 90).opens == day + timedelta(days=30)


def test_naive_datetimes_refused():
    """A naive instant cannot be placed in a day; it is refused."""
    with pytest.raises(ValueError):
        scheduling.local_date(datetime(2026, 3, 2, 12, 0), NY)


def test_bad_interval_refused():
    """min_days above max_days is refused."""
    with pytest.raises(ValueError):
        window_for(date(2026, 3, 2), 91, 90)


dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
intervals = st.tuples(st.integers(0, 400), st.integers(0, 400)).map(sorted)


@given(anchor=dates, interval=intervals)
def test_window_never_closes_before_it_opens(anchor, interval):
    """For every anchor and interval, opens <= closes and both are whole days after the anchor."""
    window = window_for(anchor, *interval)
    assert anchor <= window.opens <= window.closes
    assert (window.closes - window.opens).days == interval[1] - interval[0]


@settings(max_examples=200)
@given(anchor=dates, interval=intervals, grace=st.integers(0, 365), start=st.integers(-30, 800),
       step=st.integers(1, 60))
def test_status_only_moves_forward(anchor, interval, grace, start, step):
    """Without a new infusion, the status never goes back as the date advances."""
    window = window_for(anchor, *interval)
    previous = None
    for n in range(12):
        on = anchor + timedelta(days=start + n * step)
        current = scheduling.STATUS_ORDER[scheduling.maintenance_status(window, on, grace)]
        if previous is not None:
            assert current >= previous
        previous = current


@given(anchor=dates, interval=intervals, offset=st.integers(1, 500))
def test_booster_always_reanchors(anchor, interval, offset):
    """Any qualifying session after the series, early, on time or late, becomes the new anchor."""
    booster = anchor + timedelta(days=offset)
    walk = _walk([anchor, booster], 1, *interval)
    assert walk.anchor_date == booster
    assert walk.window.opens == booster + timedelta(days=interval[0])


@given(last=dates, gap=st.integers(0, 60), days=st.integers(0, 200))
def test_interrupted_is_monotonic(last, gap, days):
    """Once interrupted, a series stays interrupted as the date advances."""
    if scheduling.is_interrupted(last, last + timedelta(days=days), gap):
        assert scheduling.is_interrupted(last, last + timedelta(days=days + 1), gap)


def test_booster_timings_follow_the_anchor_before_each_booster():
    """Series sessions have no timing; each booster is timed against the anchor in force before it."""
    days = [date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 24), date(2026, 7, 1), date(2026, 8, 1)]
    # anchor 03-04: 03-24 is day 20 (early); anchor 03-24: 07-01 is day 99 (late);
    # anchor 07-01: 08-01 is day 31 (on time).
    assert _walk(days, 2).timings == (None, None, "early", "late", "on_time")
    assert _walk(days[:2], 6).timings == (None, None)


@pytest.mark.parametrize("given, planned, entry, position", [
    (6, 6, PhaseEntry(1), 2),  # the planned series reached: maintenance
    (5, 6, PhaseEntry(1), 1),  # not yet, or a series infusion removed in error
    (3, 3, PhaseEntry(2, date(2026, 3, 6), 3), 2),  # ended early after three
    (2, 3, PhaseEntry(2, date(2026, 3, 6), 3), 2),  # ...and one entered in error: stays
])
def test_standard_course_phase(given, planned, entry, position):
    """The series phase ends at the planned count (or a clinician's advance), and only then."""
    days = [date(2026, 3, 2) + timedelta(days=2 * n) for n in range(given)]
    walk = _walk(days, planned, entry=entry)
    assert walk.position == position
    assert (walk.anchor_date is not None) == (position == 2 and given > 0)


@given(days=st.lists(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=12),
       planned=st.integers(1, 8))
def test_bulk_import_and_services_agree_on_the_state(days, planned):
    """The import's course plan walks the same phases as services.courses."""
    from tracker.importing.bulk import CoursePlanner

    planner = CoursePlanner(1)
    for seq, day in enumerate(days):
        planner.add(0, day, 600, seq, True)
    plan = planner.plan(0, series_planned=planned, min_days=30, max_days=90, today=date(2027, 1, 1))
    walk = _walk(days, planned)
    assert (plan.anchor_date, plan.phase_position) == (walk.anchor_date, walk.position)
    assert plan.state == ("maintenance" if len(days) >= planned else "series_in_progress")
