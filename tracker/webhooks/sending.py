"""The webhook outbox: claim a due delivery atomically, POST it signed, record the answer,
retry with back-off. Safe with any number of schedulers: a claim is a compare-and-set on the
row, so each delivery is sent by one of them (again only if its sender died mid-lease)."""

import logging
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from ..extensions import db
from ..models import WebhookDelivery, WebhookEndpoint, utcnow
from .signing import SIGNATURE_HEADER, signature

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # then the delivery is marked failed and stays in the log
TIMEOUT_SECONDS = 10
LEASE = timedelta(seconds=60)  # longer than one POST may take
BATCH = 50
MAX_BACKOFF = timedelta(hours=6)


@dataclass
class SweepResult:
    """What one sweep did."""

    planned: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def worker_name() -> str:
    """This process, for the claim."""
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 1, 2, 4 ... minutes, at most MAX_BACKOFF."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _claimable(now: datetime):
    return or_(
        and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now),
        and_(WebhookDelivery.status == "sending", WebhookDelivery.lease_until < now),
    )


def claim(delivery_id: int, worker: str, now: datetime) -> bool:
    """Take one delivery for this worker if it is still due; commits. Exactly one racer wins:
    the UPDATE re-checks the row under its lock."""
    result = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, _claimable(now))
        .values(
            status="sending",
            lease_until=now + LEASE,
            claimed_by=worker,
            attempts=WebhookDelivery.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(getattr(result, "rowcount", 0))


def post(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime
) -> tuple[int | None, str | None]:
    """POST the body signed now; (status code, error) with error None on a 2xx answer."""
    body = delivery.body.encode("utf-8")
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "InfusionTracker-Webhooks/1",
            "Tracker-Event": delivery.event,
            "Tracker-Delivery": str(delivery.id),
            SIGNATURE_HEADER: signature(endpoint.secret, int(now.timestamp()), body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 (admin-set http(s) URL)
            return (
                answer.status,
                None if 200 <= answer.status < 300 else f"answered {answer.status}",
            )
    except urllib.error.HTTPError as error:
        return error.code, f"answered {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, f"could not connect: {type(reason).__name__}"


def deliver(delivery_id: int, worker: str, now: datetime | None = None) -> str:
    """Send one claimed delivery and record the outcome; 'delivered', 'retrying' or 'failed'."""
    now = now or utcnow()
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id) if delivery else None
    if delivery is None or endpoint is None:
        return "failed"
    code, error = post(endpoint, delivery, now)
    done = utcnow()
    if error is None:
        values = {"status": "delivered", "delivered_at": done, "last_error": None}
        outcome = "delivered"
    elif delivery.attempts >= MAX_ATTEMPTS:
        values, outcome = {"status": "failed", "last_error": error}, "failed"
    else:
        values = {
            "status": "pending",
            "last_error": error,
            "next_attempt_at": done + backoff(delivery.attempts),
        }
        outcome = "retrying"
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.claimed_by == worker)
        .values(last_status_code=code, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    log.info("webhook delivery %s to endpoint %s: %s", delivery_id, endpoint.id, outcome)
    return outcome


def deliver_due(result: SweepResult, worker: str, now: datetime | None = None) -> SweepResult:
    """Claim and send every delivery due now, a batch at a time."""
    now = now or utcnow()
    while True:
        due = list(
            db.session.scalars(
                select(WebhookDelivery.id)
                .where(_claimable(now))
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(BATCH)
            )
        )
        db.session.rollback()  # end the read before the claims
        claimed = [delivery_id for delivery_id in due if claim(delivery_id, worker, now)]
        for delivery_id in claimed:
            outcome = deliver(delivery_id, worker)
            setattr(result, outcome, getattr(result, outcome) + 1)
        if len(due) < BATCH:
            return result


def run_sweep(now: datetime | None = None) -> SweepResult:
    """Plan the date events, then deliver everything due: one scheduler job."""
    from ..services.clinic import clinic_today, get_settings
    from ..status import clock_for
    from .events import plan_date_events

    result = SweepResult()
    result.planned = plan_date_events(db.session, clock_for(clinic_today(), get_settings()))
    db.session.commit()
    return deliver_due(result, worker_name(), now)
