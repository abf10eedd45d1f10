"""The phase walk (scheduling.walk_phases) and the missed-dose rule: a table for each phase
rule, and the date rule's invariants extended to random protocols."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker import scheduling
from tracker.scheduling import PhaseEntry, PhaseRule, missed_dose_return, walk_phases

CRPS = (PhaseRule("series", "sessions", 10), PhaseRule("window", "sessions", None, 30, 90))
ESKETAMINE = (
    PhaseRule("cadence", "weeks", 4, 3, 4, "time"),
    PhaseRule("cadence", "weeks", 4, 7, 7, "time", True),
    PhaseRule("window", "weeks", None, 7, 14, "time", True),
)
TAPER = (
    PhaseRule("cadence", "weeks", 4, 3, 7, "time"),
    PhaseRule("cadence", "weeks", 8, 12, 16, "time", True),
    PhaseRule("cadence", "sessions", 3, 28, 35, "count", True),
    PhaseRule("window", "sessions", None, 84, 98, "count", True),
)
START = date(2026, 3, 2)  # a Monday


def weekdays(first: date, count: int) -> list[date]:
    """`count` weekdays from `first` on."""
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def twice_weekly(first: date, weeks: int) -> list[date]:
    """Mondays and Thursdays for `weeks` weeks."""
    return [first + timedelta(weeks=w, days=d) for w in range(weeks) for d in (0, 3)]


def span(walk) -> tuple[date, date]:
    return walk.window.opens, walk.window.closes


def test_count_phase_ends_with_its_last_session():
    """IV ketamine, CRPS: nine weekday sessions are a series with no window; the tenth starts
    maintenance, 30 to 90 days after it."""
    days = weekdays(START, 10)
    nine = walk_phases(CRPS, PhaseEntry(1), days[:9])
    assert (nine.position, nine.anchor_date, nine.window) == (1, None, None)
    ten = walk_phases(CRPS, PhaseEntry(1), days)
    assert ten.position == 2 and ten.anchor_date == date(2026, 3, 13)
    assert ten.phase_started_on == date(2026, 3, 13) and ten.phase_start_count == 10
    assert span(ten) == (date(2026, 4, 12), date(2026, 6, 11))
    assert ten.timings == (None,) * 10


def test_time_phase_ends_with_the_first_session_past_its_weeks():
    """Esketamine: twice weekly in weeks 1-4 (3-4 days), weekly in weeks 5-8 (7 days), then
    7-14 days; a phase's weeks count from its start, the first from the first session."""
    days = twice_weekly(START, 4)
    induction = walk_phases(ESKETAMINE, PhaseEntry(1), days)
    assert induction.position == 1 and induction.phase_started_on == START
    assert span(induction) == (date(2026, 3, 29), date(2026, 3, 30))  # last 03-26, +3 .. +4
    week5 = walk_phases(ESKETAMINE, PhaseEntry(1), [*days, date(2026, 3, 30)])
    assert week5.position == 2 and week5.phase_started_on == date(2026, 3, 30)
    assert week5.phase_start_count == 8 and week5.timings[-1] == "on_time"
    assert span(week5) == (date(2026, 4, 6), date(2026, 4, 6))
    weekly = [date(2026, 3, 30) + timedelta(weeks=w) for w in range(5)]  # to 04-27 (week 9)
    week9 = walk_phases(ESKETAMINE, PhaseEntry(1), [*days, *weekly])
    assert week9.position == 3 and week9.phase_started_on == date(2026, 4, 27)
    assert span(week9) == (date(2026, 5, 4), date(2026, 5, 11))


def test_a_session_on_a_timed_phases_last_day_is_followed_by_the_next_phases_window():
    """Esketamine: a session on the last day of week 4 (Sun 03-29) is followed by a weekly
    visit, not a twice-weekly one: the window is 7 days on (04-05), and a visit then is on
    time. Before, the 3-4 day window of the ended phase made the patient overdue on 04-02."""
    days = [*twice_weekly(START, 4), date(2026, 3, 29)]
    walk = walk_phases(ESKETAMINE, PhaseEntry(1), days)
    assert walk.position == 2 and walk.phase_started_on == date(2026, 3, 30)
    assert span(walk) == (date(2026, 4, 5), date(2026, 4, 5))
    on_time = walk_phases(ESKETAMINE, PhaseEntry(1), [*days, date(2026, 4, 5)])
    assert on_time.timings[-1] == "on_time" and on_time.position == 2


