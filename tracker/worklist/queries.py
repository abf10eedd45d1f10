"""The worklist queries: who needs action, in what order, one page at a time."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Sequence

from sqlalchemy import and_, case, func, literal, or_, select, union_all

from ..extensions import db
from ..models import ACTIVE_STATUSES, OPEN_STATES, Appointment, Course, Patient
from ..status import (
    Clock, booked_expr, maintenance_scheduled, next_appointment_expr, open_courses, status_expr,
    status_filter,
)

# Most urgent first. Overdue patients are closest to lapsing; due ones can still be booked
# inside their window; an interrupted series needs a clinician's decision; lapsed patients
# have been out of their window longest and are the least likely to be recovered this week.
URGENCY = ("overdue", "due", "interrupted", "lapsed")


@dataclass
class Page:
    """One page of rows, with what the pager macro needs."""

    items: Sequence
    page: int
    per_page: int
    total: int
    counts: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def search_filter(text: str | None):
    """MRN exactly, or a name starting with the text (last, first, or 'first last')."""
    if not text:
        return None
    conditions = [Patient.mrn == text, _starts(Patient.last_name, text),
                  _starts(Patient.first_name, text)]
    if " " in text:
        first, _, last = text.partition(" ")
        conditions.append(and_(_starts(Patient.first_name, first.strip()),
                               _starts(Patient.last_name, last.strip())))
    return or_(*conditions)


def _starts(column, text: str):
    """Case-insensitive 'starts with', the text's own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(escaped + "%", escape="\\")


# The worklist in parts: (status, part) pairs in page order within unbooked or booked. A
# maintenance course with no window yet is due with nothing to wait for: it comes first.
PARTS = (("overdue", "dated"), ("due", "undated"), ("due", "dated"), ("interrupted", "dated"),
         ("lapsed", "dated"))


def _part(clock: Clock, number: int, booked: bool, skip: int, take: int, from_end: bool):
    """`take` course ids of one part of the worklist after skipping `skip`, in page order.

    A part is ordered by the date that makes it urgent (window close, or the last series
    session for an interrupted series), then course id: the order of an index on (state,
    mode, window_closes) or (state, last_qualifying_on), so the database reads only the rows
    it skips and returns. `from_end` reads the part backwards, `skip` counted from its end.
    """
    status, part = PARTS[number]
    day = Course.last_qualifying_on if status == "interrupted" else Course.window_closes
    booked_clause = booked_expr(clock)
    stmt = (select(Course.id.label("course_id"),
                   literal(number + (len(PARTS) if booked else 0)).label("part"),
                   day.label("day"), literal(booked).label("booked"))
            .where(_part_where(clock, status, part), booked_clause if booked else ~booked_clause))
    order = (day.desc(), Course.id.desc()) if from_end else (day, Course.id)
    return stmt.order_by(*order).offset(skip).limit(take)


def _part_where(clock: Clock, status: str, part: str):
    """The WHERE clause of one part: a single index range each (no OR for the planner)."""
    if part == "undated":
        return and_(maintenance_scheduled(), Course.window_closes.is_(None))
    if status == "due":  # the dated half of status_predicate("due")
        return and_(maintenance_scheduled(), Course.window_closes >= clock.on,
                    Course.window_opens <= clock.on)
    return status_filter([status], clock)


def worklist_page(clock: Clock, *, statuses: Sequence[str], booked: bool | None,
                  search_text: str | None, page: int, per_page: int) -> Page:
    """The page of the worklist: unbooked first, then by URGENCY, then oldest date first.

    Unbooked patients come first because they are the front desk's work: a booked patient
    already has a chair. Then overdue (longest overdue first: nearest to lapsing), due
    (window closing soonest first; a maintenance course with no window yet first of all),
    interrupted (longest gap since the last series session first), lapsed (lapsed longest
    first). Three statements whatever the number of patients: the counts of each part, the
    booked counts, and the page: a UNION ALL of the parts that overlap the page, each read
    from its nearer end, so the last page costs what the first does (a search: two).
    """
    search = search_filter(search_text)
    wanted_booked = (False, True) if booked is None else (booked,)
    if search is not None:  # a search narrows the list to a few patients: sort them directly
        counts = searched_counts(clock, search)
        total = sum(counts[(s, b)] for s in URGENCY if s in statuses for b in wanted_booked)
        number, offset = _page_offset(page, per_page, total)
        stmt = export_rows(clock, statuses=statuses, booked=booked, search_text=search_text)
        return Page(db.session.execute(stmt.offset(offset).limit(per_page)).all(),
                    number, per_page, total, counts)
    sizes = part_sizes(clock)
    blocks = [(is_booked, number, sizes[(is_booked, number)]) for is_booked in wanted_booked
              for number, (status, _part) in enumerate(PARTS) if status in statuses]
    total = sum(size for _, _, size in blocks)
    number, offset = _page_offset(page, per_page, total)
    end = min(offset + per_page, total)
    parts, start = [], 0
    for is_booked, part, size in blocks:
        first, last = max(offset - start, 0), min(end - start, size)  # this part's slice
        if first < last:
            from_end = size - last < first
            skip = size - last if from_end else first
            parts.append(_part(clock, part, is_booked, skip, last - first, from_end))
        start += size
    counts = _by_status(sizes)
    if not parts:
        return Page([], number, per_page, total, counts)
    chosen = union_all(*(p.subquery().select() for p in parts)).subquery()
    stmt = (select(*_row_columns(clock), chosen.c.booked)
            .select_from(chosen).join(Course, Course.id == chosen.c.course_id)
            .join(Patient, Patient.id == Course.patient_id)
            .order_by(chosen.c.part, chosen.c.day, chosen.c.course_id))
    return Page(db.session.execute(stmt).all(), number, per_page, total, counts)


