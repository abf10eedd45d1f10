"""Manage-my-visit: the link in every appointment email. The page shows the visit; confirm,
move, cancel and "please call me" are each a POST from it (a GET never changes anything, as
mail scanners open links)."""

from __future__ import annotations

from flask import redirect, request, url_for

from ..extensions import db
from ..models import Appointment, Patient
from ..saving import commit
from ..services.clinic import get_settings
from . import bp, visits
from .common import describe, link_problem, now, render_page, today
from .forms import ActionForm, CancelForm, SlotForm
from .picker import offer, picked_time
from .tokens import LinkProblem, read_token

MANAGE_PAGE = "patient_links/manage.html"
DONE = {
    "confirmed": "Thank you: your visit is confirmed.",
    "already": "Your visit was already confirmed.",
    "moved": "Your visit has been moved. The new time is shown below.",
    "call": "Thank you: we will call you on the number we have for you.",
}


def _resolve(token: str):
    """(patient, the visit the link now stands for), or the page to answer with instead."""
    try:
        link = read_token("manage", token)
    except LinkProblem as problem:
        return None, link_problem(expired=problem.expired)
    patient = db.session.get(Patient, link.patient_id)
    appointment = db.session.get(Appointment, link.target_id)
    if patient is None or appointment is None or appointment.patient_id != patient.id:
        return None, link_problem()
    return (patient, visits.current_visit(appointment)), None


def _page(token, patient, visit, *, status=200, cancel_form=None, error=None, done=None):
    settings = get_settings()
    changeable = visit.status in visits.CHANGEABLE and visit.start_at > now()
    late = changeable and visits.inside_cutoff(visit, now(), settings)
    return render_page(
        MANAGE_PAGE,
        status=status,
        token=token,
        first_name=patient.first_name,
        visit=describe(visit),
        status_word=visit.status,
        changeable=changeable,
        late=late,
        late_cancel=settings.online_late_cancel,
        action_form=ActionForm(),
        cancel_form=cancel_form or CancelForm(formdata=None),
        error=error,
        done=DONE.get(done or ""),
        moved_from_link=visit.rescheduled_from_id is not None,
    )


@bp.get("/visit/<token>")
def manage(token):
    """The visit: day, time, clinic and address, and what the patient may do with it."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, visit = resolved
    return _page(token, patient, visit, done=request.args.get("done"))


def _act(token, action, done: str):
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, visit = resolved
    form = ActionForm()
    if not form.validate():
        return redirect(url_for("patient_links.manage", token=token), 303)
    saved = commit(form, lambda: action(visit))
    if saved is None:
        return _page(token, patient, visit, status=409, error=" ".join(form.form_errors))
    changed = saved.result
    return redirect(
        url_for(
            "patient_links.manage", token=token, done=done if changed is not False else "already"
        ),
        303,
    )


@bp.post("/visit/<token>/confirm")
def confirm(token):
    """Confirm the visit."""
    return _act(token, lambda visit: visits.confirm(visit, now=now()), "confirmed")


@bp.post("/visit/<token>/call")
def call_me(token):
    """Ask the clinic to call."""
    return _act(token, visits.call_me, "call")


@bp.post("/visit/<token>/cancel")
def cancel(token):
    """Cancel the visit with a reason (refused inside the cut-off unless the clinic takes late cancels)."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, visit = resolved
    form = CancelForm()
    if not form.validate():
        return _page(token, patient, visit, status=400, cancel_form=form)
    saved = commit(
        form, lambda: visits.cancel(visit, form.reason.data, now=now(), settings=get_settings())
    )
    if saved is None:
        if form.reason.errors:
            return _page(token, patient, visit, status=400, cancel_form=form)
        return _page(token, patient, visit, status=409, error=" ".join(form.form_errors))
    return redirect(url_for("patient_links.manage", token=token), 303)


def _move_page(token, patient, visit, form, status=200, error=None):
    settings = get_settings()
    if visits.inside_cutoff(visit, now(), settings) or visit.status not in visits.CHANGEABLE:
        return _page(
            token,
            patient,
            visit,
            status=409 if error else 200,
            error=error or str(visits.refused_inside_cutoff(settings)),
        )
    offered = offer(patient, visit.appointment_type, now=now(), today=today(), settings=settings)
    return render_page(
        "patient_links/move.html",
        status=status,
        token=token,
        form=form,
        first_name=patient.first_name,
        visit=describe(visit),
        times=offered.times,
        error=error,
    )


@bp.get("/visit/<token>/move")
def move_times(token):
    """Other free times the visit can move to."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, visit = resolved
    return _move_page(token, patient, visit, SlotForm(formdata=None))


@bp.post("/visit/<token>/move")
def move(token):
    """Move the visit to the chosen time, in place: the same visit, so this link keeps working."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, visit = resolved
    form = SlotForm()
    picked = picked_time(form)
    if picked is None:
        return _move_page(token, patient, visit, form, status=400)
    saved = commit(
        form,
        lambda: visits.move(
            visit,
            chair_id=picked.chair_id,
            start_at=picked.start_at,
            now=now(),
            today=today(),
            settings=get_settings(),
        ),
    )
    if saved is None:
        if form.slot.errors:
            return _move_page(token, patient, visit, form, status=409)
        return _page(token, patient, visit, status=409, error=" ".join(form.form_errors))
    return redirect(url_for("patient_links.manage", token=token, done="moved"), 303)
