"""The waitlist: patients who want an earlier time, and the freed chair blocks offered to them."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

WEEKDAYS = "0123456"  # Monday .. Sunday, as date.weekday() numbers them


class WaitlistEntry(db.Model):  # type: ignore[name-defined]
    """A patient asking to be told of an earlier time, on the weekdays that suit them. Active
    until it ends (booked from an offer, or removed), then kept."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint("weekdays <> ''", name="weekdays"),
        Index("ix_waitlist_entries_active", "ended_at", "created_at"),
        Index("ix_waitlist_entries_patient", "patient_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    weekdays: Mapped[str] = mapped_column(String(7), default=WEEKDAYS)
    added_by: Mapped[str] = mapped_column(String(254))  # "patient" or the staff member's email
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(40))

    patient = relationship("Patient")


class WaitlistOffer(db.Model):  # type: ignore[name-defined]
    """A freed chair block offered to one waitlisted patient, open until it expires; the first
    patient to accept one of a block's offers books it (`appointment_id`)."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        UniqueConstraint("entry_id", "chair_id", "start_at"),  # one offer per block each
        Index("ix_waitlist_offers_block", "chair_id", "start_at"),
        Index("ix_waitlist_offers_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entries.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id", ondelete="CASCADE"))
    appointment_type_id: Mapped[int] = mapped_column(
        ForeignKey("appointment_types.id", ondelete="CASCADE")
    )
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )

    patient = relationship("Patient")
    entry = relationship("WaitlistEntry")