def _page_offset(page: int, per_page: int, total: int) -> tuple[int, int]:
    """(page number within range, offset of its first row)."""
    number = min(max(1, page), max(1, math.ceil(total / per_page)))
    return number, (number - 1) * per_page


def _row_columns(clock: Clock):
    return (Course.id.label("course_id"), Course.patient_id, Patient.mrn, Patient.first_name,
            Patient.last_name, status_expr(clock).label("status"), Course.anchor_date,
            Course.window_opens, Course.window_closes, Course.last_qualifying_on,
            next_appointment_expr(clock).label("next_appointment"))


def part_sizes(clock: Clock) -> dict[tuple[bool, int], int]:
    """{(booked, part number): patients} for every part of the worklist.

    Each part is counted on its own index range; booked patients are counted from the
    active appointments (few) rather than by testing every patient on the worklist (many).
    """
    totals = db.session.execute(select(*(
        select(func.count()).select_from(Course).where(_part_where(clock, status, part))
        .scalar_subquery() for status, part in PARTS))).one()
    appointed = (select(Appointment.course_id).where(Appointment.status.in_(ACTIVE_STATUSES))
                 .distinct().subquery())
    status = status_expr(clock).label("status")
    undated = case((and_(Course.state == "maintenance", Course.window_closes.is_(None)), 1),
                   else_=0).label("undated")
    booked = {(name, bool(flag)): n for name, flag, n in db.session.execute(
        select(status, undated, func.count()).select_from(appointed)
        .join(Course, Course.id == appointed.c.course_id)
        .where(status_filter(URGENCY, clock), booked_expr(clock))
        .group_by(status, undated))}
    sizes = {}
    for number, ((name, part), total) in enumerate(zip(PARTS, totals)):
        in_booked = booked.get((name, part == "undated"), 0)
        sizes[(True, number)] = in_booked
        sizes[(False, number)] = total - in_booked
    return sizes


def _by_status(sizes: dict[tuple[bool, int], int]) -> dict[tuple[str, bool], int]:
    counts = {(name, b): 0 for name in URGENCY for b in (False, True)}
    for (is_booked, number), n in sizes.items():
        counts[(PARTS[number][0], is_booked)] += n
    return counts


def worklist_counts(clock: Clock, search=None) -> dict[tuple[str, bool], int]:
    """{(status, booked): number of patients} for the four worklist statuses."""
    return searched_counts(clock, search) if search is not None else _by_status(part_sizes(clock))


def searched_counts(clock: Clock, search) -> dict[tuple[str, bool], int]:
    """{(status, booked): number} among the patients matching a search (few: counted directly)."""
    rows = _searched(clock, URGENCY, search).subquery()
    stmt = select(rows.c.status, rows.c.booked, func.count()).group_by(rows.c.status, rows.c.booked)
    found = {(name, bool(booked)): n for name, booked, n in db.session.execute(stmt)}
    return {(name, b): found.get((name, b), 0) for name in URGENCY for b in (False, True)}


def export_rows(clock: Clock, *, statuses: Sequence[str], booked: bool | None, search_text: str | None):
    """The whole filtered worklist as one ordered statement (for streaming to CSV)."""
    search = search_filter(search_text)
    chosen = [s for s in URGENCY if s in statuses]
    stmt = open_courses(clock, chosen) if search is None else _searched(clock, chosen, search)
    if booked is not None:
        stmt = stmt.where(booked_expr(clock) if booked else ~booked_expr(clock))
    return stmt.order_by(*ordering(clock))


def _searched(clock: Clock, statuses: Sequence[str], search):
    """Open courses of the patients matching a search, with one of `statuses`.

    The status is tested on the CASE (not the index ranges) and the patients as a list of
    ids, so the database finds the few matching patients first, then their courses.
    """
    return (open_courses(clock)
            .where(Course.patient_id.in_(select(Patient.id).where(search)),
                   status_expr(clock).in_(list(statuses))))


def ordering(clock: Clock):
    """ORDER BY terms equal to the page order (unbooked, urgency, date, course id)."""
    rank = case({s: n for n, s in enumerate(URGENCY)}, value=status_expr(clock))
    day = case((Course.state == "series_in_progress", Course.last_qualifying_on),
               else_=Course.window_closes)
    return (booked_expr(clock), rank, case((day.is_(None), 0), else_=1), day, Course.id)


def upcoming_page(clock: Clock, *, days: int, page: int, per_page: int) -> Page:
    """Patients whose window opens after `on` and within `days` days, soonest first."""
    until = clock.on + timedelta(days=days)
    where = and_(status_filter(["not_yet_due"], clock), Course.window_opens <= until)
    total = db.session.scalar(select(func.count()).select_from(Course).where(where))
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    stmt = (open_courses(clock).where(where).order_by(Course.window_opens, Course.id)
            .offset((page - 1) * per_page).limit(per_page))
    return Page(db.session.execute(stmt).all(), page, per_page, total)


