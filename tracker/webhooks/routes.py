"""The admin's webhooks pages: register an endpoint and its events (its signing secret shown
once), pause it, send a test, and read the delivery log."""

import logging

from flask import Blueprint, flash, redirect, render_template, url_for
from sqlalchemy import select

from ..extensions import db
from ..models import WebhookDelivery, WebhookEndpoint, utcnow
from ..saving import acting_user, commit, save
from ..security import roles_required
from .endpoints import add_endpoint, queue_test
from .endpoints import set_active as set_endpoint_active
from .forms import EVENT_LABELS, ActiveForm, ButtonForm, EndpointForm
from .sending import claim, deliver, worker_name

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")
log = logging.getLogger(__name__)

LOG_ROWS = 50


@bp.before_request
@roles_required("admin")
def admin_only():
    """Every webhooks page needs an admin."""


def _index_page(form: EndpointForm, *, secret: str | None = None, status: int = 200):
    endpoints = list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
    return render_template(
        "webhooks/index.html", form=form, endpoints=endpoints, secret=secret, labels=EVENT_LABELS
    ), status


@bp.route("/", methods=["GET", "POST"])
@roles_required("admin")
def index():
    """The endpoints, and the form to add one."""
    form = EndpointForm()
    if form.validate_on_submit():
        saved = commit(
            form,
            lambda: add_endpoint(
                url=form.url.data,
                description=form.description.data or "",
                events=form.events.data,
                actor=acting_user(),
                now=utcnow(),
            ),
        )
        if saved is not None:
            return _index_page(EndpointForm(formdata=None), secret=saved.result.secret, status=201)
    return _index_page(form, status=400 if form.is_submitted() else 200)


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    return db.get_or_404(WebhookEndpoint, endpoint_id)


@bp.get("/<int:endpoint_id>")
@roles_required("admin")
def endpoint(endpoint_id: int):
    """One endpoint: its events, pause, send a test, and its latest deliveries."""
    found = _endpoint(endpoint_id)
    deliveries = list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == found.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(LOG_ROWS)
        )
    )
    return render_template(
        "webhooks/endpoint.html",
        endpoint=found,
        deliveries=deliveries,
        labels=EVENT_LABELS,
        button=ButtonForm(formdata=None),
        active_form=ActiveForm(formdata=None, active=found.active),
    )


@bp.post("/<int:endpoint_id>/active")
@roles_required("admin")
def set_active(endpoint_id: int):
    """Pause or resume sending to the endpoint."""
    found = _endpoint(endpoint_id)
    form = ActiveForm()
    back = url_for(".endpoint", endpoint_id=found.id)
    return save(
        form,
        lambda: set_endpoint_active(found, bool(form.active.data), actor=acting_user()),
        message=lambda e: (
            "Events are sent to this address." if e.active else "Sending to this address is paused."
        ),
        to=back,
        refused_to=back,
    )


@bp.post("/<int:endpoint_id>/test")
@roles_required("admin")
def send_test(endpoint_id: int):
    """Queue a signed test event and send it now (after the commit); the log shows the answer."""
    found = _endpoint(endpoint_id)
    back = url_for(".endpoint", endpoint_id=found.id)
    now = utcnow()
    saved = commit(ButtonForm(), lambda: queue_test(found, now=now))
    if saved is None:
        return redirect(back, 303)
    worker = worker_name()
    outcome = (
        deliver(saved.result.id, worker) if claim(saved.result.id, worker, now) else "retrying"
    )
    if outcome == "delivered":
        flash("Test event delivered.", "success")
    else:
        flash(
            "The test event was not delivered; the log below says why. It will be retried.", "error"
        )
    return redirect(back, 303)
