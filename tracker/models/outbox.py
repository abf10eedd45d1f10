"""The reminders outbox and the scheduler heartbeat."""
from datetime import date, datetime
from typing import Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, one_of, utcnow

REMINDER_KINDS = ("window_upcoming", "window_closing", "appointment", "staff_digest",
                  "visit_booked", "visit_moved", "visit_cancelled", "visit_booked_online",
                  "reactivation", "waitlist_offer", "check_in")
REMINDER_STATUSES = ("pending", "sending", "sent", "failed", "cancelled", "skipped")


class Reminder(db.Model):
    """One planned message; dedupe_key makes each one exist (and go out) at most once."""

    __tablename__ = "reminders"
    __table_args__ = (
        CheckConstraint(one_of("status", REMINDER_STATUSES), name="status"),
        Index("ix_reminders_status_due", "status", "due_at"),
        Index("ix_reminders_patient", "patient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10), default="email")
    patient_id: Mapped[Optional[int]] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[Optional[int]] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    appointment_id: Mapped[Optional[int]] = mapped_column(ForeignKey("appointments.id", ondelete="SET NULL"))
    anchor_date: Mapped[Optional[date]] = mapped_column(Date)
    waitlist_offer_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("waitlist_offers.id", ondelete="SET NULL"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="pending")
    skip_reason: Mapped[Optional[str]] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    next_attempt_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    lease_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    claimed_by: Mapped[Optional[str]] = mapped_column(String(80))
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    message_id: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    patient = relationship("Patient")
    appointment = relationship("Appointment")


class SchedulerHeartbeat(db.Model):
    """Last sign of life of a scheduler process; the admin pages warn when it is stale."""

    __tablename__ = "scheduler_heartbeats"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sweep_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())  # last sweep that succeeded
    last_result: Mapped[Optional[str]] = mapped_column(String(300))
    started_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())  # first beat of this process
    last_error: Mapped[Optional[str]] = mapped_column(String(300))  # last failed sweep: no patient data
    last_error_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
