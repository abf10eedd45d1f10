"""Clinic-wide settings (one row) and the audit trail."""
from datetime import datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class ClinicSettings(db.Model):
    """Every clinical number is a setting with a default; there is one row, id 1."""

    __tablename__ = "clinic_settings"
    __table_args__ = (
        CheckConstraint("default_min_days >= 0 AND default_min_days <= default_max_days", name="interval"),
        CheckConstraint("send_hours_start < send_hours_end", name="send_hours"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_name: Mapped[str] = mapped_column(String(120), default="Infusion Clinic")
    display_name: Mapped[str] = mapped_column(String(120), default="Clinic appointments")
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    default_min_days: Mapped[int] = mapped_column(default=30)
    default_max_days: Mapped[int] = mapped_column(default=90)
    default_series_planned: Mapped[int] = mapped_column(default=6)
    lapse_grace_days: Mapped[int] = mapped_column(default=90)
    series_max_gap_days: Mapped[int] = mapped_column(default=14)
    max_dose_mg_per_kg: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("5"))
    upcoming_days: Mapped[int] = mapped_column(default=14)  # worklist: windows opening soon
    # Reminders
    window_upcoming_days: Mapped[int] = mapped_column(default=7)
    window_closing_days: Mapped[int] = mapped_column(default=14)
    appointment_hours: Mapped[int] = mapped_column(default=48)
    send_hours_start: Mapped[int] = mapped_column(default=8)
    send_hours_end: Mapped[int] = mapped_column(default=20)
    digest_hour: Mapped[int] = mapped_column(default=7)
    max_send_attempts: Mapped[int] = mapped_column(default=5)
    # Chair time
    default_prep_min: Mapped[int] = mapped_column(default=15)
    default_recovery_min: Mapped[int] = mapped_column(default=45)
    max_concurrent_per_clinician: Mapped[int] = mapped_column(default=3)
    slot_step_min: Mapped[int] = mapped_column(default=15)
    # Search and recall (services/search.py, worklist): how dates of birth are typed, and how
    # many days a patient who was called sorts below those not yet called.
    date_order: Mapped[str] = mapped_column(String(3), default="MDY")
    recall_quiet_days: Mapped[int] = mapped_column(default=3)
    # Patient self-service (book and manage links)
    online_min_notice_hours: Mapped[int] = mapped_column(default=24)  # earliest online booking
    online_horizon_days: Mapped[int] = mapped_column(default=60)  # latest online booking
    online_cutoff_hours: Mapped[int] = mapped_column(default=24)  # no online move/cancel inside
    online_late_cancel: Mapped[bool] = mapped_column(default=False)  # cancel inside: late-cancel
    online_bookings_confirmed: Mapped[bool] = mapped_column(default=False)  # else pending
    # Reactivation: messages asking overdue and lapsed patients to book, at most N, days apart
    reactivation_messages: Mapped[int] = mapped_column(default=2, server_default="2")
    reactivation_interval_days: Mapped[int] = mapped_column(default=14, server_default="14")
    # Waitlist: how many patients a freed chair block is offered to, and for how many hours
    waitlist_offers: Mapped[int] = mapped_column(default=3, server_default="3")
    waitlist_offer_hours: Mapped[int] = mapped_column(default=12, server_default="12")
    # Entering sessions: warn when a dose differs from the patient's last by more than this share.
    dose_change_warn_percent: Mapped[int] = mapped_column(default=25, server_default="25")
    # Staff sessions and logins
    idle_timeout_minutes: Mapped[int] = mapped_column(default=30)
    two_factor_for_everyone: Mapped[bool] = mapped_column(default=False)
    # How dates and times are written on pages, in emails and on the day sheet (tracker.formatting)
    date_style: Mapped[str] = mapped_column(String(20), default="weekday")
    time_style: Mapped[str] = mapped_column(String(8), default="24h")


class AuditEvent(db.Model):
    """Who changed which patient data, when, and the values before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_patient_at", "patient_id", "at"),
        Index("ix_audit_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(254))  # user email, "patient" or "system"
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[Optional[int]]
    patient_id: Mapped[Optional[int]] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
