"""The admin's webhooks pages: register an endpoint and its events (its signing secret shown
once), pause it, send a test, and read the delivery log."""
import logging

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import WebhookDelivery, WebhookEndpoint, utcnow
from ..security import roles_required
from ..services.clinic import clinic_zone
from .events import body_for
from .forms import EVENT_LABELS, ActiveForm, ButtonForm, EndpointForm
from .sending import claim, deliver, worker_name
from .signing import new_secret

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")
log = logging.getLogger(__name__)

LOG_ROWS = 50
TEST_EVENT = "webhook.test"


@bp.before_request
@roles_required("admin")
def admin_only():
    """Every webhooks page needs an admin."""


def _index_page(form: EndpointForm, *, secret: str | None = None, status: int = 200):
    endpoints = list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
    return render_template("webhooks/index.html", form=form, endpoints=endpoints, secret=secret,
                           labels=EVENT_LABELS), status


@bp.route("/", methods=["GET", "POST"])
@roles_required("admin")
def index():
    """The endpoints, and the form to add one."""
    form = EndpointForm()
    if form.validate_on_submit():
        endpoint = WebhookEndpoint(url=form.url.data, description=form.description.data or "",
                                   events=" ".join(e for e in EVENT_LABELS if e in form.events.data),
                                   secret=new_secret(), created_by_id=current_user.id, created_at=utcnow())
        db.session.add(endpoint)
        db.session.commit()
        log.info("webhook endpoint %s added", endpoint.id)
        return _index_page(EndpointForm(formdata=None), secret=endpoint.secret, status=201)
    return _index_page(form, status=400 if form.is_submitted() else 200)


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    return db.get_or_404(WebhookEndpoint, endpoint_id)


@bp.get("/<int:endpoint_id>")
@roles_required("admin")
def endpoint(endpoint_id: int):
    """One endpoint: its events, pause, send a test, and its latest deliveries."""
    found = _endpoint(endpoint_id)
    deliveries = list(db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == found.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(LOG_ROWS)))
    return render_template("webhooks/endpoint.html", endpoint=found, deliveries=deliveries,
                           labels=EVENT_LABELS, zone=clinic_zone(), button=ButtonForm(formdata=None),
                           active_form=ActiveForm(formdata=None, active=found.active))


@bp.post("/<int:endpoint_id>/active")
@roles_required("admin")
def set_active(endpoint_id: int):
    """Pause or resume sending to the endpoint."""
    found = _endpoint(endpoint_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    found.active = bool(form.active.data)
    db.session.commit()
    flash("Events are sent to this address." if found.active else "Sending to this address is paused.", "success")
    return redirect(url_for(".endpoint", endpoint_id=found.id), 303)


@bp.post("/<int:endpoint_id>/test")
@roles_required("admin")
def send_test(endpoint_id: int):
    """Queue a signed test event and send it now; the log shows the answer."""
    found = _endpoint(endpoint_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    now = utcnow()
    delivery = WebhookDelivery(endpoint_id=found.id, event=TEST_EVENT, next_attempt_at=now,
                               dedupe_key=f"{found.id}:{TEST_EVENT}:{now.timestamp()}",
                               body=body_for(TEST_EVENT, now, {"endpoint_id": found.id}))
    db.session.add(delivery)
    db.session.commit()
    worker = worker_name()
    outcome = deliver(delivery.id, worker) if claim(delivery.id, worker, now) else "retrying"
    if outcome == "delivered":
        flash("Test event delivered.", "success")
    else:
        flash("The test event was not delivered; the log below says why. It will be retried.", "error")
    return redirect(url_for(".endpoint", endpoint_id=found.id), 303)
