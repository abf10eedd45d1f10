"""The REMS forms of a patient in brief, for the patient page (one query)."""

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select

from ..extensions import db
from ..models import Infusion, RemsCourse, RemsForm
from . import rules
from .service import GIVEN_OUTCOMES


def form_summaries(patient_id: int, *, today: date, zone: ZoneInfo) -> dict[int, str]:
    """{infusion id: 'REMS form filed' | 'REMS form not written: due in 3 days' | ...} for each
    session that needs a form or has one."""
    rows = db.session.execute(
        select(
            Infusion.id,
            Infusion.given_at,
            Infusion.given_on,
            Infusion.outcome,
            Infusion.entered_in_error_at,
            RemsCourse.sessions_from,
            RemsCourse.turned_off_at,
            RemsForm.id,
            RemsForm.filed_on,
        )
        .outerjoin(RemsCourse, RemsCourse.course_id == Infusion.course_id)
        .outerjoin(
            RemsForm,
            and_(RemsForm.infusion_id == Infusion.id, RemsForm.entered_in_error_at.is_(None)),
        )
        .where(
            Infusion.patient_id == patient_id,
            or_(RemsCourse.course_id.is_not(None), RemsForm.id.is_not(None)),
        )
    ).all()
    summaries = {}
    for (
        infusion_id,
        given_at,
        given_on,
        outcome,
        in_error_at,
        sessions_from,
        off_at,
        form_id,
        filed_on,
    ) in rows:
        if filed_on is not None:
            summaries[infusion_id] = "REMS form filed"
            continue
        needed = (
            sessions_from is not None
            and off_at is None
            and in_error_at is None
            and outcome in GIVEN_OUTCOMES
            and given_on >= sessions_from
        )
        if not needed and form_id is None:
            continue
        words = rules.due_words(rules.due_on(given_at, zone), today)
        state = "written, not filed" if form_id is not None else "not written"
        summaries[infusion_id] = f"REMS form {state}: {words.lower()}"
    return summaries
