"""Patient check-ins between sessions and the clinically-due entries they (or a score) raise.

The check-in schedule and the rules that make a patient clinically due are clinic settings (one
row, id 1). Each check-in the patient sends is a CheckInResponse (the instruments' answers are
OutcomeMeasures, source "check_in_link"); a ClinicallyDue entry waits for a clinician to accept
or dismiss it. Only tracker/check_ins writes these tables.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, one_of, utcnow

# Why a patient became clinically due.
DUE_REASONS = ("relief_worn_off", "visit_requested", "phq9_threshold", "pain_returned")
DUE_STATES = ("open", "accepted", "dismissed")
# The answers to "Has your relief worn off?"
RELIEF_ANSWERS = ("yes", "no", "unsure")
# The settings before a clinic saves its own: off until the clinic turns them on.
CHECK_IN_DEFAULTS = {
    "enabled": False,
    "days": "7,14,21,28",
    "instruments": "pain_nrs,phq9,gad7",
    "phq9_threshold": 10,
    "pain_return_percent": 30,
}


class CheckInSettings(db.Model):  # type: ignore[name-defined]  # flask-sqlalchemy's dynamic base
    """The clinic's check-in schedule and clinically-due rules (one row, id 1). The defaults
    are a starting point for the clinic's own protocol, not advice."""

    __tablename__ = "check_in_settings"
    __table_args__ = (
        CheckConstraint(
            "phq9_threshold IS NULL OR (phq9_threshold >= 1 AND phq9_threshold <= 27)",
            name="phq9_threshold",
        ),
        CheckConstraint(
            "pain_return_percent IS NULL OR (pain_return_percent >= 0 AND pain_return_percent <= 100)",
            name="pain_return_percent",
        ),
    )

    # The defaults are CHECK_IN_DEFAULTS (a None rule is the clinic turning it off, so the
    # columns have no default of their own that would fill one in).
    id: Mapped[int] = mapped_column(primary_key=True)
    # Off until the clinic turns it on (and has chosen its instruments).
    enabled: Mapped[bool]
    # Days after each qualifying session on which the check-in link goes out, comma-separated.
    days: Mapped[str] = mapped_column(String(60))
    # The instruments the check-in asks, in order (codes of tracker/outcomes/instruments.py).
    instruments: Mapped[str] = mapped_column(String(60))
    # Clinically due when a PHQ-9 total is at or above this (None: no PHQ-9 rule) ...
    phq9_threshold: Mapped[int | None]
    # ... or a pain NRS is back within this percentage of the course's baseline (None: no rule).
    pain_return_percent: Mapped[int | None]


class CheckInResponse(db.Model):  # type: ignore[name-defined]
    """One check-in a patient sent from their link: the relief question and, for an as-needed
    patient, whether they asked for a visit. At most one per course and clinic day."""

    __tablename__ = "check_in_responses"
    __table_args__ = (
        UniqueConstraint("course_id", "answered_on", name="uq_check_in_responses_course_day"),
        CheckConstraint(
            "relief_worn_off IS NULL OR " + one_of("relief_worn_off", RELIEF_ANSWERS),
            name="relief_worn_off",
        ),
        Index("ix_check_in_responses_patient", "patient_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    # The qualifying session the check-in follows (None before the first one).
    infusion_id: Mapped[int | None] = mapped_column(ForeignKey("infusions.id", ondelete="SET NULL"))
    session_on: Mapped[date | None] = mapped_column(Date)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_on: Mapped[date] = mapped_column(Date)  # clinic-local date of answered_at
    relief_worn_off: Mapped[str | None] = mapped_column(String(8))
    visit_requested: Mapped[bool] = mapped_column(default=False)


class ClinicallyDue(db.Model):  # type: ignore[name-defined]
    """A patient who may be due before their window opens, waiting for a clinician.

    Accepted, the patient is due now until their next qualifying session (a course whose last
    qualifying session is after `session_on`); dismissed, with the reason, it is kept on record.
    """

    __tablename__ = "clinically_due"
    __table_args__ = (
        CheckConstraint(one_of("reason", DUE_REASONS), name="reason"),
        CheckConstraint(one_of("state", DUE_STATES), name="state"),
        CheckConstraint(
            "state <> 'dismissed' OR dismiss_reason IS NOT NULL", name="dismissed_with_reason"
        ),
        Index("ix_clinically_due_state_raised", "state", "raised_at"),
        Index("ix_clinically_due_course", "course_id", "session_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    session_on: Mapped[date | None] = mapped_column(Date)  # the session it follows
    reason: Mapped[str] = mapped_column(String(20))
    # A clinician's words for what crossed the rule (a score): never shown to the front desk.
    detail: Mapped[str] = mapped_column(String(200), default="")
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("check_in_responses.id", ondelete="SET NULL")
    )
    measure_id: Mapped[int | None] = mapped_column(
        ForeignKey("outcome_measures.id", ondelete="SET NULL")
    )
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    raised_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default="open")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    dismiss_reason: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
