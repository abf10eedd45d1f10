"""The worklist queries: who needs action, in what order, one page at a time."""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Sequence

from sqlalchemy import Date, and_, bindparam, case, false, func, literal, or_, select, union_all

from ..database import data_version
from ..extensions import db
from ..models import ACTIVE_STATUSES, Appointment, Course, Patient
from ..services import outreach
from ..services.search import SearchQuery, matching_ids
from . import recall
from ..status import (
    Clock, after_anchor, booked_expr, next_appointment_expr, open_courses, status_expr,
    status_filter, status_parts,
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


def _param_clock(zone: str, utc_offset_minutes: int) -> Clock:
    """A Clock whose dates are bound parameters: statements built on it serve every day."""
    return Clock(on=bindparam("on", type_=Date()),
                 interrupted_before=bindparam("interrupted_before", type_=Date()),
                 lapsed_before=bindparam("lapsed_before", type_=Date()),
                 zone=zone, utc_offset_minutes=utc_offset_minutes)


def _dates(clock: Clock) -> dict:
    """The values of a parameter clock's dates for the day `clock.on`."""
    return {"on": clock.on, "interrupted_before": clock.interrupted_before,
            "lapsed_before": clock.lapsed_before}


# The worklist in parts: (status, part) pairs in page order within each kind of row. A
# maintenance course with no window yet is due with nothing to wait for: it comes first.
# Holds whose resume date has come are back on the list, each after its status's own part.
PARTS = (("overdue", "dated"), ("overdue", "resumed"), ("due", "undated"), ("due", "dated"),
         ("due", "resumed_undated"), ("due", "resumed"), ("interrupted", "dated"), ("interrupted", "resumed"),
         ("lapsed", "dated"), ("lapsed", "resumed"))
# Kinds of rows in page order: unbooked and not called lately (the calls to make), unbooked
# but called in the clinic's quiet days (recall.py), booked.
KINDS = ("open", "called", "booked")


def _part(clock: Clock, number: int, kind: str, skip, take, from_end: bool, calls: bool):
    """`take` course ids of one part of the worklist after skipping `skip`, in page order.

    A part is ordered by the date that makes it urgent (window close, or the last series
    session for an interrupted series), then course id: the order of an index on (state,
    mode, window_closes) or (state, last_qualifying_on), so the database reads only the rows
    it skips and returns. `from_end` reads the part backwards, `skip` counted from its end.
    """
    status, part = PARTS[number]
    day = Course.last_qualifying_on if status == "interrupted" else Course.window_closes
    if kind == "booked":
        return _booked_part(clock, number, skip, take, from_end)
    if kind == "called":
        return recall.called_part(clock, number + len(PARTS), _part_where(clock, status, part),
                                  day, skip, take, from_end)
    stmt = select(Course.id.label("course_id"), literal(number).label("part"),
                  day.label("day"), literal(False).label("booked"), literal(False).label("called"))
    stmt = stmt.where(_part_where(clock, status, part), ~booked_expr(clock))
    if calls:
        stmt = stmt.where(~recall.called_expr(recall.since_param()))
    order = (day.desc(), Course.id.desc()) if from_end else (day, Course.id)
    return stmt.order_by(*order).offset(skip).limit(take)


def _booked_part(clock: Clock, number: int, skip, take, from_end: bool):
    """_part for booked patients, who are few: read from the appointed courses.

    Each appointed course is looked up by its primary key (correlated subqueries, as
    part_sizes counts them), so the database never walks a whole part testing every course
    for an appointment (a join lets SQLite's planner choose that walk).
    """
    status, part = PARTS[number]
    day = Course.last_qualifying_on if status == "interrupted" else Course.window_closes
    appointed = _appointed().subquery()
    mine = and_(Course.id == appointed.c.course_id, _part_where(clock, status, part),
                after_anchor(clock, appointed.c.last_start))
    keyed = (select(select(Course.id).where(mine).scalar_subquery().label("course_id"),
                    select(day).where(Course.id == appointed.c.course_id)
                    .scalar_subquery().label("day"))
             .select_from(appointed).subquery())
    order = (keyed.c.day.desc(), keyed.c.course_id.desc()) if from_end else \
        (keyed.c.day, keyed.c.course_id)
    return (select(keyed.c.course_id, literal(number + 2 * len(PARTS)).label("part"),
                   keyed.c.day, literal(True).label("booked"), literal(False).label("called"))
            .where(keyed.c.course_id.is_not(None)).order_by(*order).offset(skip).limit(take))


def _appointed():
    """Each course with an active appointment, and the start of its latest one.

    A course is booked exactly when that latest appointment starts after its anchor
    (status.booked_expr's rule, read once per course).
    """
    return (select(Appointment.course_id, func.max(Appointment.start_at).label("last_start"))
            .where(Appointment.status.in_(ACTIVE_STATUSES), Appointment.course_id.is_not(None))
            .group_by(Appointment.course_id))


def _part_where(clock: Clock, status: str, part: str):
    """The WHERE clause of one part: a single index range each (no OR for the planner)."""
    return status_parts(status, clock)[part]


def worklist_page(clock: Clock, *, statuses: Sequence[str], booked: bool | None,
                  search: SearchQuery | None = None, page: int, per_page: int,
                  called_since: datetime | None = None, not_called_only: bool = False) -> Page:
    """The page of the worklist: the calls to make first, then by URGENCY, oldest date first.

    Unbooked patients come first because they are the front desk's work: a booked patient
    already has a chair; among them, those called since `called_since` (the clinic's quiet
    days) come after those not called yet (`not_called_only` leaves them out). Then overdue
    (longest overdue first: nearest to lapsing), due (window closing soonest first; a
    maintenance course with no window yet first of all), interrupted (longest gap since the
    last series session first), lapsed (lapsed longest first). Four statements at most
    whatever the number of patients: the counts of each part, the booked and the called
    counts, and the page: a UNION ALL of the parts that overlap the page, each read from its
    nearer end, so the last page costs what the first does (a search: two).
    """
    calls = called_since is not None
    kinds = _kinds(booked, calls, not_called_only)
    if search is not None:  # a search narrows the list to a few patients: sort them directly
        found = matching_ids(search)
        counts = searched_counts(clock, found)
        stmt = export_rows(clock, statuses=statuses, booked=booked, search=search,
                           called_since=called_since, not_called_only=not_called_only)
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        number, offset = _page_offset(page, per_page, total)
        return Page(db.session.execute(stmt.offset(offset).limit(per_page)).all(),
                    number, per_page, total, counts)
    sizes = part_sizes(clock, called_since)
    blocks = [(kind, number, sizes[(kind, number)]) for kind in kinds
              for number, (status, _part) in enumerate(PARTS) if status in statuses]
    total = sum(size for _, _, size in blocks)
    number, offset = _page_offset(page, per_page, total)
    end = min(offset + per_page, total)
    shape, params, start = [], _dates(clock), 0
    if calls:
        params["called_since"] = called_since
    for kind, part, size in blocks:
        first, last = max(offset - start, 0), min(end - start, size)  # this part's slice
        if first < last:
            from_end = size - last < first
            params[f"skip_{len(shape)}"] = size - last if from_end else first
            params[f"take_{len(shape)}"] = last - first
            shape.append((part, kind, from_end))
        start += size
    counts = _by_status(sizes)
    if not shape:
        return Page([], number, per_page, total, counts)
    stmt = _page_statement(clock.zone, clock.utc_offset_minutes, tuple(shape), calls)
    return Page(db.session.execute(stmt, params).all(), number, per_page, total, counts)


def _kinds(booked: bool | None, calls: bool, not_called_only: bool) -> tuple[str, ...]:
    """The kinds of rows a filter shows, in page order."""
    unbooked = ("open",) if not calls or not_called_only else ("open", "called")
    if not_called_only:
        return unbooked if booked is not True else ()
    return {None: unbooked + ("booked",), False: unbooked, True: ("booked",)}[booked]


@lru_cache(maxsize=128)
def _page_statement(zone: str, utc_offset_minutes: int, shape: tuple, calls: bool):
    """The page as a UNION ALL of the parts in `shape`, (part, kind, from_end) each.

    Built once per shape (a page spans few parts): the dates, skips and takes are bound
    parameters, so the statement and its compiled SQL are reused from request to request.
    """
    clock = _param_clock(zone, utc_offset_minutes)
    parts = [_part(clock, part, kind, bindparam(f"skip_{n}"), bindparam(f"take_{n}"),
                   from_end, calls)
             for n, (part, kind, from_end) in enumerate(shape)]
    chosen = union_all(*(p.subquery().select() for p in parts)).subquery()
    return (select(*_row_columns(clock), chosen.c.booked, chosen.c.called)
            .select_from(chosen).join(Course, Course.id == chosen.c.course_id)
            .join(Patient, Patient.id == Course.patient_id)
            .order_by(chosen.c.part, chosen.c.day, chosen.c.course_id))


def _page_offset(page: int, per_page: int, total: int) -> tuple[int, int]:
    """(page number within range, offset of its first row)."""
    number = min(max(1, page), max(1, math.ceil(total / per_page)))
    return number, (number - 1) * per_page


def _row_columns(clock: Clock):
    return (Course.id.label("course_id"), Course.patient_id, Patient.mrn, Patient.first_name,
            Patient.last_name, status_expr(clock).label("status"), Course.anchor_date,
            Course.window_opens, Course.window_closes, Course.last_qualifying_on,
            next_appointment_expr(clock).label("next_appointment"), *CONTACT_COLUMNS,
            *outreach.contact_columns())


# What the front desk needs to call and to tell look-alike names apart.
CONTACT_COLUMNS = (Patient.date_of_birth, Patient.phone, Patient.email)


# Part sizes by (zone, offset, dates, database.data_version): counting is the one cost of a
# page that grows with the clinic, and staff open the same worklist again and again while
# nothing changes. The data version changes with any commit, so an entry is never stale.
_SIZES: OrderedDict = OrderedDict()
_SIZES_KEPT = 16


def part_sizes(clock: Clock, called_since: datetime | None = None) -> dict[tuple[str, int], int]:
    """{(kind, part number): patients} for every part of the worklist (KINDS).

    Each part is counted on its own index range. Booked patients are counted among the
    courses with an active appointment (few), found from an index on the appointment
    status, each course then read by its primary key: never by testing every course.
    Called patients are counted among the patients with an attempt since `called_since`.
    Counts are kept while the data is unchanged (see _SIZES).
    """
    version = data_version(db.session)
    key = (clock.zone, clock.utc_offset_minutes, *_dates(clock).values(), called_since, version)
    if version is not None and key in _SIZES:
        _SIZES.move_to_end(key)
        return dict(_SIZES[key])
    sizes = _count_parts(clock, called_since)
    if version is not None:
        _SIZES[key] = dict(sizes)
        while len(_SIZES) > _SIZES_KEPT:
            _SIZES.popitem(last=False)
    return sizes


def _count_parts(clock: Clock, called_since: datetime | None) -> dict[tuple[str, int], int]:
    """part_sizes counted in the database: two statements, three when calls sort lower."""
    statements = _size_statements(clock.zone, clock.utc_offset_minutes)
    dates = _dates(clock)
    totals = db.session.execute(statements["totals"], dates).one()
    booked: dict = {}
    called: dict = {}
    if called_since is None:
        booked = dict(db.session.execute(statements["booked"], dates).all())
    else:  # the booked and the called counts in one statement
        for kind, name, n in db.session.execute(statements["booked_called"],
                                                {**dates, "called_since": called_since}):
            (booked if kind == "booked" else called)[name] = n
    sizes = {}
    for number, ((name, part), total) in enumerate(zip(PARTS, totals)):
        sizes[("booked", number)] = booked.get(f"{name}:{part}", 0)
        sizes[("called", number)] = called.get(f"{name}:{part}", 0)
        sizes[("open", number)] = total - sizes[("booked", number)] - sizes[("called", number)]
    return sizes


@lru_cache(maxsize=8)
def _size_statements(zone: str, utc_offset_minutes: int) -> dict:
    """The statements part_sizes runs, built once per zone offset (dates are parameters)."""
    clock = _param_clock(zone, utc_offset_minutes)
    totals = select(*(
        select(func.count()).select_from(Course).where(_part_where(clock, status, part))
        .scalar_subquery() for status, part in PARTS))
    appointed = _appointed().subquery()
    # The part of each appointed course ("status:part"), NULL when not booked after its
    # anchor. A correlated subquery: one primary-key lookup per appointed course, which no
    # planner turns into a scan of every course (a join with a status filter may).
    part = case(*((_part_where(clock, status, name), literal(f"{status}:{name}"))
                  for status, name in PARTS), else_=None)
    keyed = (select(select(part).where(Course.id == appointed.c.course_id,
                                       after_anchor(clock, appointed.c.last_start))
                    .scalar_subquery().label("part"))
             .select_from(appointed).subquery())
    booked = select(keyed.c.part, func.count().label("n")).group_by(keyed.c.part)
    called = recall.called_counts(clock, {f"{status}:{name}": _part_where(clock, status, name)
                                          for status, name in PARTS})
    counted = [(kind, statement.subquery()) for kind, statement in (("booked", booked), ("called", called))]
    both = union_all(*(select(literal(kind).label("kind"), sub.c.part, sub.c.n) for kind, sub in counted))
    return {"totals": totals, "booked": booked, "booked_called": both}


def _by_status(sizes: dict[tuple[str, int], int]) -> dict[tuple[str, bool], int]:
    """{(status, booked): patients}, and {("called", False): patients} called lately."""
    counts = {(name, b): 0 for name in URGENCY for b in (False, True)}
    counts[("called", False)] = 0
    for (kind, number), n in sizes.items():
        counts[(PARTS[number][0], kind == "booked")] += n
        if kind == "called":
            counts[("called", False)] += n
    return counts


def searched_counts(clock: Clock, found) -> dict[tuple[str, bool], int]:
    """{(status, booked): number} among the patients a search found (few: counted directly)."""
    rows = _searched(clock, URGENCY, found).subquery()
    stmt = select(rows.c.status, rows.c.booked, func.count()).group_by(rows.c.status, rows.c.booked)
    found = {(name, bool(booked)): n for name, booked, n in db.session.execute(stmt)}
    return {(name, b): found.get((name, b), 0) for name in URGENCY for b in (False, True)}


def export_rows(clock: Clock, *, statuses: Sequence[str], booked: bool | None,
                search: SearchQuery | None = None, called_since: datetime | None = None,
                not_called_only: bool = False):
    """The whole filtered worklist as one ordered statement, in page order (for CSV).

    Each row also has the patient's contact details and `called` (an attempt since
    `called_since`).
    """
    chosen = [s for s in URGENCY if s in statuses]
    found = matching_ids(search) if search is not None else None
    stmt = open_courses(clock, chosen) if search is None else _searched(clock, chosen, found)
    called = recall.called_expr(called_since) if called_since is not None else literal(False)
    stmt = stmt.add_columns(*CONTACT_COLUMNS, called.label("called"), *outreach.contact_columns())
    if booked is not None:
        stmt = stmt.where(booked_expr(clock) if booked else ~booked_expr(clock))
    if not_called_only:
        stmt = stmt.where(~booked_expr(clock))
        if called_since is not None:
            stmt = stmt.where(~called)
    return stmt.order_by(*ordering(clock, called_since))


def _searched(clock: Clock, statuses: Sequence[str], found):
    """Open courses of the patients a search found (`found`: their ids, or None for nobody).

    The status is tested on the CASE (not the index ranges) and the patients as a list of
    ids, so the database finds the few matching patients first, then their courses.
    """
    if found is None:
        return open_courses(clock).where(false())
    return (open_courses(clock)
            .where(Course.patient_id.in_(found), status_expr(clock).in_(list(statuses))))


def ordering(clock: Clock, called_since: datetime | None = None):
    """ORDER BY terms equal to the page order (booked, called, urgency, date, course id)."""
    rank = case({s: n for n, s in enumerate(URGENCY)}, value=status_expr(clock))
    in_series = or_(Course.state == "series_in_progress",
                    and_(Course.state == "on_hold", Course.state_before_hold == "series_in_progress"))
    day = case((in_series, Course.last_qualifying_on), else_=Course.window_closes)
    resumed = case((Course.state == "on_hold", 1), else_=0)  # PARTS: a status's "resumed" part last
    called = () if called_since is None else (recall.called_expr(called_since),)
    return (booked_expr(clock), *called, rank, resumed, case((day.is_(None), 0), else_=1), day,
            Course.id)


def upcoming_page(clock: Clock, *, days: int, page: int, per_page: int) -> Page:
    """Patients whose window opens after `on` and within `days` days, soonest first."""
    until = clock.on + timedelta(days=days)
    where = and_(status_filter(["not_yet_due"], clock), Course.window_opens <= until)
    total = db.session.scalar(select(func.count()).select_from(Course).where(where))
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    stmt = (open_courses(clock).add_columns(*CONTACT_COLUMNS, literal(False).label("called"),
                                            *outreach.contact_columns())
            .where(where).order_by(Course.window_opens, Course.id)
            .offset((page - 1) * per_page).limit(per_page))
    return Page(db.session.execute(stmt).all(), page, per_page, total)


