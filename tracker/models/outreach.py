"""The recall log: each call (or other attempt) to reach a patient about their next visit."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, one_of, utcnow

# In the order the front desk meets them on a call (labels: services/outreach.py).
OUTREACH_OUTCOMES = (
    "no_answer",
    "voicemail",
    "will_call_back",
    "booked",
    "declined",
    "wants_to_stop",
)


class OutreachAttempt(db.Model):  # type: ignore[name-defined]  # flask-sqlalchemy's dynamic base
    """One attempt to reach a patient, with its outcome and an optional note; never deleted."""

    __tablename__ = "outreach_attempts"
    __table_args__ = (
        CheckConstraint(one_of("outcome", OUTREACH_OUTCOMES), name="outreach_outcome"),
        Index("ix_outreach_patient_at", "patient_id", "at"),
        Index("ix_outreach_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
