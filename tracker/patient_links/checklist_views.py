"""Before-your-visit questions on the manage-my-visit link: the page shows the clinic's questions
for this kind of visit with the answers given so far; only a POST from the page saves them
(a GET never changes anything, as mail scanners open links)."""

from __future__ import annotations

from flask import redirect, request, url_for

from ..checklist_form import checklist_form
from ..extensions import db
from ..models import Appointment, Patient
from ..saving import commit
from ..services import checklist as checklist_service
from . import bp, visits
from .common import describe, link_problem, now, render_page
from .tokens import LinkProblem, read_token

PAGE = "patient_links/checklist.html"


def _visit_of(token: str):
    """(patient, visit) the manage link stands for, or the page to answer with instead.

    The same reading of the link as the manage page's; kept here so the two view modules do
    not import each other."""
    try:
        link = read_token("manage", token)
    except LinkProblem as problem:
        return None, link_problem(expired=problem.expired)
    patient = db.session.get(Patient, link.patient_id)
    appointment = db.session.get(Appointment, link.target_id)
    if patient is None or appointment is None or appointment.patient_id != patient.id:
        return None, link_problem()
    return (patient, visits.current_visit(appointment)), None


def _open(visit) -> bool:
    return visit.status in visits.CHANGEABLE and visit.start_at > now()


def _page(token, patient, visit, form, *, status=200, saved=False):
    return render_page(
        PAGE,
        status=status,
        token=token,
        first_name=patient.first_name,
        visit=describe(visit),
        open=_open(visit),
        form=form,
        saved=saved,
    )


@bp.get("/visit/<token>/checklist")
def checklist_page(token):
    """The questions for this visit with the answers given so far."""
    resolved, problem = _visit_of(token)
    if resolved is None:
        return problem
    patient, visit = resolved
    items = checklist_service.items_for(visit.appointment_type_id)
    form = checklist_form(items, checklist_service.answers_for(visit.id))
    return _page(token, patient, visit, form, saved=request.args.get("saved") == "1")


@bp.post("/visit/<token>/checklist")
def save_checklist(token):
    """Save the patient's answers; a field error (a driver's phone that is not one) shows the
    page again with nothing saved."""
    resolved, problem = _visit_of(token)
    if resolved is None:
        return problem
    patient, visit = resolved
    items = checklist_service.items_for(visit.appointment_type_id)
    form = checklist_form(items, from_request=True)
    if not _open(visit):
        return _page(token, patient, visit, form, status=409)
    if not form.validate():
        return _page(token, patient, visit, form, status=400)
    saved = commit(
        form,
        lambda: checklist_service.record_answers(
            visit, form.answers(request.form), actor="patient"
        ),
    )
    if saved is None:
        return _page(token, patient, visit, form, status=400)
    return redirect(url_for("patient_links.checklist_page", token=token, saved=1), 303)
