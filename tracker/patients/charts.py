"""What the patient page shows about a course: its status and window, and the drawings of both.

Pure functions of course facts, settings and `today`; the date rules come from scheduling.py and
the templates only place the numbers computed here.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Optional

from .. import scheduling

TIMELINE_WIDTH, TIMELINE_LEFT, TIMELINE_RIGHT = 900, 20, 880
CHART_WIDTH, CHART_HEIGHT = 900, 260
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 50, 880, 20, 220
MAX_CHART_SESSIONS = 40


@dataclass(frozen=True)
class CourseView:
    """A course as the patient page shows it on a date."""

    status: Optional[str]
    window: Optional[scheduling.Window]
    overdue_from: Optional[date]
    lapsed_from: Optional[date]


def course_view(course, settings, today: date) -> CourseView:
    """Status (derived on `today`), window and its overdue / lapsed dates for one course."""
    status = scheduling.status_of(course, settings, today)
    if course.anchor_date is None or course.mode == "as_needed":
        return CourseView(status, None, None, None)
    window = scheduling.window_for(course.anchor_date, course.min_days, course.max_days)
    return CourseView(
        status, window, window.overdue_from(), window.lapsed_from(settings.lapse_grace_days)
    )


@dataclass(frozen=True)
class Mark:
    """A labelled point on the timeline."""

    x: float
    day: date
    label: str


@dataclass
class Timeline:
    """Positions (in SVG user units) of the window, the anchor, today and the sessions."""

    start: date
    end: date
    anchor: Mark
    opens: Mark
    closes: Mark
    today: Mark
    today_clamped: bool
    overdue_end_x: float
    sessions: list[Mark] = field(default_factory=list)


def timeline(window: scheduling.Window, today: date, lapsed_from: date, session_days) -> Timeline:
    """Lay out anchor, window and today on one line; today beyond the range sits at an edge."""
    start = window.anchor - timedelta(days=max(2, (window.closes - window.anchor).days // 20))
    end = max(window.closes, min(today, lapsed_from)) + timedelta(
        days=max(2, (window.closes - window.anchor).days // 10)
    )
    span = max((end - start).days, 1)

    def x(day: date) -> float:
        offset = min(max((day - start).days, 0), span)
        return round(TIMELINE_LEFT + (TIMELINE_RIGHT - TIMELINE_LEFT) * offset / span, 1)

    return Timeline(
        start=start,
        end=end,
        anchor=Mark(x(window.anchor), window.anchor, "Anchor"),
        opens=Mark(x(window.opens), window.opens, "Opens"),
        closes=Mark(x(window.closes), window.closes, "Closes"),
        today=Mark(x(today), today, "Today"),
        today_clamped=not start <= today <= end,
        overdue_end_x=x(min(lapsed_from, end)),
        sessions=[
            Mark(x(day), day, "Session") for day in sorted(set(session_days)) if start <= day <= end
        ],
    )


@dataclass(frozen=True)
class PainPoint:
    """One session on the pain chart; y is None when that score was not recorded."""

    x: float
    day: date
    before: Optional[int]
    after: Optional[int]
    y_before: Optional[float]
    y_after: Optional[float]


@dataclass
class PainChart:
    """The last sessions with a pain score, in order, and the y positions of the grid lines."""

    points: list[PainPoint]
    grid: list[tuple[int, float]]

    def line(self, attribute: str) -> str:
        """SVG polyline points for 'y_before' or 'y_after', skipping unscored sessions."""
        return " ".join(
            f"{p.x},{getattr(p, attribute)}"
            for p in self.points
            if getattr(p, attribute) is not None
        )


def pain_y(score: int) -> float:
    """Vertical position of a 0-10 score (10 at the top)."""
    return round(CHART_BOTTOM - (CHART_BOTTOM - CHART_TOP) * score / 10, 1)


def pain_chart(infusions) -> Optional[PainChart]:
    """The last MAX_CHART_SESSIONS sessions with a pain score, oldest first; None if none."""
    scored = [i for i in infusions if i.pain_before is not None or i.pain_after is not None]
    scored.sort(key=lambda i: i.given_at)
    scored = scored[-MAX_CHART_SESSIONS:]
    if not scored:
        return None
    # Points sit by date, so a long gap between sessions shows as a long gap.
    first, span = scored[0].given_on, (scored[-1].given_on - scored[0].given_on).days
    points = []
    for infusion in scored:
        if span:
            x = round(
                CHART_LEFT + (CHART_RIGHT - CHART_LEFT) * (infusion.given_on - first).days / span, 1
            )
        else:
            x = round((CHART_LEFT + CHART_RIGHT) / 2, 1)
        points.append(
            PainPoint(
                x,
                infusion.given_on,
                infusion.pain_before,
                infusion.pain_after,
                None if infusion.pain_before is None else pain_y(infusion.pain_before),
                None if infusion.pain_after is None else pain_y(infusion.pain_after),
            )
        )
    return PainChart(points, [(score, pain_y(score)) for score in range(0, 11, 2)])
