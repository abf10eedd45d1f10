"""The clinic's rules that make a score clinically due, and the relief duration they give. Pure:
scores, dates and the clinic's settings in; a crossing, a number of days or a median out.

- PHQ-9 rule: a complete PHQ-9 total at or above the clinic's threshold (default 10).
- Pain rule: a complete pain NRS back within the clinic's percentage (default 30) of the
  course's baseline, that is at or above baseline x (100 - percent) / 100. With no baseline, or
  a baseline of 0, there is nothing for the pain to return to and the rule says nothing.
- Relief duration: for each qualifying session, the days until the first score after it (and
  before the next session) that crosses a rule; the patient's relief duration is the median of
  those days, and it suggests (never sets) an interval of that many whole days.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .instruments import score_text


@dataclass(frozen=True)
class DueRules:
    """The clinic's rules; None turns a rule off."""

    phq9_threshold: int | None = 10
    pain_return_percent: int | None = 30


@dataclass(frozen=True)
class Crossing:
    """A score that crossed a rule: which rule, and the clinician's words for it."""

    reason: str  # "phq9_threshold" or "pain_returned"
    detail: str


@dataclass(frozen=True)
class Scored:
    """One complete score on a date."""

    day: date
    instrument: str
    score: Decimal


def pain_returned(score: Decimal, baseline: Decimal | None, percent: int | None) -> bool:
    """The pain is back within `percent` % of the baseline (score >= baseline x (100-percent)/100)."""
    if percent is None or baseline is None or baseline <= 0:
        return False
    return score * 100 >= baseline * (100 - percent)


def crossing(
    instrument: str, score: Decimal | None, rules: DueRules, pain_baseline: Decimal | None
) -> Crossing | None:
    """The rule this score crosses, or None (an incomplete measure has no score: it crosses none)."""
    if score is None:
        return None
    if instrument == "phq9" and rules.phq9_threshold is not None and score >= rules.phq9_threshold:
        return Crossing(
            "phq9_threshold", f"PHQ-9 {score_text(score)} (rule: {rules.phq9_threshold} or more)"
        )
    if instrument == "pain_nrs" and pain_returned(score, pain_baseline, rules.pain_return_percent):
        return Crossing(
            "pain_returned",
            f"Pain NRS {score_text(score)}, back within {rules.pain_return_percent}% of the "
            f"baseline {score_text(pain_baseline or Decimal(0))}",
        )
    return None


def relief_days(
    sessions: list[date], scores: list[Scored], rules: DueRules, pain_baseline: Decimal | None
) -> list[int]:
    """Per qualifying session: the days until the first score after it (and up to the next
    session) that crosses a rule. Sessions with no such score give nothing."""
    days = sorted(set(sessions))
    ordered = sorted(scores, key=lambda s: s.day)
    found = []
    for number, session in enumerate(days):
        following = days[number + 1] if number + 1 < len(days) else None
        for scored in ordered:
            if scored.day <= session or (following is not None and scored.day > following):
                continue
            if crossing(scored.instrument, scored.score, rules, pain_baseline):
                found.append((scored.day - session).days)
                break
    return found


@dataclass(frozen=True)
class ReliefDuration:
    """The observed relief: the median days, how many sessions it rests on, the suggestion."""

    median_days: Decimal
    sessions: int
    suggested_interval_days: int

    @property
    def median_text(self) -> str:
        """The median as people write it (24, 24.5)."""
        return score_text(self.median_days)


def relief_duration(days: list[int]) -> ReliefDuration | None:
    """The median of the relief days and the interval it suggests (its whole days); None with
    no data."""
    if not days:
        return None
    median = Decimal(str(statistics.median(days)))
    return ReliefDuration(median, len(days), int(median))
