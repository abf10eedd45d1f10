"""The day sheet (chairs as columns, time as rows) and the week (each day with its chairs).

One builder lays out any run of days on one set of time rows, so the week is seven day sheets
side by side. Empty times inside opening hours are controls that open booking for that chair and
start; today carries a "now" line. A fixed handful of queries per page whatever the number of
chairs, days and appointments: settings, hours, closed dates, chairs, and one query for the
appointments with patient, type and clinician joined, and one for the patients' own latest
actions on them (confirmed, moved or asked to be called from their links), and two for their
pre-visit checklists.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import booking
from ..extensions import db
from ..formatting import request_style
from ..models import ACTIVE_STATUSES, Appointment, Chair, ClosedDate, OpeningHours, utcnow
from ..patient_links.staff_marks import visit_marks
from ..services import checklist
from ..services.appointments import day_bounds
from ..services.clinic import MAX_YEAR, MIN_YEAR, clinic_today, get_settings
from .blueprint import bp
from .helpers import request_zone

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
class FreeCell:
    """An empty chair time; `start` is set when it can be booked (open, not yet past)."""

    start: datetime | None = None


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
    count: int = 0
    now_row: int | None = None  # the row holding the current time, on today only
    closed_id: int | None = None  # the closed date's row, for moving its visits
    patient_marks: dict = field(default_factory=dict)  # appointment id -> "Confirmed online"...
    checklists: dict = field(default_factory=dict)  # appointment id -> ChecklistState

    @property
    def is_open(self) -> bool:
        return self.hours is not None and self.closed_reason is None


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


def _appointments(first: date, last: date) -> list[Appointment]:
    start, end = day_bounds(first, last, request_zone())
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.start_at >= start, Appointment.start_at < end)
            .options(
                joinedload(Appointment.patient),
                joinedload(Appointment.appointment_type),
                joinedload(Appointment.clinician),
            )
            .order_by(Appointment.start_at, Appointment.chair_id)
        )
    )


def _minutes(local: datetime, day: date) -> int:
    midnight = datetime.combine(day, time())
    return max(0, min(int((local - midnight).total_seconds() // 60), 24 * 60))


def build_sheets(first: date, last: date, user_id: int | None) -> list[DaySheet]:
    """Lay the appointments of first..last out on one wall-clock grid, a column per chair."""
    zone = request_zone()
    step = min(get_settings().slot_step_min, 60)  # rows of at most an hour (the step is >= 5)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    hours = {row.weekday: (row.opens, row.closes) for row in db.session.scalars(select(OpeningHours))}
    closed_rows = {c.on: c for c in db.session.scalars(
        select(ClosedDate).where(ClosedDate.on >= first, ClosedDate.on <= last))}
    closed = {on: c.reason or "closed" for on, c in closed_rows.items()}
    appointments = _appointments(first, last)
    online = visit_marks(appointments)  # the patients' own latest actions
    checklists = checklist.states_for(appointments)  # pre-visit answers in brief
    booked_chairs = {a.chair_id for a in appointments}
    chairs = [c for c in db.session.scalars(select(Chair).order_by(Chair.position, Chair.name))
              if c.active or c.id in booked_chairs]
    sheets = {day: DaySheet(day, chairs, hours=hours.get(day.weekday()), closed_reason=closed.get(day),
                            closed_id=closed_rows[day].id if day in closed_rows else None,
                            patient_marks=online, checklists=checklists)
              for day in days}
    blocks: dict[date, list] = {day: [] for day in days}
    for a in appointments:
        local_start = booking.wall(a.start_at, zone)
        sheet = sheets.get(local_start.date())
        if sheet is None:
            continue
        if a.status not in GRID_STATUSES:
            sheet.cancelled.append(a)
            continue
        sheet.count += 1
        local_end = booking.wall(a.end_at, zone)
        blocks[sheet.day].append((a, local_start, local_end, _minutes(local_start, sheet.day),
                                  _minutes(local_end, sheet.day)))
    edges = [m for sheet in sheets.values() if sheet.hours
             for m in (sheet.hours[0].hour * 60 + sheet.hours[0].minute,
                       sheet.hours[1].hour * 60 + sheet.hours[1].minute)]
    edges += [m for day_blocks in blocks.values() for b in day_blocks for m in (b[3], b[4])]
    if not edges or not chairs:
        for day, sheet in sheets.items():
            sheet.unplaced = [SheetBlock(a, s, e, 1, a.clinician_id == user_id)
                              for a, s, e, _, _ in blocks[day]]
        return list(sheets.values())
    top, bottom = min(edges) // step * step, -(-max(edges) // step) * step
    # Rows run from one boundary to the next: every step mark plus every block's start and end,
    # so back-to-back blocks that do not fall on the step still get rows of their own.
    marks = sorted(set(range(top, bottom + 1, step)) | set(edges))
    now = booking.wall(utcnow(), zone)
    for day, sheet in sheets.items():
        _lay_out(sheet, blocks[day], marks, user_id, now)
    return list(sheets.values())


def _lay_out(sheet: DaySheet, blocks: list, marks: list[int], user_id, now: datetime) -> None:
    row_of = {minute: index for index, minute in enumerate(marks)}
    column = {chair.id: index for index, chair in enumerate(sheet.chairs)}
    midnight = datetime.combine(sheet.day, time())
    opens = closes = None
    if sheet.is_open and sheet.hours is not None:
        opens = _minutes(datetime.combine(sheet.day, sheet.hours[0]), sheet.day)
        closes = _minutes(datetime.combine(sheet.day, sheet.hours[1]), sheet.day)

    def free(row: int) -> FreeCell:
        start = midnight + timedelta(minutes=marks[row])
        bookable = opens is not None and closes is not None and opens <= marks[row] < closes
        return FreeCell(start if bookable and start >= now else None)

    grid: list[list] = [[free(r) for _ in sheet.chairs] for r in range(len(marks) - 1)]
    # Active blocks claim their cells first; an old fulfilled or no-show block that overlaps
    # one is listed under the grid instead.
    blocks.sort(key=lambda b: (b[0].status not in ACTIVE_STATUSES, b[3]))
    for a, local_start, local_end, start_min, end_min in blocks:
        row = row_of[start_min]
        span = max(1, row_of[end_min] - row)
        col = column[a.chair_id]
        block = SheetBlock(a, local_start, local_end, span, user_id is not None and a.clinician_id == user_id)
        rows = range(row, min(row + span, len(grid)))
        if row >= len(grid) or any(not isinstance(grid[r][col], FreeCell) for r in rows):
            sheet.unplaced.append(block)
            continue
        grid[row][col] = block
        for r in range(row + 1, row + span):
            grid[r][col] = "covered"
    if now.date() == sheet.day:
        minute = _minutes(now, sheet.day)
        sheet.now_row = next((r for r in range(len(marks) - 1) if marks[r] <= minute < marks[r + 1]), None)
    style = request_style()
    sheet.rows = [(style.clock(time(marks[r] // 60 % 24, marks[r] % 60)), cells)
                  for r, cells in enumerate(grid)]


def can_book() -> bool:
    """Whether the logged-in person may book (front desk and clinicians; admins hold both)."""
    return current_user.has_role("frontdesk") or current_user.has_role("clinician")


@bp.get("/day")
@login_required
def day():
    """The day sheet: chairs as columns, time as rows; click an empty time to book it; printable."""
    on, date_error = _requested_day()
    sheet = build_sheets(on, on, current_user.id)[0]
    return render_template("schedule/day.html", sheet=sheet, date_error=date_error,
                           previous_day=on - timedelta(days=1), next_day=on + timedelta(days=1),
                           today=clinic_today(), can_book=can_book()), 400 if date_error else 200


@bp.get("/week")
@login_required
def week():
    """The week, Monday to Sunday: each day's chairs side by side on one time grid."""
    on, date_error = _requested_day()
    monday = on - timedelta(days=on.weekday())
    sheets = build_sheets(monday, monday + timedelta(days=6), current_user.id)
    # A day that is closed and has nothing on it is one narrow column, not a column per chair.
    shown = [s for s in sheets if s.is_open or s.count]
    return render_template("schedule/week.html", sheets=sheets, shown=shown, monday=monday,
                           date_error=date_error, previous_week=monday - timedelta(days=7),
                           next_week=monday + timedelta(days=7), today=clinic_today(),
                           can_book=can_book()), 400 if date_error else 200
