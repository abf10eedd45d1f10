"""Staff actions on the reminders log: retry a failed reminder, cancel a pending one."""
import logging

from sqlalchemy import update

from ..extensions import db
from ..models import Reminder
from ..services import audit
from ..services.errors import RuleError

log = logging.getLogger(__name__)


def retry(reminder: Reminder, *, actor) -> None:
    """Put a failed reminder back in the queue with a fresh set of attempts; flush."""
    changed = db.session.execute(
        update(Reminder).where(Reminder.id == reminder.id, Reminder.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=None, skip_reason=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise RuleError("Only a failed reminder can be retried.", None)
    _audit(reminder, actor, "retry", "failed", "pending")
    log.info("reminder %s queued again by user %s", reminder.id, getattr(actor, "id", None))


def cancel(reminder: Reminder, *, actor) -> None:
    """Cancel a reminder that has not gone out yet; flush."""
    changed = db.session.execute(
        update(Reminder).where(Reminder.id == reminder.id, Reminder.status == "pending")
        .values(status="cancelled", skip_reason="cancelled by staff")
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise RuleError("Only a pending reminder can be cancelled; it may be going out right now.", None)
    _audit(reminder, actor, "cancel", "pending", "cancelled")
    log.info("reminder %s cancelled by user %s", reminder.id, getattr(actor, "id", None))


def _audit(reminder: Reminder, actor, action: str, before: str, after: str) -> None:
    if reminder.patient_id is not None:
        audit.record(actor, entity="reminder", entity_id=reminder.id, patient_id=reminder.patient_id,
                     action=action, before={"status": before}, after={"status": after})
    db.session.flush()