def test_time_phase_still_rules_until_a_session_passes_its_end():
    """Without a session after week 4 the course stays in its first phase: the window in force
    is the one the last session set."""
    walk = walk_phases(ESKETAMINE, PhaseEntry(1), twice_weekly(START, 4)[:-1])
    assert walk.position == 1 and span(walk) == (date(2026, 3, 26), date(2026, 3, 27))


def test_time_phases_may_pass_several_at_once():
    """A session months later ends every timed phase whose weeks are over."""
    walk = walk_phases(ESKETAMINE, PhaseEntry(1), [START, date(2026, 6, 1)])
    assert walk.position == 3 and walk.phase_started_on == date(2026, 4, 27)
    assert walk.timings == (None, "late")


def test_count_phase_after_time_phases():
    """Taper: weeks 1-4 and 5-12 by time, then three monthly sessions, then every 3 months."""
    days = [
        START,
        date(2026, 3, 9),
        date(2026, 3, 30),
        date(2026, 4, 13),
        date(2026, 5, 25),
        date(2026, 6, 22),
    ]
    walk = walk_phases(TAPER, PhaseEntry(1), days)  # 05-25 ends weeks 5-12: monthly, 2 of 3
    assert walk.position == 3 and walk.phase_started_on == date(2026, 5, 25)
    assert span(walk) == (date(2026, 7, 20), date(2026, 7, 27))
    walk = walk_phases(TAPER, PhaseEntry(1), [*days, date(2026, 7, 20)])
    assert walk.position == 4 and span(walk) == (date(2026, 10, 12), date(2026, 10, 26))


def test_clinician_phase_never_ends_by_itself():
    """A phase that ends by a clinician's action stays however many sessions or weeks pass."""
    phases = (
        PhaseRule("cadence", "sessions", 2, 3, 4, "clinician"),
        PhaseRule("window", "sessions", None, 30, 90),
    )
    walk = walk_phases(phases, PhaseEntry(1), weekdays(START, 20))
    assert walk.position == 1 and walk.window is not None


def test_entry_starts_the_walk_where_the_clinician_put_it():
    """A return to phase 1 on 05-01 after 12 sessions: earlier sessions only anchor, and the
    phase's weeks count from the day of the return."""
    days = [*twice_weekly(START, 4), *(date(2026, 3, 30) + timedelta(weeks=w) for w in range(4))]
    entry = PhaseEntry(1, date(2026, 5, 1), len(days))
    back = walk_phases(ESKETAMINE, entry, days)
    assert back.position == 1 and back.anchor_date == date(2026, 4, 20)
    assert span(back) == (date(2026, 4, 23), date(2026, 4, 24))
    later = walk_phases(ESKETAMINE, entry, [*days, date(2026, 5, 29)])
    assert later.position == 2 and later.phase_started_on == date(2026, 5, 29)


def test_an_entry_outside_the_protocol_is_refused():
    """The walk never guesses a phase that the protocol does not have."""
    with pytest.raises(ValueError):
        walk_phases(CRPS, PhaseEntry(3), [])


@pytest.mark.parametrize(
    "phases, position, gap, expected",
    [
        (ESKETAMINE, 2, 7, None),  # weekly, max 7: day 7 is still inside
        (ESKETAMINE, 2, 8, 1),  # day 8: back to twice weekly
        (ESKETAMINE, 3, 14, None),
        (ESKETAMINE, 3, 15, 2),  # every 1-2 weeks, max 14: back to weekly
        (ESKETAMINE, 1, 30, None),  # no phase before the first
        (CRPS, 2, 200, None),  # the clinic did not ask maintenance to return to the series
        # Even when a window phase asks for it, a series is never proposed: the gap would show
        # it interrupted at once.
        ((CRPS[0], PhaseRule("window", "sessions", None, 30, 90, "count", True)), 2, 200, None),
        (TAPER, 4, 99, 3),
    ],
)
def test_missed_dose_rule(phases, position, gap, expected):
    """A gap past the phase's max proposes the phase before, when the phase says so."""
    anchor = date(2026, 4, 6)
    assert missed_dose_return(phases, position, anchor, anchor + timedelta(days=gap)) == expected


