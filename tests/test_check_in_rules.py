"""The clinically-due rules and the relief duration (pure), as tables."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tracker.outcomes.rules import (
    DueRules,
    Scored,
    crossing,
    pain_returned,
    relief_days,
    relief_duration,
)

RULES = DueRules(phq9_threshold=10, pain_return_percent=30)
D = Decimal


@pytest.mark.parametrize(
    ("score", "baseline", "percent", "expected"),
    [
        (D(6), D(8), 30, True),  # 6 >= 8 x 0.7 = 5.6
        (D(5), D(8), 30, False),  # 5 < 5.6
        (D("5.6"), D(8), 30, True),  # on the edge: within
        (D(7), D(10), 30, True),  # exactly 70% of the baseline
        (D("6.99"), D(10), 30, False),
        (D(10), D(10), 0, True),  # 0%: only back at the baseline counts
        (D(9), D(10), 0, False),
        (D(0), D(10), 100, True),  # 100%: any score counts
        (D(3), None, 30, False),  # no baseline: the rule says nothing
        (D(3), D(0), 30, False),  # a baseline of 0: nothing to return to
        (D(9), D(8), None, False),  # the rule is off
    ],
)
def test_pain_back_within_the_percentage_of_baseline(score, baseline, percent, expected):
    """Pain NRS at or above baseline x (100 - percent) / 100, with no baseline never."""
    assert pain_returned(score, baseline, percent) is expected


@pytest.mark.parametrize(
    ("instrument", "score", "rules", "reason"),
    [
        ("phq9", D(10), RULES, "phq9_threshold"),  # at the threshold: crosses
        ("phq9", D(9), RULES, None),
        ("phq9", D(27), RULES, "phq9_threshold"),
        ("phq9", D(15), DueRules(phq9_threshold=None), None),  # rule off
        ("phq9", D(15), DueRules(phq9_threshold=20), None),  # the clinic's own threshold
        ("phq9", None, RULES, None),  # incomplete: no score, no crossing
        ("pain_nrs", D(6), RULES, "pain_returned"),
        ("pain_nrs", D(2), RULES, None),
        ("gad7", D(21), RULES, None),  # no rule for GAD-7
        ("peg", D(10), RULES, None),
    ],
)
def test_which_score_crosses_which_rule(instrument, score, rules, reason):
    """PHQ-9 at or above the threshold; pain back within the percentage of a baseline of 8."""
    found = crossing(instrument, score, rules, D(8))
    assert (found.reason if found else None) == reason


def test_the_crossing_says_what_crossed_for_the_clinician():
    """The detail names the score and the rule (staff pages only)."""
    assert crossing("phq9", D(12), RULES, None).detail == "PHQ-9 12 (rule: 10 or more)"
    assert crossing("pain_nrs", D(6), RULES, D(8)).detail == (
        "Pain NRS 6, back within 30% of the baseline 8"
    )


S1, S2, S3 = date(2026, 3, 2), date(2026, 4, 1), date(2026, 5, 6)


def phq(day, score):
    return Scored(day, "phq9", D(score))


@pytest.mark.parametrize(
    ("sessions", "scores", "days"),
    [
        ([S1], [], []),  # no data
        ([S1], [phq(S1 + timedelta(days=7), 4)], []),  # never crossed
        ([S1], [phq(S1 + timedelta(days=7), 4), phq(S1 + timedelta(days=21), 12)], [21]),
        # the first crossing after each session counts, later ones do not
        ([S1], [phq(S1 + timedelta(days=14), 11), phq(S1 + timedelta(days=28), 15)], [14]),
        # a score on the session's own day is before the relief: not counted
        ([S1], [phq(S1, 15), phq(S1 + timedelta(days=9), 3)], []),
        # each session has its own duration; a score after the next session belongs to that one
        (
            [S1, S2, S3],
            [
                phq(S1 + timedelta(days=20), 10),
                phq(S2 + timedelta(days=30), 13),
                phq(S3 + timedelta(days=25), 11),
            ],
            [20, 30, 25],
        ),
        # a session without a crossing before the next one gives nothing
        ([S1, S2], [phq(S1 + timedelta(days=7), 2), phq(S2 + timedelta(days=28), 16)], [28]),
        # the pain rule counts too (baseline 8, 30%: 5.6 or more)
        ([S1], [Scored(S1 + timedelta(days=18), "pain_nrs", D(6))], [18]),
        # sessions given in any order, or twice on a day, are read by date
        (
            [S2, S1, S1],
            [phq(S1 + timedelta(days=20), 10), phq(S2 + timedelta(days=30), 13)],
            [20, 30],
        ),
    ],
)
def test_relief_days_per_session(sessions, scores, days):
    """The days from each session until the first later score that crosses a rule."""
    assert relief_days(sessions, scores, RULES, D(8)) == days


@pytest.mark.parametrize(
    ("days", "median", "suggested"),
    [
        ([], None, None),
        ([21], D(21), 21),
        ([20, 30, 25], D(25), 25),
        ([24, 25], D("24.5"), 24),  # a half day: the suggestion is the whole days
        ([10, 40, 41, 90], D("40.5"), 40),
    ],
)
def test_relief_duration_is_the_median_and_suggests_its_whole_days(days, median, suggested):
    """The median of the relief days, and the interval it suggests; None with no data."""
    found = relief_duration(days)
    if median is None:
        assert found is None
        return
    assert (found.median_days, found.sessions, found.suggested_interval_days) == (
        median,
        len(days),
        suggested,
    )
