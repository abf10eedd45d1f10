"""The recall log: calls to patients about their next visit, logged and read back, with the
messages asking overdue patients to book again (reactivation, planned by the reminder sweep).

The one writer of outreach_attempts, and of a patient's "stop the reactivation messages". An
attempt belongs to the patient and to the open course it was made for; it is never deleted.
The worklist sorts patients called in the last `recall_quiet_days` below the others
(worklist/queries.py reads `called_since`).
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, update

from ..extensions import db
from ..models import OPEN_STATES, Course, OutreachAttempt, Patient, Reminder, WaitlistEntry
from ..validators import CONTROL_RE
from . import audit
from .errors import RuleError

log = logging.getLogger(__name__)

OUTCOME_LABELS = {
    "no_answer": "No answer",
    "voicemail": "Left a voicemail",
    "will_call_back": "Spoke: will call back",
    "booked": "Booked",
    "declined": "Declined",
    "wants_to_stop": "Wants to stop treatment",
}
MAX_NOTE_LENGTH = 500
PATIENT_PAGE_ATTEMPTS = 20
REACTIVATION = "reactivation"  # the outbox kind (tracker/reminders/reactivation.py)
MESSAGE_LABELS = {
    "pending": "Email asking to book: waiting to send",
    "sending": "Email asking to book: sending",
    "sent": "Email asking to book: sent",
    "failed": "Email asking to book: could not be sent",
    "skipped": "Email asking to book: not sent",
    "cancelled": "Email asking to book: withdrawn",
}


@dataclass(frozen=True)
class LogEntry:
    """One line of a patient's outreach log: a call, or a message asking them to book."""

    at: datetime
    label: str
    note: str


@dataclass(frozen=True)
class LastContact:
    """The latest attempt to reach a patient, and how many were made for the course.

    Read with the worklist's rows (contact_columns), never one query per row.
    """

    at: datetime
    outcome: str
    attempts: int

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, self.outcome)


def log_attempt(
    patient_id: int, *, outcome: str, note: str, actor, now: datetime
) -> OutreachAttempt:
    """Record a call and its outcome for the patient's open course; RuleError if refused. Flushes.

    Refused when the patient has no open course any more (discharged, or the course was
    entered in error, since the list was shown): there is nothing to recall them for.
    """
    if outcome not in OUTCOME_LABELS:
        raise RuleError("Choose what happened on the call.", "outcome")
    note = " ".join((note or "").split())
    if len(note) > MAX_NOTE_LENGTH:
        raise RuleError(f"Keep the note to {MAX_NOTE_LENGTH} characters.", "note")
    if CONTROL_RE.search(note):
        raise RuleError("Remove the control characters from the note.", "note")
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise RuleError("This patient is not on file any more.", "outcome")
    course = db.session.scalar(
        select(Course)
        .where(Course.patient_id == patient_id, Course.state.in_(OPEN_STATES))
        .limit(1)
    )
    if course is None:
        raise RuleError(
            f"{patient.full_name} was discharged since this list was shown, so the "
            "call was not logged. Reload the worklist.",
            "outcome",
        )
    attempt = OutreachAttempt(
        patient_id=patient_id,
        course_id=course.id,
        at=now,
        outcome=outcome,
        note=note,
        user_id=getattr(actor, "id", None),
    )
    db.session.add(attempt)
    db.session.flush()
    audit.record(
        actor,
        entity="outreach_attempt",
        entity_id=attempt.id,
        patient_id=patient_id,
        action="create",
        after=audit.snapshot(attempt, ("course_id", "outcome", "note")),
    )
    log.info("outreach attempt %s logged for patient %s", attempt.id, patient_id)
    return attempt


def called_since(today: date, quiet_days: int, zone: ZoneInfo) -> datetime | None:
    """The instant from which a call sorts a patient lower: the start of the quiet days.

    "Called in the last 3 days" is today and the two days before, in clinic time; None when
    the clinic sets no quiet days (nobody sorts lower).
    """
    if quiet_days <= 0:
        return None
    first = today - timedelta(days=quiet_days - 1)
    return datetime.combine(first, time(0), zone).astimezone(ZoneInfo("UTC"))


