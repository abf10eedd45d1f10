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


def _part(clock: Clock, status: str, part: str, booked: bool, limit: int, number: int):
    """The ids of one part of the worklist in page order, at most `limit` of them.

    A part is ordered by the date that makes it urgent (window close, or the last series
    session for an interrupted series), then course id: the order of an index on (state,
    mode, window_closes) or (state, last_qualifying_on), so the database stops reading once
    it has `limit` rows.
    """
    day = Course.last_qualifying_on if status == "interrupted" else Course.window_closes
    where = _part_where(clock, status, part)
    booked_clause = booked_expr(clock)
    stmt = (select(Course.id.label("course_id"), literal(number).label("part"), day.label("day"),
                   literal(booked).label("booked"))
            .where(where, booked_clause if booked else ~booked_clause))
    return stmt.order_by(day, Course.id).limit(limit)


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
    first). Three statements whatever the number of patients: counts per status, booked
    counts, and the page, built as a UNION ALL of ordered, limited parts so that no part
    reads more than the rows up to the end of the page (a search: two statements).
    """
    search = search_filter(search_text)
    counts = worklist_counts(clock, search)
    wanted_booked = (False, True) if booked is None else (booked,)
    total = sum(counts.get((s, b), 0) for s in URGENCY if s in statuses for b in wanted_booked)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    offset = (page - 1) * per_page
    if search is not None:  # a search narrows the list to a few patients: sort them directly
        stmt = export_rows(clock, statuses=statuses, booked=booked, search_text=search_text)
        return Page(db.session.execute(stmt.offset(offset).limit(per_page)).all(),
                    page, per_page, total, counts)
    parts = []
    for is_booked in wanted_booked:
        for number, (status, part) in enumerate(PARTS):
            if status in statuses and counts.get((status, is_booked), 0):
                parts.append(_part(clock, status, part, is_booked, offset + per_page,
                                   number + (len(PARTS) if is_booked else 0)))
    if not parts:
        return Page([], page, per_page, total, counts)
    union = union_all(*(p.subquery().select() for p in parts)).subquery()
    chosen = (select(union).order_by(union.c.part, union.c.day, union.c.course_id)
              .offset(offset).limit(per_page).subquery())
    stmt = (select(*_row_columns(clock), chosen.c.booked)
            .select_from(chosen).join(Course, Course.id == chosen.c.course_id)
            .join(Patient, Patient.id == Course.patient_id)
            .order_by(chosen.c.part, chosen.c.day, chosen.c.course_id))
    return Page(db.session.execute(stmt).all(), page, per_page, total, counts)


def _row_columns(clock: Clock):
    return (Course.id.label("course_id"), Course.patient_id, Patient.mrn, Patient.first_name,
            Patient.last_name, status_expr(clock).label("status"), Course.anchor_date,
            Course.window_opens, Course.window_closes, Course.last_qualifying_on,
            next_appointment_expr(clock).label("next_appointment"))


def worklist_counts(clock: Clock, search=None) -> dict[tuple[str, bool], int]:
    """{(status, booked): number of patients} for the four worklist statuses.

    Each status is counted on its own index range; booked patients are counted from the
    active appointments (few) rather than by testing every patient on the worklist (many).
    A search narrows the list to a few patients, which are counted directly.
    """
    status = status_expr(clock).label("status")
    if search is not None:
        rows = _searched(clock, URGENCY, search).subquery()
        stmt = select(rows.c.status, rows.c.booked, func.count()).group_by(rows.c.status, rows.c.booked)
        found = {(name, bool(booked)): n for name, booked, n in db.session.execute(stmt)}
        return {(name, b): found.get((name, b), 0) for name in URGENCY for b in (False, True)}
    part_counts = db.session.execute(select(*(
        select(func.count()).select_from(Course).where(_part_where(clock, name, part))
        .scalar_subquery() for name, part in PARTS))).one()
    totals = dict.fromkeys(URGENCY, 0)
    for (name, _part), n in zip(PARTS, part_counts):
        totals[name] += n
    appointed = (select(Appointment.course_id).where(Appointment.status.in_(ACTIVE_STATUSES))
                 .distinct().subquery())
    booked = dict(db.session.execute(
        select(status, func.count()).select_from(appointed)
        .join(Course, Course.id == appointed.c.course_id)
        .where(status_filter(URGENCY, clock), booked_expr(clock)).group_by(status)).all())
    counts = {}
    for name, total in totals.items():
        counts[(name, True)] = booked.get(name, 0)
        counts[(name, False)] = total - booked.get(name, 0)
    return counts


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


