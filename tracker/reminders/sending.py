"""The sweep: plan, then claim, send and record each due reminder exactly once.

A claim is a conditional UPDATE (pending, or `sending` with an expired lease, to `sending` with
our name and a lease), taken with FOR UPDATE SKIP LOCKED on PostgreSQL, and committed before any
mail leaves. A row is marked sent only after the mail backend accepted it, and only while the
claim is still ours. A sender that dies leaves `sending` rows whose lease expires; the next sweep
claims them again. Failures go back to pending with a backoff, or to failed after the clinic's
maximum number of attempts.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, or_, select, update

from ..database import is_postgres
from ..extensions import db
from ..mail import MailError, open_mailer
from ..models import Reminder, utcnow
from ..services.clinic import get_settings
from .check_ins import KIND as CHECK_IN
from .clock import Clock
from .facts import BatchFacts
from .notices import NOTICE_KINDS
from .planning import BOOKING_KINDS, count_patients_swept, plan

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    """The figures of one sweep."""

    patients: int = 0
    planned: int = 0
    cancelled: int = 0
    skipped: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    seconds: float = 0.0
    preview: list = field(default_factory=list)  # dry run: lines describing what would happen
    error: str | None = None  # why sending stopped early (the mail server), never patient data

    def summary(self) -> str:
        return (f"patients swept: {self.patients}, planned: {self.planned}, sent: {self.sent}, "
                f"cancelled: {self.cancelled}, skipped: {self.skipped}, retrying: {self.retrying}, "
                f"failed: {self.failed}, seconds: {self.seconds:.2f}")


def worker_name() -> str:
    """Who holds a claim: host, process and thread, so two senders never share a name."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident() % 100000}"


def lease_length() -> timedelta:
    """How long a claim holds (REMINDER_LEASE_SECONDS); an older claim belongs to a dead sender."""
    return timedelta(seconds=int(current_app.config["REMINDER_LEASE_SECONDS"]))


# --- claiming ------------------------------------------------------------------------------

def claimable(clock: Clock, real_now: datetime, *, retry_from: datetime | None = None) -> list:
    """Conditions for a row a sweep at `clock` may claim now.

    A failed send waits for its backoff; with `retry_from` (a manual run) it is retried at once
    unless it failed during this very run (after `retry_from`).
    """
    waited = or_(Reminder.next_attempt_at.is_(None), Reminder.next_attempt_at <= clock.now)
    conditions = [
        Reminder.due_at <= clock.now,
        or_(Reminder.status == "pending",
            and_(Reminder.status == "sending", Reminder.lease_until < real_now)),
        waited if retry_from is None else or_(waited, Reminder.updated_at < retry_from),
    ]
    if not clock.in_send_hours:
        conditions.append(Reminder.kind.not_in(
            BOOKING_KINDS + NOTICE_KINDS + ("waitlist_offer", CHECK_IN)))
    if clock.patient_mail_held:  # no clinic phone yet: patient mail waits, the staff digest goes
        conditions.append(Reminder.kind == "staff_digest")
    return conditions


