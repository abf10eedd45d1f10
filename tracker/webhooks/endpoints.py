"""Webhook endpoints: add one (with a new signing secret), pause or resume it, queue a test.
Only this package writes the webhook tables."""

import logging
from datetime import datetime

from ..extensions import db
from ..models import WEBHOOK_EVENTS, WebhookDelivery, WebhookEndpoint
from ..secret_tokens import keep_new
from ..services import audit
from ..services.errors import RuleError
from .events import body_for
from .signing import new_secret

log = logging.getLogger(__name__)

TEST_EVENT = "webhook.test"
ENDPOINT_FIELDS = ("url", "description", "events", "active")


def add_endpoint(
    *, url: str, description: str, events: list[str], actor, now: datetime
) -> WebhookEndpoint:
    """Register an address for the chosen events, with a fresh secret. Flushes."""
    chosen = [name for name in WEBHOOK_EVENTS if name in events]
    if not chosen:
        raise RuleError("Choose at least one event.", "events")
    endpoint = WebhookEndpoint(
        url=url,
        description=description,
        events=" ".join(chosen),
        secret=new_secret(),
        created_by_id=audit.actor_fields(actor)[0],
        created_at=now,
    )
    keep_new(endpoint, entity="webhook_endpoint", fields=ENDPOINT_FIELDS, actor=actor)
    log.info("webhook endpoint %s added", endpoint.id)
    return endpoint


def set_active(endpoint: WebhookEndpoint, active: bool, *, actor) -> WebhookEndpoint:
    """Pause or resume sending to the address. Flushes."""
    before = audit.snapshot(endpoint, ENDPOINT_FIELDS)
    endpoint.active = active
    db.session.flush()
    audit.record(
        actor,
        entity="webhook_endpoint",
        entity_id=endpoint.id,
        patient_id=None,
        action="update",
        before=before,
        after=audit.snapshot(endpoint, ENDPOINT_FIELDS),
    )
    return endpoint


def queue_test(endpoint: WebhookEndpoint, *, now: datetime) -> WebhookDelivery:
    """A signed test event for the address, due now. Flushes."""
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event=TEST_EVENT,
        next_attempt_at=now,
        dedupe_key=f"{endpoint.id}:{TEST_EVENT}:{now.timestamp()}",
        body=body_for(TEST_EVENT, now, {"endpoint_id": endpoint.id}),
    )
    db.session.add(delivery)
    db.session.flush()
    return delivery
