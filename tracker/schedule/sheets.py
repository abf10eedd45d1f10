"""The day sheet (chairs as columns, time as rows) and the week view.

A fixed handful of queries per page whatever the number of chairs and appointments: settings,
hours, closed date, chairs, and one query for the day's appointments with patient, type and
clinician joined.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import ACTIVE_STATUSES, Appointment, Chair, ClosedDate, OpeningHours
from ..services.appointments import day_bounds
from ..services.clinic import MAX_YEAR, MIN_YEAR, clinic_today, get_settings
from .routes import bp, request_zone

GRID_STATUSES = ACTIVE_STATUSES + ("fulfilled", "noshow")


@dataclass
class SheetBlock:
    """One appointment placed on the grid."""

    appointment: Appointment
    local_start: datetime
    local_end: datetime
    rowspan: int
    mine: bool


@dataclass
class DaySheet:
    """The grid for one date: rows of cells under chair columns, and what did not fit."""

    day: date
    chairs: list[Chair]
    rows: list[tuple[str, list]] = field(default_factory=list)  # (time label, cells)
    cancelled: list[Appointment] = field(default_factory=list)
    unplaced: list[SheetBlock] = field(default_factory=list)
    hours: tuple | None = None
    closed_reason: str | None = None
    closed_id: int | None = None
    count: int = 0


def _requested_day() -> tuple[date, str | None]:
    raw = request.args.get("date", "")
    if not raw:
        return clinic_today(), None
    try:
        on = date.fromisoformat(raw)
    except ValueError:
        on = None
    if on is None or not MIN_YEAR <= on.year <= MAX_YEAR:
        return clinic_today(), "That is not a date we can show; showing today. Use YYYY-MM-DD."
    return on, None


def _day_appointments(first: date, last: date) -> list[Appointment]:
    start, end = day_bounds(first, last, request_zone())
    return list(db.session.scalars(
        select(Appointment).where(Appointment.start_at >= start, Appointment.start_at < end)
        .options(joinedload(Appointment.patient), joinedload(Appointment.appointment_type),
                 joinedload(Appointment.clinician))
        .order_by(Appointment.start_at, Appointment.chair_id)))


def build_day_sheet(day: date, user_id: int | None) -> DaySheet:
    """Lay the day's appointments out on a wall-clock grid, one column per chair."""
    zone = request_zone()
    step = min(get_settings().slot_step_min, 60)  # rows of at most an hour (the step is >= 5)
    hours_row = db.session.get(OpeningHours, day.weekday())
    closed = db.session.scalar(select(ClosedDate).where(ClosedDate.on == day))
    appointments = _day_appointments(day, day)
    booked_chairs = {a.chair_id for a in appointments}
    chairs = [c for c in db.session.scalars(select(Chair).order_by(Chair.position, Chair.name))
              if c.active or c.id in booked_chairs]
    sheet = DaySheet(day, chairs, hours=(hours_row.opens, hours_row.closes) if hours_row else None,
                     closed_reason=(closed.reason or "closed") if closed else None,
                     closed_id=closed.id if closed else None)
    shown = [a for a in appointments if a.status in GRID_STATUSES]
    sheet.cancelled = [a for a in appointments if a.status not in GRID_STATUSES]
    sheet.count = len(shown)
    midnight = datetime.combine(day, datetime.min.time())

    def minutes(local: datetime) -> int:
        return max(0, min(int((local - midnight).total_seconds() // 60), 24 * 60))

    blocks = []
    for a in shown:
        local_start = a.start_at.astimezone(zone).replace(tzinfo=None)
        local_end = a.end_at.astimezone(zone).replace(tzinfo=None)
        blocks.append((a, local_start, local_end, minutes(local_start), minutes(local_end)))
    first = [sheet.hours[0].hour * 60 + sheet.hours[0].minute] if sheet.hours else []
    last = [sheet.hours[1].hour * 60 + sheet.hours[1].minute] if sheet.hours else []
    first += [b[3] for b in blocks]
    last += [b[4] for b in blocks]
    if not first or not chairs:
        sheet.unplaced = [SheetBlock(a, s, e, 1, a.clinician_id == user_id) for a, s, e, _, _ in blocks]
        return sheet
    top = min(first) // step * step
    bottom = -(-max(last) // step) * step
    # Rows run from one boundary to the next: every step mark plus every block's start and end,
    # so back-to-back blocks that do not fall on the step still get rows of their own.
    marks = sorted(set(range(top, bottom + 1, step)) | {b[3] for b in blocks} | {b[4] for b in blocks})
    row_of = {minute: index for index, minute in enumerate(marks)}
    column = {chair.id: index for index, chair in enumerate(chairs)}
    grid: list[list] = [[None] * len(chairs) for _ in range(len(marks) - 1)]
    # Active blocks claim their cells first; an old fulfilled or no-show block that overlaps
    # one is listed under the grid instead.
    blocks.sort(key=lambda b: (b[0].status not in ACTIVE_STATUSES, b[3]))
    for a, local_start, local_end, start_min, end_min in blocks:
        row = row_of[start_min]
        span = max(1, row_of[end_min] - row)
        col = column[a.chair_id]
        block = SheetBlock(a, local_start, local_end, span, user_id is not None and a.clinician_id == user_id)
        if any(grid[r][col] is not None for r in range(row, min(row + span, len(grid)))) or row >= len(grid):
            sheet.unplaced.append(block)
            continue
        grid[row][col] = block
        for r in range(row + 1, row + span):
            grid[r][col] = "covered"
    for index, cells in enumerate(grid):
        minute = marks[index]
        sheet.rows.append((f"{minute // 60:02d}:{minute % 60:02d}", cells))
    return sheet


@bp.get("/day")
@login_required
def day():
    """The day sheet: chairs as columns, time as rows; printable."""
    on, date_error = _requested_day()
    sheet = build_day_sheet(on, current_user.id)
    return render_template("schedule/day.html", sheet=sheet, date_error=date_error,
                           previous_day=on - timedelta(days=1), next_day=on + timedelta(days=1),
                           today=clinic_today()), 400 if date_error else 200


@bp.get("/week")
@login_required
def week():
    """The week view: Monday to Sunday, each day's appointments listed."""
    on, date_error = _requested_day()
    monday = on - timedelta(days=on.weekday())
    sunday = monday + timedelta(days=6)
    zone = request_zone()
    days = {monday + timedelta(days=n): [] for n in range(7)}
    chairs = {c.id: c for c in db.session.scalars(select(Chair))}
    for a in _day_appointments(monday, sunday):
        days.setdefault(a.start_at.astimezone(zone).date(), []).append(a)
    closed = {c.on: c.reason for c in db.session.scalars(
        select(ClosedDate).where(ClosedDate.on >= monday, ClosedDate.on <= sunday))}
    return render_template("schedule/week.html", days=days, chairs=chairs, closed=closed,
                           monday=monday, date_error=date_error,
                           previous_week=monday - timedelta(days=7), next_week=monday + timedelta(days=7),
                           today=clinic_today()), 400 if date_error else 200
