"""The pre-visit checklist: what the clinic asks before each kind of visit, and each
appointment's answers (from staff by phone or from the patient's own link)."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

LABEL_MAX = 40
PROMPT_MAX = 200
DRIVER_NAME_MAX = 120
DRIVER_PHONE_MAX = 40


class ChecklistItem(db.Model):  # type: ignore[name-defined]
    """One question the clinic asks before a visit of one appointment type; retired items are
    kept (answers point at them), never deleted."""

    __tablename__ = "checklist_items"
    __table_args__ = (CheckConstraint("label <> ''", name="label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_type_id: Mapped[int] = mapped_column(
        ForeignKey("appointment_types.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(LABEL_MAX))  # staff's short name: "Driver"
    prompt: Mapped[str] = mapped_column(String(PROMPT_MAX))  # the patient's question, neutral words
    asks_driver: Mapped[bool] = mapped_column(default=False)  # a "yes" gives a name and a phone
    active: Mapped[bool] = mapped_column(default=True)

    appointment_type = relationship("AppointmentType")


class ChecklistAnswer(db.Model):  # type: ignore[name-defined]
    """The latest answer to one item for one appointment; every change is in the audit trail."""

    __tablename__ = "checklist_answers"
    __table_args__ = (UniqueConstraint("appointment_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id", ondelete="CASCADE"))
    answer: Mapped[bool]
    driver_name: Mapped[str | None] = mapped_column(String(DRIVER_NAME_MAX))
    driver_phone: Mapped[str | None] = mapped_column(String(DRIVER_PHONE_MAX))
    answered_by: Mapped[str] = mapped_column(String(254))  # a staff email or "patient"
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    item: Mapped[ChecklistItem] = relationship()
