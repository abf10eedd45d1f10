"""Patients, courses (a series then maintenance) and infusions."""
from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import search_keys
from ..extensions import db
from ..scheduling import qualifies
from .in_error import EnteredInError
from .protocols import Protocol
from .types import UTCDateTime, one_of, utcnow

COURSE_STATES = ("series_in_progress", "maintenance", "on_hold", "discharged", "entered_in_error")
MODES = ("scheduled", "as_needed")
OUTCOMES = ("completed", "stopped_early", "not_started")
OPEN_STATES = ("series_in_progress", "maintenance", "on_hold")


def key_text(length: int):
    """A search key column: byte order on PostgreSQL ("C"), so a prefix is one index range."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Patient(db.Model):
    """A person treated at the clinic."""

    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_last_first", "last_name", "first_name"),
        Index("ix_patients_dob", "date_of_birth"),
        # Search (services/search.py): each key is compared as a prefix, one index range.
        Index("ix_patients_last_first_key", "last_key", "first_key"),
        Index("ix_patients_first_key", "first_key"),
        Index("ix_patients_mrn_key", "mrn_key"),
        Index("ix_patients_phone_key", "phone_key"),
        Index("ix_patients_phone_key_reversed", "phone_key_reversed"),
        Index("ix_patients_email_key", "email_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(40), unique=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    date_of_birth: Mapped[date] = mapped_column(Date)
    email: Mapped[Optional[str]] = mapped_column(String(254))
    phone: Mapped[Optional[str]] = mapped_column(String(40))
    email_consent: Mapped[bool] = mapped_column(default=False)
    consent_recorded_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    email_opt_out_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # Staff stopped the messages asking an overdue patient to book again (reminders/reactivation).
    reactivation_stopped_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Search keys (tracker/search_keys.py), kept beside what was typed; filled on every write.
    first_key: Mapped[str] = mapped_column(key_text(search_keys.NAME_KEY_LENGTH), default="")
    last_key: Mapped[str] = mapped_column(key_text(search_keys.NAME_KEY_LENGTH), default="")
    mrn_key: Mapped[str] = mapped_column(key_text(search_keys.MRN_KEY_LENGTH), default="")
    phone_key: Mapped[Optional[str]] = mapped_column(key_text(search_keys.PHONE_KEY_LENGTH))
    phone_key_reversed: Mapped[Optional[str]] = mapped_column(key_text(search_keys.PHONE_KEY_LENGTH))
    email_key: Mapped[Optional[str]] = mapped_column(key_text(search_keys.EMAIL_KEY_LENGTH))
    # Optimistic locking: every UPDATE bumps it and checks it; forms carry the version they showed.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    courses: Mapped[list["Course"]] = relationship(
        back_populates="patient", order_by="Course.id", cascade="all, delete-orphan"
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def may_email(self) -> bool:
        """Consent recorded, an address on file, and no opt-out."""
        return bool(self.email_consent and self.email and self.email_opt_out_at is None)


@event.listens_for(Patient, "before_insert")
@event.listens_for(Patient, "before_update")
def _fill_search_keys(_mapper, _connection, patient: Patient) -> None:
    """Every ORM write of a patient refreshes its search keys from what was typed."""
    keys = search_keys.key_values(patient.first_name, patient.last_name, patient.mrn,
                                  patient.phone, patient.email)
    for name, value in keys.items():
        setattr(patient, name, value)


class Course(db.Model):
    """One episode of care: the initial series, then maintenance.

    The stored columns after `state` are facts kept current by services.courses whenever an
    infusion changes; statuses (due, overdue ...) are derived from them at read time.
    """

    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("min_days >= 0 AND min_days <= max_days", name="interval"),
        CheckConstraint("series_planned >= 1", name="series_planned"),
        CheckConstraint("phase_position >= 1 AND phase_entry_position >= 1", name="phase"),
        CheckConstraint(one_of("state", COURSE_STATES), name="state"),
        CheckConstraint(one_of("mode", MODES), name="mode"),
        Index("ix_courses_state_closes", "state", "window_closes"),
        Index("ix_courses_patient_state", "patient_id", "state"),
        # Status lists at scale (tracker/status.py, the worklist): each status is a range here.
        Index("ix_courses_state_mode_closes", "state", "mode", "window_closes", "window_opens"),
        Index("ix_courses_state_mode_opens", "state", "mode", "window_opens"),
        Index("ix_courses_state_last_qualifying", "state", "last_qualifying_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    indication: Mapped[str] = mapped_column(String(120), default="")
    state: Mapped[str] = mapped_column(String(20), default="series_in_progress")
    mode: Mapped[str] = mapped_column(String(12), default="scheduled")
    series_planned: Mapped[int] = mapped_column(default=6)
    min_days: Mapped[int] = mapped_column(default=30)
    max_days: Mapped[int] = mapped_column(default=90)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[Optional[date]] = mapped_column(Date)
    series_ended_early: Mapped[bool] = mapped_column(default=False)
    hold_reason: Mapped[Optional[str]] = mapped_column(String(200))
    state_before_hold: Mapped[Optional[str]] = mapped_column(String(20))
    # The hold ends by itself on this date (tracker.scheduling.course_status).
    resume_on: Mapped[Optional[date]] = mapped_column(Date)
    discharge_reason: Mapped[Optional[str]] = mapped_column(String(200))
    # Facts derived from the infusions, refreshed by services.courses.refresh_course.
    qualifying_count: Mapped[int] = mapped_column(default=0)
    last_qualifying_on: Mapped[Optional[date]] = mapped_column(Date)
    anchor_date: Mapped[Optional[date]] = mapped_column(Date)
    window_opens: Mapped[Optional[date]] = mapped_column(Date)
    window_closes: Mapped[Optional[date]] = mapped_column(Date)
    # The protocol the course walks (None: the standard course) and where it is: the current
    # phase and when it started are facts refreshed with the others; the entry is where a
    # clinician last put it (opening: phase 1), and the walk starts there.
    protocol_id: Mapped[Optional[int]] = mapped_column(ForeignKey("protocols.id"), index=True)
    phase_position: Mapped[int] = mapped_column(default=1, server_default="1")
    phase_started_on: Mapped[Optional[date]] = mapped_column(Date)
    phase_start_count: Mapped[int] = mapped_column(default=0, server_default="0")
    phase_entry_position: Mapped[int] = mapped_column(default=1, server_default="1")
    phase_entry_on: Mapped[Optional[date]] = mapped_column(Date)
    phase_entry_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Optimistic locking: every UPDATE bumps it and checks it; forms carry the version they showed.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    patient: Mapped[Patient] = relationship(back_populates="courses")
    protocol: Mapped[Optional["Protocol"]] = relationship()
    infusions: Mapped[list["Infusion"]] = relationship(
        back_populates="course", order_by="Infusion.given_at", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class Infusion(EnteredInError, db.Model):
    """One chair visit in which the drug was given (or not), with its outcome."""

    __tablename__ = "infusions"
    __table_args__ = (
        CheckConstraint("pain_before IS NULL OR (pain_before >= 0 AND pain_before <= 10)", name="pain_before"),
        CheckConstraint("pain_after IS NULL OR (pain_after >= 0 AND pain_after <= 10)", name="pain_after"),
        CheckConstraint(one_of("outcome", OUTCOMES), name="outcome"),
        CheckConstraint("dose_mg_per_kg IS NULL OR dose_mg_per_kg >= 0", name="dose"),
        CheckConstraint("weight_kg IS NULL OR weight_kg > 0", name="weight"),
        CheckConstraint("duration_min IS NULL OR duration_min >= 0", name="duration"),
        Index("ix_infusions_course_given", "course_id", "given_on"),
        Index("ix_infusions_patient_given", "patient_id", "given_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    appointment_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    given_on: Mapped[date] = mapped_column(Date)  # clinic-local date of given_at
    outcome: Mapped[str] = mapped_column(String(20), default="completed")
    counts_toward_series: Mapped[bool] = mapped_column(default=False)  # for stopped_early
    weight_kg: Mapped[Optional[Decimal]] = mapped_column(Numeric(6, 2))
    dose_mg_per_kg: Mapped[Optional[Decimal]] = mapped_column(Numeric(6, 3))
    total_mg: Mapped[Optional[Decimal]] = mapped_column(Numeric(8, 2))
    duration_min: Mapped[Optional[int]]
    pain_before: Mapped[Optional[int]]
    pain_after: Mapped[Optional[int]]
    # Vitals are timed readings on the session's monitoring sheet (models/monitoring.py).
    adverse_effects: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    is_booster: Mapped[bool] = mapped_column(default=False)
    early: Mapped[bool] = mapped_column(default=False)
    late: Mapped[bool] = mapped_column(default=False)
    early_reason: Mapped[Optional[str]] = mapped_column(String(200))
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Optimistic locking: every UPDATE bumps it and checks it; forms carry the version they showed.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    course: Mapped[Course] = relationship(back_populates="infusions")

    @property
    def qualifies(self) -> bool:
        """Completed, or stopped early and marked by a clinician as counting (scheduling.qualifies);
        never when entered in error."""
        return not self.in_error and qualifies(self.outcome, bool(self.counts_toward_series))
