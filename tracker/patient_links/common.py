"""What every patient page shares: the rate limit, the clinic's name, the one clock read per
request, and the page for a link that cannot be used."""

from __future__ import annotations

from datetime import datetime

from flask import g, render_template, request

from ..models import utcnow
from ..services.clinic import clinic_today, get_settings
from . import bp
from .limits import page_allowed
from .messages import visit_facts

LINK_PAGE = "patient_links/link_problem.html"


@bp.before_request
def limit_requests():
    """Too many requests from one source: a short page asking to wait (429)."""
    if not page_allowed(request.remote_addr or "unknown"):
        return render_page("patient_links/too_many.html", status=429)
    return None


def now() -> datetime:
    """The request's one reading of the clock."""
    if "patient_now" not in g:
        g.patient_now = utcnow()
    return g.patient_now


def today():
    """The clinic's date for this request."""
    if "patient_today" not in g:
        g.patient_today = clinic_today()
    return g.patient_today


def render_page(template: str, status: int = 200, **context):
    """A patient page: the clinic's display name and contact details, never the product's."""
    settings = get_settings()
    return render_template(template, settings=settings, **context), status


def link_problem(expired: bool = False, gone: str | None = None, expired_state: str = "expired"):
    """A link that is forged, altered, expired or points at something gone: say what to do
    (`expired_state` names the expired page of a kind of link that says something else)."""
    state = expired_state if expired else (gone or "invalid")
    return render_page(LINK_PAGE, status=200 if gone else 400, state=state)


def describe(appointment) -> dict:
    """Day and time of a visit in the emails' words."""
    return visit_facts(appointment)
