"""The worklist's part counts are kept while the data is unchanged, and never go stale."""

from datetime import date

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from tracker.database import data_version
from tracker.extensions import db
from tracker.models import Course
from tracker.services.clinic import get_settings
from tracker.status import clock_for
from tracker.worklist.queries import PARTS, part_sizes

from .course_helpers import book, maintenance_course
from .factories import local_noon

ON = date(2026, 10, 1)
OVERDUE = PARTS.index(("overdue", "dated"))


def _count_statements(app, work):
    """How many SQL statements `work()` issues."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = work()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return result, len(statements)


def _overdue_patient():
    """A patient anchored 2026-06-03: overdue on 2026-10-01 (closes 2026-09-01, grace 90)."""
    course = maintenance_course(date(2026, 6, 3))
    db.session.commit()
    return course


def test_counts_are_reused_while_nothing_changes(app_ctx):
    """A second count with no commit in between reads only the data version."""
    _overdue_patient()
    clock = clock_for(ON, get_settings())
    first, counted = _count_statements(app_ctx, lambda: part_sizes(clock))
    db.session.commit()
    again, reused = _count_statements(app_ctx, lambda: part_sizes(clock))
    assert first == again and first[("open", OVERDUE)] == 1
    if db.engine.dialect.name == "sqlite":
        # PostgreSQL's snapshot is the cluster's: a test on another database may move it.
        assert reused == 1 < counted


def test_a_commit_elsewhere_is_seen_at_once(app_ctx):
    """A change committed on another connection (a hold) takes the patient off at once."""
    course = _overdue_patient()
    clock = clock_for(ON, get_settings())
    assert part_sizes(clock)[("open", OVERDUE)] == 1  # the session keeps its connection
    with Session(db.engine) as other:
        other.execute(update(Course).where(Course.id == course.id).values(state="on_hold"))
        other.commit()
    assert part_sizes(clock)[("open", OVERDUE)] == 0


def test_an_own_commit_is_seen_at_once(app_ctx):
    """A booking committed on the same connection moves the patient too."""
    course = _overdue_patient()
    clock = clock_for(ON, get_settings())
    assert part_sizes(clock)[("open", OVERDUE)] == 1
    book(course, local_noon(date(2026, 10, 5)))
    db.session.commit()
    assert part_sizes(clock)[("booked", OVERDUE)] == 1


def test_uncommitted_writes_are_never_kept(app_ctx):
    """Inside a transaction that has written, there is no data version: nothing is kept."""
    course = _overdue_patient()
    book(course, local_noon(date(2026, 10, 5)))
    assert data_version(db.session) is None
    clock = clock_for(ON, get_settings())
    assert part_sizes(clock)[("booked", OVERDUE)] == 1
    db.session.rollback()
    assert part_sizes(clock)[("open", OVERDUE)] == 1
