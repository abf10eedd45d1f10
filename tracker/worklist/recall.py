"""The recall half of the worklist: patients called lately sort below those not yet called.

A patient is "called" when an outreach attempt was logged for them since `called_since`
(services/outreach.called_since: the start of the clinic's quiet days). Called patients are
few (the calls of a few days), so their rows are found from the attempts, never by testing
every course, as the booked rows are found from the appointments (queries._booked_part).
"""

from __future__ import annotations

from sqlalchemy import bindparam, case, exists, func, literal, select

from ..models import OPEN_STATES, Course, OutreachAttempt
from ..models.types import UTCDateTime
from ..status import Clock, booked_expr


def since_param():
    """The bound parameter the cached worklist statements compare call times with."""
    return bindparam("called_since", type_=UTCDateTime())


def called_expr(since):
    """EXISTS an attempt to reach the course's patient at or after `since`."""
    return exists().where(
        OutreachAttempt.patient_id == Course.patient_id, OutreachAttempt.at >= since
    )


def _called_patients(since):
    """The patients with an attempt since `since`: an index range on the attempts' time."""
    return (
        select(OutreachAttempt.patient_id).where(OutreachAttempt.at >= since).distinct().subquery()
    )


def called_part(clock: Clock, number: int, where, day, skip, take, from_end: bool):
    """The unbooked, lately called courses of one worklist part, in page order.

    Each called patient's open course is looked up through the index on (patient, state);
    `where` is the part's clause and `day` the date it is ordered by.
    """
    called = _called_patients(since_param())
    course = (
        select(Course.id)
        .where(
            Course.patient_id == called.c.patient_id,
            Course.state.in_(OPEN_STATES),
            where,
            ~booked_expr(clock),
        )
        .limit(1)
        .scalar_subquery()
    )
    keyed = select(course.label("course_id")).select_from(called).subquery()
    order = (day.desc(), Course.id.desc()) if from_end else (day, Course.id)
    return (
        select(
            Course.id.label("course_id"),
            literal(number).label("part"),
            day.label("day"),
            literal(False).label("booked"),
            literal(True).label("called"),
        )
        .select_from(keyed)
        .join(Course, Course.id == keyed.c.course_id)
        .order_by(*order)
        .offset(skip)
        .limit(take)
    )


def called_counts(clock: Clock, parts: dict) -> object:
    """SELECT (part name, patients) for the unbooked, lately called courses.

    `parts` maps each "status:part" name to its WHERE clause; a course in none counts as NULL.
    """
    called = _called_patients(since_param())
    part = case(*((where, literal(name)) for name, where in parts.items()), else_=None)
    keyed = (
        select(
            select(part)
            .where(
                Course.patient_id == called.c.patient_id,
                Course.state.in_(OPEN_STATES),
                ~booked_expr(clock),
            )
            .limit(1)
            .scalar_subquery()
            .label("part")
        )
        .select_from(called)
        .subquery()
    )
    return select(keyed.c.part, func.count().label("n")).group_by(keyed.c.part)
