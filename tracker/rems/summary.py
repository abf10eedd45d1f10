"""The REMS forms of a patient in brief, for the patient page (two queries)."""

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from ..models import Infusion, RemsCourse, RemsForm
from . import rules
from .service import GIVEN_OUTCOMES


def form_summaries(patient_id: int, *, today: date, zone: ZoneInfo) -> dict[int, str]:
    """{infusion id: 'REMS form filed' | 'REMS form: Due in 3 days' | ...} for each session that
    needs a form or has one."""
    sessions = db.session.execute(
        select(Infusion.id, Infusion.given_at, Infusion.given_on, RemsCourse.sessions_from)
        .join(RemsCourse, RemsCourse.course_id == Infusion.course_id)
        .where(
            Infusion.patient_id == patient_id,
            RemsCourse.turned_off_at.is_(None),
            Infusion.entered_in_error_at.is_(None),
            Infusion.outcome.in_(GIVEN_OUTCOMES),
        )
    ).all()
    forms = {
        form.infusion_id: form
        for form in db.session.scalars(
            select(RemsForm).where(
                RemsForm.patient_id == patient_id, RemsForm.entered_in_error_at.is_(None)
            )
        )
    }
    summaries = {infusion_id: "REMS form filed" for infusion_id, f in forms.items() if f.filed_on}
    for infusion_id, given_at, given_on, sessions_from in sessions:
        if infusion_id in summaries or given_on < sessions_from:
            continue
        words = rules.due_words(rules.due_on(given_at, zone), today)
        state = "written, not filed" if infusion_id in forms else "not written"
        summaries[infusion_id] = f"REMS form {state}: {words.lower()}"
    return summaries