def test_missed_dose_needs_a_session():
    """With no qualifying session yet there is no gap and no proposal."""
    assert missed_dose_return(ESKETAMINE, 2, None, date(2026, 6, 1)) is None


@st.composite
def protocols(draw) -> tuple[PhaseRule, ...]:
    """Random walkable protocols: one to four phases, the last open-ended with a window."""
    count = draw(st.integers(1, 4))
    phases = []
    for index in range(count):
        last = index == count - 1
        rule = "window" if last else draw(st.sampled_from(scheduling.PHASE_RULES))
        advance = draw(st.sampled_from(scheduling.PHASE_ADVANCES))
        low = None if rule == "series" else draw(st.integers(0, 40))
        high = None if low is None else draw(st.integers(low, 120))
        phases.append(
            PhaseRule(
                rule,
                "weeks" if advance == "time" else "sessions",
                None if last else draw(st.integers(1, 6)),
                low,
                high,
                advance,
                draw(st.booleans()),
            )
        )
    return tuple(phases)


SESSIONS = st.lists(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=16).map(sorted)


@settings(max_examples=300, deadline=None)
@given(phases=protocols(), days=SESSIONS)
def test_window_never_closes_before_it_opens(phases, days):
    """Whatever the protocol and sessions, a window opens on or after its anchor and closes on
    or after it opens; a series phase has none."""
    walk = walk_phases(phases, PhaseEntry(1), days)
    current = phases[walk.position - 1]
    if walk.window is None:
        assert not days or not current.has_window
        return
    assert walk.anchor_date == days[-1]
    assert walk.anchor_date <= walk.window.opens <= walk.window.closes


@settings(max_examples=300, deadline=None)
@given(phases=protocols(), days=SESSIONS, grace=st.integers(0, 120), steps=st.integers(1, 400))
def test_status_only_moves_forward_without_a_session(phases, days, grace, steps):
    """Day after day with no new session, the status under the current phase never goes back."""
    walk = walk_phases(phases, PhaseEntry(1), days)
    if walk.window is None:
        return
    order = [
        scheduling.STATUS_ORDER[
            scheduling.maintenance_status(walk.window, walk.anchor_date + timedelta(days=n), grace)
        ]
        for n in range(steps)
    ]
    assert order == sorted(order)


@settings(max_examples=300, deadline=None)
@given(phases=protocols(), days=SESSIONS, after=st.integers(0, 400))
def test_a_session_always_reanchors(phases, days, after):
    """A new qualifying session, early, on time or late, is the new anchor (in a phase with a
    window), the phase never moves back by itself, and the earlier timings stay as they were."""
    before = walk_phases(phases, PhaseEntry(1), days)
    session = (days[-1] if days else date(2026, 1, 1)) + timedelta(days=after)
    walk = walk_phases(phases, PhaseEntry(1), [*days, session])
    assert walk.position >= before.position
    assert walk.timings[:-1] == before.timings
    if phases[walk.position - 1].has_window:
        assert walk.anchor_date == session
        rule = phases[walk.position - 1]
        assert walk.window.opens == session + timedelta(days=rule.min_days)
    else:
        assert walk.anchor_date is None


@settings(max_examples=300, deadline=None)
@given(phases=protocols(), days=SESSIONS, gap=st.integers(0, 400))
def test_missed_dose_proposes_only_past_the_max(phases, days, gap):
    """A proposal is always the phase before, and only once the gap passes the phase's max."""
    walk = walk_phases(phases, PhaseEntry(1), days)
    anchor = days[-1] if days else None
    on = (anchor or date(2026, 1, 1)) + timedelta(days=gap)
    proposal = missed_dose_return(phases, walk.position, anchor, on)
    if proposal is not None:
        rule = phases[walk.position - 1]
        assert proposal == walk.position - 1 and rule.returns_on_missed_dose
        assert gap > rule.max_days