def claim_batch(clock: Clock, worker: str, *, retry_from: datetime | None = None) -> list[int]:
    """Claim up to a batch of due rows for this worker and COMMIT the claim; their ids.

    PostgreSQL: lock the batch with FOR UPDATE SKIP LOCKED first, then update exactly those rows
    (a LIMIT inside `UPDATE ... WHERE id IN (subquery)` may be re-evaluated and claim more).
    SQLite: one UPDATE under the database write lock is atomic; the conditions are re-checked.
    """
    real_now = utcnow()
    conditions = claimable(clock, real_now, retry_from=retry_from)
    candidates = (
        select(Reminder.id).where(*conditions).order_by(Reminder.due_at, Reminder.id)
        .limit(int(current_app.config["REMINDER_BATCH_SIZE"]))
    )
    if is_postgres(db.session):
        locked = db.session.scalars(candidates.with_for_update(skip_locked=True)).all()
        if not locked:
            db.session.commit()
            return []
        target = Reminder.id.in_(locked)
    else:
        target = Reminder.id.in_(candidates)
    lease = lease_length()
    ids = db.session.execute(
        update(Reminder).where(target, *conditions)
        .values(status="sending", claimed_by=worker, lease_until=real_now + lease,
                attempts=Reminder.attempts + 1)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    return sorted(ids)


_FINISH_STATEMENTS: dict = {}


def _finish_statement(columns: tuple[str, ...]):
    """`UPDATE reminders SET <columns> WHERE id = :rid AND status = 'sending' AND claimed_by =
    :worker`, built once per set of columns and reused (SQLAlchemy caches its compiled form)."""
    statement = _FINISH_STATEMENTS.get(columns)
    if statement is None:
        table = Reminder.__table__
        statement = (
            update(table)
            .where(table.c.id == bindparam("rid"), table.c.status == "sending",
                   table.c.claimed_by == bindparam("worker"))
            .values({table.c[name]: bindparam(f"v_{name}", type_=table.c[name].type) for name in columns})
        )
        _FINISH_STATEMENTS[columns] = statement
    return statement


# PostgreSQL: the sweep records outcomes through its own autocommit connection, so each record
# is one round trip (the UPDATE is its own transaction, durable when it returns) instead of three
# (BEGIN, UPDATE, COMMIT). Per thread: scheduler sweeps may run in several threads.
_recorder = threading.local()


@contextmanager
def single_statement_records():
    """While inside, finish() on PostgreSQL commits each UPDATE by itself (autocommit)."""
    if not is_postgres(db.session) or getattr(_recorder, "connection", None) is not None:
        yield
        return
    connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    _recorder.connection = connection
    try:
        yield
    finally:
        _recorder.connection = None
        connection.close()


def finish(reminder_id: int, worker: str, **values) -> bool:
    """Update a row we hold the claim on, releasing the claim, and commit; False if the claim was
    lost. One commit per row: a sent message is on record before the next one leaves."""
    values.setdefault("lease_until", None)
    values.setdefault("claimed_by", None)
    columns = tuple(sorted(values))
    params = {f"v_{name}": values[name] for name in columns}
    params.update(rid=reminder_id, worker=worker)
    connection = getattr(_recorder, "connection", None)
    if connection is not None:
        changed = connection.execute(_finish_statement(columns), params).rowcount  # committed
    else:
        changed = db.session.connection().execute(_finish_statement(columns), params).rowcount
    db.session.commit()  # ends the session's own (read) transaction, if any
    if not changed:
        log.warning("reminder %s: claim lost before it could be recorded", reminder_id)
    return bool(changed)


def release(ids, worker: str, error: str | None = None) -> None:
    """Give claimed rows back untried (no attempt counted), with the error that stopped us."""
    if not ids:
        return
    values = dict(status="pending", lease_until=None, claimed_by=None, attempts=Reminder.attempts - 1)
    if error:
        values["last_error"] = error
    db.session.execute(
        update(Reminder).where(Reminder.id.in_(list(ids)), Reminder.status == "sending",
                               Reminder.claimed_by == worker)
        .values(**values).execution_options(synchronize_session=False)
    )
    db.session.commit()


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: the base delay doubled per failed attempt, at most a day."""
    base = float(current_app.config["REMINDER_RETRY_MINUTES"])
    return timedelta(minutes=min(base * 2 ** max(attempts - 1, 0), 24 * 60))


# --- sending one ---------------------------------------------------------------------------

@contextmanager
def loaded_through_commits():
    """Keep the batch's loaded rows across the per-message commits (no reload per attribute)."""
    session = db.session()
    previous = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = previous
        session.expire_all()  # the rows were changed by UPDATE statements: never read them stale


def deliver_one(reminder: Reminder, facts: BatchFacts, worker: str, clock: Clock, settings, mailer,
                result: SweepResult):
    """Check, render and send one claimed row, then record the outcome. Returns a MailError
    when the mail server itself was unreachable (the caller stops sending), else None."""
    reminder_id = reminder.id
    if reminder.status != "sending" or reminder.claimed_by != worker:
        return None
    verdict = facts.verdict(reminder, clock, settings)
    if verdict is not None:
        status, reason = verdict
        if finish(reminder_id, worker, status=status, skip_reason=reason[:120]):
            setattr(result, status, getattr(result, status) + 1)
            log.info("reminder %s %s: %s", reminder_id, status, reason)
        return None
    attempts = reminder.attempts
    try:
        message = facts.compose(reminder, clock, settings)
    except MailError as error:  # e.g. an address that cannot be sent to: this row's failure
        record_failure(reminder_id, worker, attempts, str(error), clock, settings, result,
                       permanent=error.permanent)
        return None
    except Exception as error:  # a template or data problem must not stop the other reminders  # noqa: BLE001
        log.error("reminder %s could not be rendered: %s", reminder_id, type(error).__name__)
        record_failure(reminder_id, worker, attempts, f"could not compose the message: {type(error).__name__}",
                       clock, settings, result)
        return None
    if message is None:
        if finish(reminder_id, worker, status="skipped", skip_reason="worklist empty: nothing to send"):
            result.skipped += 1
        return None
    try:
        mailer.send(message)
    except MailError as error:
        record_failure(reminder_id, worker, attempts, str(error), clock, settings, result,
                       permanent=error.permanent)
        log.warning("reminder %s not sent (attempt %s): %s", reminder_id, attempts,
                    "server unavailable" if error.connection else "refused")
        return error if error.connection else None
    except Exception as error:  # whatever a mailer raises is this message's failure, not the sweep's  # noqa: BLE001
        _reset(mailer)
        record_failure(reminder_id, worker, attempts, f"could not send the message: {type(error).__name__}",
                       clock, settings, result)
        log.warning("reminder %s not sent (attempt %s): %s", reminder_id, attempts, type(error).__name__)
        return None
    if finish(reminder_id, worker, status="sent", sent_at=utcnow(), message_id=message["Message-ID"][:200],
              last_error=None, next_attempt_at=None, claimed_by=worker):  # who sent it stays on record
        result.sent += 1
        log.info("reminder %s sent (%s)", reminder_id, reminder.kind)
    return None


def _reset(mailer) -> None:
    """Drop a mailer's connection after an unexpected error (its state is unknown)."""
    close = getattr(mailer, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001
            log.warning("could not close the mail connection cleanly")


def record_failure(reminder_id, worker, attempts, error, clock, settings, result, *,
                   permanent: bool = False) -> None:
    """Back to pending with a backoff, or failed after the clinic's maximum attempts (at once
    when retrying cannot help)."""
    if permanent or attempts >= settings.max_send_attempts:
        if finish(reminder_id, worker, status="failed", last_error=error[:1000], next_attempt_at=None):
            result.failed += 1
            log.warning("reminder %s failed after %s attempts", reminder_id, attempts)
        return
    if finish(reminder_id, worker, status="pending", last_error=error[:1000],
              next_attempt_at=clock.now + backoff(attempts)):
        result.retrying += 1


# --- the sweep -----------------------------------------------------------------------------

def renew_lease(ids, worker: str) -> list[int]:
    """Extend our claim on rows still ours and commit; the ids we still hold."""
    if not ids:
        return []
    held = db.session.execute(
        update(Reminder).where(Reminder.id.in_(list(ids)), Reminder.status == "sending",
                               Reminder.claimed_by == worker)
        .values(lease_until=utcnow() + lease_length())
        .returning(Reminder.id).execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    return sorted(held)


def deliver_due(clock: Clock, settings, worker: str, result: SweepResult, *,
                retry_from: datetime | None = None, stop: threading.Event | None = None) -> None:
    """Claim and send batches until nothing is due, the server is down, or we are told to stop.

    Before each send the claim must outlast the send's deadline, or it is renewed first (rows
    lost meanwhile are left alone). Whatever stops the batch, its unsent rows are given back.
    """
    pause_after = current_app.config.get("REMINDER_PAUSE_AFTER_BATCH")
    lease = lease_length()
    margin = max(lease / 10, timedelta(seconds=1))
    # Room for a send: reconnecting and sending, each within its deadline (half the lease at most).
    needed = min(timedelta(seconds=float(current_app.config["MAIL_DEADLINE_SECONDS"]) * 2) + margin, lease / 2)
    batches = 0
    digests: dict = {}
    with open_mailer() as mailer, single_statement_records():
        while not (stop and stop.is_set()):
            ids = claim_batch(clock, worker, retry_from=retry_from)
            if not ids:
                return
            batches += 1
            if pause_after and batches >= int(pause_after):
                _pause_for_tests()
            claimed_until = utcnow() + lease
            pending = list(ids)
            try:
                with loaded_through_commits():
                    facts = BatchFacts.load(ids, clock, digests)
                    while pending:
                        if stop and stop.is_set():
                            return
                        if utcnow() + needed > claimed_until:
                            held = set(renew_lease(pending, worker))
                            pending = [rid for rid in pending if rid in held]
                            claimed_until = utcnow() + lease
                            if not pending:
                                break
                        reminder_id = pending.pop(0)
                        reminder = facts.reminders.get(reminder_id)
                        if reminder is None:
                            continue
                        outage = deliver_one(reminder, facts, worker, clock, settings, mailer, result)
                        if outage is not None:
                            result.error = str(outage)[:300]
                            release(pending, worker, str(outage)[:1000])
                            pending = []
                            return
            finally:
                if pending:  # stopped, or an error escaped: no row stays 'sending' until its lease ends
                    db.session.rollback()
                    release(pending, worker)


def _pause_for_tests() -> None:
    """Test hook (REMINDER_PAUSE_AFTER_BATCH): hold the claim so a test can kill the sweep."""
    log.warning("pausing after a claim (REMINDER_PAUSE_AFTER_BATCH is set)")
    time.sleep(float(current_app.config.get("REMINDER_PAUSE_SECONDS", 3600)))


def preview(clock: Clock, settings, plan_result, *, retry_from: datetime | None = None) -> list[str]:
    """Dry run: what the sweep would cancel, skip and send (ids only, no patient data)."""
    lines = [f"{status} reminder {rid}: {reason}" for rid, status, reason in plan_result.changes]
    due = db.session.scalars(
        select(Reminder).where(*claimable(clock, utcnow(), retry_from=retry_from))
        .order_by(Reminder.due_at, Reminder.id)
    ).all()
    facts = BatchFacts.load([reminder.id for reminder in due], clock)
    for reminder in due:
        who = f"patient {reminder.patient_id}" if reminder.patient_id else f"staff user {reminder.user_id}"
        when = reminder.due_at.astimezone(clock.zone).strftime("%Y-%m-%d %H:%M")
        verdict = facts.verdict(reminder, clock, settings)
        action = f"{verdict[0]} ({verdict[1]})" if verdict else "send"
        lines.append(f"{action}: {reminder.kind} to {who}, due {when}")
    return lines


def run_sweep(*, clock: Clock | None = None, manual: bool = False, dry_run: bool = False,
              worker: str | None = None, stop: threading.Event | None = None) -> SweepResult:
    """One sweep: plan from the facts (commit), then send what is due. A manual run retries
    failed sends at once; a scheduled one waits out their backoff. A dry run changes nothing."""
    started = time.monotonic()
    retry_from = utcnow() if manual else None
    settings = get_settings()
    clock = clock or Clock.for_settings(utcnow(), settings)
    worker = worker or worker_name()
    result = SweepResult(patients=count_patients_swept())
    planned = plan(clock, settings)
    result.planned = planned.planned
    result.cancelled = planned.count("cancelled")
    result.skipped = planned.count("skipped")
    if dry_run:
        result.preview = preview(clock, settings, planned, retry_from=retry_from)
        db.session.rollback()
    else:
        db.session.commit()
        deliver_due(clock, settings, worker, result, retry_from=retry_from, stop=stop)
    result.seconds = time.monotonic() - started
    log.info("sweep by %s: %s", worker, result.summary())
    return result