def contact_columns():
    """The latest attempt's time and outcome and the course's number of attempts, as columns
    of a statement over Course (the worklist's CSV export: an index probe per row)."""
    latest = (
        select(OutreachAttempt)
        .where(OutreachAttempt.patient_id == Course.patient_id)
        .order_by(OutreachAttempt.at.desc(), OutreachAttempt.id.desc())
        .limit(1)
    )
    return (
        latest.with_only_columns(OutreachAttempt.at).scalar_subquery().label("last_contact_at"),
        latest.with_only_columns(OutreachAttempt.outcome)
        .scalar_subquery()
        .label("last_contact_outcome"),
        select(func.count())
        .where(OutreachAttempt.course_id == Course.id)
        .scalar_subquery()
        .label("calls"),
        select(func.count())
        .where(
            Reminder.patient_id == Course.patient_id,
            Reminder.kind == REACTIVATION,
            Reminder.anchor_date == Course.anchor_date,
            Reminder.status == "sent",
        )
        .scalar_subquery()
        .label("messages_sent"),
        select(WaitlistEntry.id)
        .where(WaitlistEntry.patient_id == Course.patient_id, WaitlistEntry.ended_at.is_(None))
        .exists()
        .label("on_waitlist"),
    )


def patient_attempts(patient_id: int, limit: int = PATIENT_PAGE_ATTEMPTS) -> list[OutreachAttempt]:
    """The patient's latest attempts, newest first (the patient page's recall log)."""
    return list(
        db.session.scalars(
            select(OutreachAttempt)
            .where(OutreachAttempt.patient_id == patient_id)
            .order_by(OutreachAttempt.at.desc(), OutreachAttempt.id.desc())
            .limit(limit)
        )
    )


def outreach_log(patient_id: int, limit: int = PATIENT_PAGE_ATTEMPTS) -> list[LogEntry]:
    """The patient's calls and messages asking them to book, newest first (two queries)."""
    calls = [
        LogEntry(attempt.at, OUTCOME_LABELS.get(attempt.outcome, attempt.outcome), attempt.note)
        for attempt in patient_attempts(patient_id, limit)
    ]
    rows = db.session.execute(
        select(Reminder.status, Reminder.sent_at, Reminder.due_at, Reminder.skip_reason)
        .where(Reminder.patient_id == patient_id, Reminder.kind == REACTIVATION)
        .order_by(Reminder.id.desc())
        .limit(limit)
    ).all()
    messages = [
        LogEntry(row.sent_at or row.due_at, MESSAGE_LABELS[row.status], row.skip_reason or "")
        for row in rows
    ]
    return sorted(calls + messages, key=lambda entry: entry.at, reverse=True)[:limit]


def set_reactivation_stopped(patient_id: int, stopped: bool, *, actor, now: datetime) -> Patient:
    """Stop (or restart) the messages asking the patient to book again; a waiting one is
    withdrawn at once. Audited; flushes. RuleError when the patient is not on file."""
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise RuleError("This patient is not on file any more.", None)
    before = audit.snapshot(patient, ("reactivation_stopped_at",))
    if stopped == (patient.reactivation_stopped_at is not None):
        return patient
    patient.reactivation_stopped_at = now if stopped else None
    if stopped:
        db.session.execute(
            update(Reminder)
            .where(
                and_(
                    Reminder.patient_id == patient_id,
                    Reminder.kind == REACTIVATION,
                    Reminder.status == "pending",
                )
            )
            .values(status="cancelled", skip_reason="messages stopped by staff")
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
    audit.record(
        actor,
        entity="patient",
        entity_id=patient.id,
        patient_id=patient.id,
        action="update",
        before=before,
        after=audit.snapshot(patient, ("reactivation_stopped_at",)),
    )
    log.info(
        "reactivation messages %s for patient %s", "stopped" if stopped else "restarted", patient.id
    )
    return patient
