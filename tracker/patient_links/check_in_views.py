"""The check-in link: the clinic's questions between visits. A GET only shows the page; the
answers are saved by a POST from it, once a day at most; a link for a finished course says so."""

from __future__ import annotations

from flask import redirect, request, url_for

from ..check_ins import service as check_ins
from ..check_ins import settings as check_in_settings
from ..check_ins.patient_form import RELIEF_LABELS, check_in_form, item_field
from ..extensions import db
from ..models import Course, Patient
from ..outcomes.instruments import INSTRUMENTS
from ..saving import commit
from . import bp
from .common import link_problem, now, render_page, today
from .tokens import LinkProblem, read_token

PAGE = "patient_links/check_in.html"


def _resolve(token: str):
    """(patient, course) a valid check-in link names, or the page to answer with instead."""
    try:
        link = read_token("check_in", token)
    except LinkProblem as problem:
        return None, link_problem(expired=problem.expired, expired_state="check_in_expired")
    patient = db.session.get(Patient, link.patient_id)
    course = db.session.get(Course, link.target_id)
    if patient is None or course is None or course.patient_id != patient.id:
        return None, link_problem()
    if check_ins.finished(course):
        return None, link_problem(gone="check_in_finished")
    return (patient, course), None


def _questions(form) -> list[dict]:
    """Each instrument's stem and its items' fields, for the template (no instrument names)."""
    return [
        {
            "stem": INSTRUMENTS[code].stem,
            "fields": [
                form[item_field(position, n)] for n in range(1, len(INSTRUMENTS[code].items) + 1)
            ],
            "scale": not INSTRUMENTS[code].answers,
        }
        for position, code in enumerate(form.instruments, start=1)
    ]


def _page(token, patient, course, form, *, status=200, answered=None):
    return render_page(
        PAGE,
        status=status,
        token=token,
        first_name=patient.first_name,
        form=form,
        questions=_questions(form),
        relief_labels=RELIEF_LABELS,
        as_needed=course.mode == "as_needed",
        answered=answered,
        thanked=request.args.get("sent") == "1",
    )


def _form(course, *, formdata=None):
    settings = check_in_settings.get_check_in_settings()
    return check_in_form(
        check_in_settings.chosen_instruments(settings),
        as_needed=course.mode == "as_needed",
        formdata=formdata,
    )


@bp.get("/check-in/<token>")
def check_in(token):
    """The clinic's questions (or, once answered today, a thank-you)."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, course = resolved
    answered = check_ins.answered_on(course.id, today())
    return _page(token, patient, course, _form(course), answered=answered)


@bp.post("/check-in/<token>")
def send_check_in(token):
    """Save the answers as the patient's outcome measures; a field error shows the page again
    with nothing saved."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, course = resolved
    form = _form(course, formdata=True)
    if not form.validate():
        return _page(token, patient, course, form, status=400)
    saved = commit(
        form,
        lambda: check_ins.record_check_in(
            patient,
            course,
            answers=form.answers(),
            relief_worn_off=form.relief(),
            visit_requested=form.asks_for_visit(),
            now=now(),
            today=today(),
        ),
    )
    if saved is None:
        answered = check_ins.answered_on(course.id, today())
        return _page(
            token, patient, course, form, status=409 if answered else 400, answered=answered
        )
    return redirect(url_for("patient_links.check_in", token=token, sent=1), 303)
