"""Patient self-service: chair time held for a patient while they book, and the request counts
that rate-limit the patient pages."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class SlotHold(db.Model):  # type: ignore[name-defined]
    """A chair block a patient chose on the booking page, kept from other patients until it
    expires (HOLD_MINUTES after it was taken) or is booked."""

    __tablename__ = "slot_holds"
    __table_args__ = (
        CheckConstraint("start_at < end_at", name="order"),
        Index("ix_slot_holds_chair_start", "chair_id", "start_at"),
        Index("ix_slot_holds_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id", ondelete="CASCADE"))
    appointment_type_id: Mapped[int] = mapped_column(
        ForeignKey("appointment_types.id", ondelete="CASCADE")
    )
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PageHit(db.Model):  # type: ignore[name-defined]
    """One counted request to a patient page, by bucket and a keyed digest of who asked (a
    source address or an email address: never stored in the clear)."""

    __tablename__ = "page_hits"
    __table_args__ = (Index("ix_page_hits_bucket_key_at", "bucket", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
