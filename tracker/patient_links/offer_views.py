"""A waitlist offer: the link in the "an earlier time is free" email. The page shows the time
and until when the offer stands; booking it is a POST from the page. The first patient to
accept a block gets it; the others are told it was taken."""

from __future__ import annotations

from flask import redirect, url_for

from ..extensions import db
from ..models import Patient, WaitlistOffer
from ..saving import commit
from ..services import waitlist
from ..services.clinic import get_settings
from . import bp
from .common import describe, link_problem, now, render_page, today
from .forms import ActionForm
from .tokens import LinkProblem, make_token, read_token

OFFER_PAGE = "patient_links/offer.html"


def _resolve(token: str):
    """(patient, offer) named by a valid offer link, or the page to answer with instead."""
    try:
        link = read_token("offer", token)
    except LinkProblem as problem:
        return None, link_problem(expired=problem.expired)
    patient = db.session.get(Patient, link.patient_id)
    offer = db.session.get(WaitlistOffer, link.target_id)
    if patient is None or offer is None or offer.patient_id != patient.id:
        return None, link_problem()
    return (patient, offer), None


def _page(token, patient, offer, *, status=200, error=None):
    state = waitlist.offer_state(offer, now())
    settings = get_settings()
    manage_url = None
    if state == "accepted" and offer.appointment_id is not None:
        manage_url = url_for(
            "patient_links.manage", token=make_token("manage", patient.id, offer.appointment_id)
        )
    return render_page(
        OFFER_PAGE,
        status=status,
        token=token,
        form=ActionForm(),
        first_name=patient.first_name,
        visit=describe(offer),
        until=describe_instant(offer.expires_at),
        state=state,
        error=error,
        manage_url=manage_url,
        phone=settings.phone,
    )


def describe_instant(instant) -> str:
    """An instant as "<day> at <time>" in the clinic's style."""
    from ..formatting import request_style

    style = request_style()
    return f"{style.day(instant)} at {style.clock(instant)}"


@bp.get("/offer/<token>")
def offer(token):
    """The offered time, and whether it can still be taken."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, offered = resolved
    return _page(token, patient, offered)


@bp.post("/offer/<token>")
def accept_offer(token):
    """Book the offered time; the confirmation is planned in the outbox with the booking."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, offered = resolved
    form = ActionForm()
    if not form.validate():
        return redirect(url_for("patient_links.offer", token=token), 303)
    offer_id = offered.id
    saved = commit(
        form,
        lambda: waitlist.accept(offer_id, now=now(), today=today(), settings=get_settings()),
    )
    if saved is None:
        offered = db.session.get(WaitlistOffer, offer_id)
        return _page(token, patient, offered, status=409, error=" ".join(form.form_errors))
    return redirect(url_for("patient_links.offer", token=token), 303)
