"""Protocols: a clinic's templates for a course, each an ordered list of phases."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..scheduling import PHASE_ADVANCES, PHASE_RULES, PHASE_UNITS
from .types import UTCDateTime, one_of, utcnow

PROTOCOL_NAME_MAX = 80
PROTOCOL_DESCRIPTION_MAX = 300
PHASE_NAME_MAX = 60


class Protocol(db.Model):  # type: ignore[name-defined]
    """An editable template: courses opened on it walk its phases. Retired, never deleted
    (courses point at it). The standard protocol is today's course: a series of the course's
    own size, then a window of the course's own days."""

    __tablename__ = "protocols"
    __table_args__ = (CheckConstraint("name <> ''", name="name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(PROTOCOL_NAME_MAX), unique=True)
    description: Mapped[str] = mapped_column(String(PROTOCOL_DESCRIPTION_MAX), default="")
    standard: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    phases: Mapped[list["ProtocolPhase"]] = relationship(
        back_populates="protocol", order_by="ProtocolPhase.position", cascade="all, delete-orphan"
    )


class ProtocolPhase(db.Model):  # type: ignore[name-defined]
    """One phase: sessions or weeks `first` to `last` (counted in its unit from the course's
    start; `last` empty: open-ended, or for a series the course's own size), and the rule for
    the next session: none (series) or min-max days after the last qualifying session (empty:
    the course's own days)."""

    __tablename__ = "protocol_phases"
    __table_args__ = (
        UniqueConstraint("protocol_id", "position", name="protocol_position"),
        CheckConstraint(one_of("rule", PHASE_RULES), name="rule"),
        CheckConstraint(one_of("unit", PHASE_UNITS), name="unit"),
        CheckConstraint(one_of("advance", PHASE_ADVANCES), name="advance"),
        CheckConstraint("first >= 1 AND (last IS NULL OR last >= first)", name="span"),
        CheckConstraint(
            "min_days IS NULL OR (min_days >= 0 AND (max_days IS NULL OR min_days <= max_days))",
            name="interval",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_id: Mapped[int] = mapped_column(ForeignKey("protocols.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(PHASE_NAME_MAX), default="")
    rule: Mapped[str] = mapped_column(String(10), default="window")
    unit: Mapped[str] = mapped_column(String(10), default="sessions")
    first: Mapped[int] = mapped_column(default=1)
    last: Mapped[int | None]
    min_days: Mapped[int | None]
    max_days: Mapped[int | None]
    advance: Mapped[str] = mapped_column(String(10), default="count")
    returns_on_missed_dose: Mapped[bool] = mapped_column(default=False)

    protocol: Mapped[Protocol] = relationship(back_populates="phases")
