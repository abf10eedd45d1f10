"""Chairs, opening hours, closed dates, appointment types and appointments."""
from datetime import date, datetime, time
from typing import Optional

from sqlalchemy import (
    CheckConstraint, Date, DDL, ForeignKey, Index, String, Text, Time, event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, one_of, utcnow

APPOINTMENT_STATUSES = (
    "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error",
)
ACTIVE_STATUSES = ("pending", "booked", "arrived")
CANCEL_REASONS = ("patient", "clinic", "clinical", "late-cancel")


class Chair(db.Model):
    """A treatment chair; blocks on one chair never overlap."""

    __tablename__ = "chairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    bookable_online: Mapped[bool] = mapped_column(default=False)  # patients may book it from a link


class OpeningHours(db.Model):
    """Opening hours for one weekday (0 = Monday); a weekday without a row is closed."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        CheckConstraint("opens < closes", name="order"),
    )

    weekday: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class ClosedDate(db.Model):
    """A date the clinic is closed (holiday); the window does not move for it."""

    __tablename__ = "closed_dates"

    id: Mapped[int] = mapped_column(primary_key=True)
    on: Mapped[date] = mapped_column(Date, unique=True)
    reason: Mapped[str] = mapped_column(String(120), default="")


class AppointmentType(db.Model):
    """A kind of chair block: preparation + infusion + recovery minutes."""

    __tablename__ = "appointment_types"
    __table_args__ = (
        CheckConstraint("prep_min >= 0 AND infusion_min > 0 AND recovery_min >= 0", name="minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    prep_min: Mapped[int] = mapped_column(default=15)
    infusion_min: Mapped[int] = mapped_column(default=40)
    recovery_min: Mapped[int] = mapped_column(default=45)
    for_series: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    bookable_online: Mapped[bool] = mapped_column(default=False)  # patients may book it from a link

    @property
    def block_minutes(self) -> int:
        return self.prep_min + self.infusion_min + self.recovery_min


class Appointment(db.Model):
    """A booked chair block, with a FHIR Appointment status."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("start_at < end_at", name="order"),
        CheckConstraint(one_of("status", APPOINTMENT_STATUSES), name="status"),
        Index("ix_appointments_chair_start", "chair_id", "start_at"),
        Index("ix_appointments_start", "start_at"),
        Index("ix_appointments_patient_start", "patient_id", "start_at"),
        Index("ix_appointments_course_status", "course_id", "status"),
        Index("ix_appointments_status_course", "status", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(80), unique=True)  # iCalendar UID
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE
    # Times moved in place: part of the keys of its reminder and moved notice, so a visit moved
    # back to a time it had before is reminded (and told) again.
    moves: Mapped[int] = mapped_column(default=0, server_default="0")
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    course_id: Mapped[Optional[int]] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    appointment_type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id"))
    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id"))
    clinician_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="pending")
    cancel_reason: Mapped[Optional[str]] = mapped_column(String(20))
    rescheduled_from_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    # A series booked at once: the first visit of it (the patient hears of them in one notice).
    series_first_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic locking: every UPDATE bumps it and checks it; forms carry the version they showed.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    patient = relationship("Patient")
    course = relationship("Course")
    appointment_type = relationship("AppointmentType")
    chair = relationship("Chair")
    clinician = relationship("User", foreign_keys=[clinician_id])
    history: Mapped[list["AppointmentStatusChange"]] = relationship(
        back_populates="appointment", order_by="AppointmentStatusChange.at",
        cascade="all, delete-orphan",
    )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


# On PostgreSQL the database itself refuses two active blocks overlapping on one chair.
event.listen(
    Appointment.__table__,
    "after_create",
    DDL(
        "CREATE EXTENSION IF NOT EXISTS btree_gist; "
        "ALTER TABLE appointments ADD CONSTRAINT ex_appointments_chair_time "
        "EXCLUDE USING gist (chair_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
        f"WHERE ({one_of('status', ACTIVE_STATUSES)})"
    ).execute_if(dialect="postgresql"),
)


class AppointmentStatusChange(db.Model):
    """One status change of an appointment: who, when, from, to, why."""

    __tablename__ = "appointment_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[Optional[str]] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[Optional[str]] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A move to another time (calendar): where the visit was and where it went, one row.
    moved_from_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    moved_to_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    moved_from_chair_id: Mapped[Optional[int]] = mapped_column(ForeignKey("chairs.id", ondelete="SET NULL"))
    moved_to_chair_id: Mapped[Optional[int]] = mapped_column(ForeignKey("chairs.id", ondelete="SET NULL"))

    appointment: Mapped[Appointment] = relationship(back_populates="history")
