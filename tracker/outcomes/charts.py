"""The patient page's outcome charts: each instrument's scores placed by date. Pure."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .instruments import INSTRUMENTS, Instrument, score_text

WIDTH, HEIGHT = 900, 240
# The right margin holds the band names, beside the edge each begins at.
LEFT, RIGHT, TOP, BOTTOM = 50, 760, 20, 200
MAX_POINTS = 40


@dataclass(frozen=True)
class ScorePoint:
    """One complete score on the chart."""

    x: float
    y: float
    day: date
    score: Decimal
    band: str | None

    @property
    def text(self) -> str:
        """The score as people write it."""
        return score_text(self.score)


@dataclass(frozen=True)
class OutcomeChart:
    """The points of one instrument, its grid lines and its band edges (y positions)."""

    instrument: Instrument
    points: list[ScorePoint]
    grid: list[tuple[int, float]]
    edges: list[tuple[str, float]]
    sessions: list[tuple[float, date]]  # the qualifying sessions within the drawn dates

    @property
    def line(self) -> str:
        """SVG polyline points."""
        return " ".join(f"{p.x},{p.y}" for p in self.points)


@dataclass(frozen=True)
class InstrumentHistory:
    """An instrument's chart (None with no complete score) and every measure, for the table."""

    instrument: Instrument
    chart: OutcomeChart | None
    measures: list


def y_of(value, top_score: int) -> float:
    """Vertical position of a score on a 0..top_score axis (top_score at the top)."""
    return round(BOTTOM - (BOTTOM - TOP) * float(value) / top_score, 1)


def chart(instrument: Instrument, measures, session_days=()) -> OutcomeChart | None:
    """The last MAX_POINTS complete scores, oldest first, placed by date, with the sessions given
    between the first and the last score marked on the same scale; None if no score."""
    scored = sorted(
        (m for m in measures if m.complete and not m.in_error), key=lambda m: (m.taken_at, m.id)
    )
    scored = scored[-MAX_POINTS:]
    if not scored:
        return None
    top = instrument.score_max
    first, last = scored[0].taken_on, scored[-1].taken_on
    span = (last - first).days

    def x_of(day: date) -> float:
        return round(
            LEFT + (RIGHT - LEFT) * (day - first).days / span if span else (LEFT + RIGHT) / 2, 1
        )

    points = [
        ScorePoint(x_of(m.taken_on), y_of(m.score, top), m.taken_on, m.score, m.band)
        for m in scored
    ]
    sessions = [
        (x_of(day), day) for day in sorted(set(session_days)) if first <= day <= last and span
    ]
    step = max(1, top // 5)
    grid = [(value, y_of(value, top)) for value in range(0, top + 1, step)]
    edges = [(band.label, y_of(band.low, top)) for band in instrument.bands[1:]]
    return OutcomeChart(instrument, points, grid, edges, sessions)


def histories(measures, session_days=()) -> list[InstrumentHistory]:
    """One history per instrument the patient has a measure of, in the instruments' order; the
    charts mark `session_days` (the qualifying sessions' dates)."""
    by_code: dict[str, list] = {}
    for m in measures:
        by_code.setdefault(m.instrument, []).append(m)
    return [
        InstrumentHistory(instrument, chart(instrument, by_code[code], session_days), by_code[code])
        for code, instrument in INSTRUMENTS.items()
        if code in by_code
    ]
