"""A session's monitoring sheet: timed readings, the clinic's flag ranges, and the release."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .in_error import LIVE, EnteredInError, unique_while_live
from .types import UTCDateTime, one_of, utcnow

READING_KINDS = ("baseline", "interval", "discharge")
ONE_OF_KIND = f"kind IN ('baseline', 'discharge') AND {LIVE}"
# Every measured value of a reading, in the order the sheet shows them.
MEASURES = (
    "bp_systolic",
    "bp_diastolic",
    "heart_rate",
    "spo2",
    "respiratory_rate",
    "sedation",
    "dissociation",
)
# Physiologically possible values, inclusive: anything outside is a typing mistake and is
# refused (services.monitoring checks them; the check constraints below are built from them).
# Sedation is the MOAA/S (0 = no response, 5 = responds readily to name); dissociation is the
# CADSS-6 total (0-24, tracker/outcomes/instruments.py).
POSSIBLE_RANGES = {
    "bp_systolic": (40, 300),
    "bp_diastolic": (20, 200),
    "heart_rate": (20, 250),
    "spo2": (50, 100),
    "respiratory_rate": (2, 60),
    "sedation": (0, 5),
    "dissociation": (0, 24),
}


def _possible(name: str) -> str:
    low, high = POSSIBLE_RANGES[name]
    return f"{name} IS NULL OR ({name} >= {low} AND {name} <= {high})"


class MonitoringSettings(db.Model):  # type: ignore[name-defined]  # flask-sqlalchemy's dynamic base
    """The clinic's monitoring interval and the ranges readings are flagged against (one row,
    id 1; a missing limit flags nothing on that side). Defaults are a starting point for the
    clinic's own protocol, not advice."""

    __tablename__ = "monitoring_settings"
    __table_args__ = tuple(
        CheckConstraint(
            f"{m}_low IS NULL OR {m}_high IS NULL OR {m}_low <= {m}_high", name=f"{m}_limits"
        )
        for m in MEASURES
    ) + (CheckConstraint("interval_min >= 1 AND interval_min <= 240", name="interval_min"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interval_min: Mapped[int] = mapped_column(default=15)
    bp_systolic_low: Mapped[int | None] = mapped_column(default=90)
    bp_systolic_high: Mapped[int | None] = mapped_column(default=160)
    bp_diastolic_low: Mapped[int | None] = mapped_column(default=50)
    bp_diastolic_high: Mapped[int | None] = mapped_column(default=100)
    heart_rate_low: Mapped[int | None] = mapped_column(default=50)
    heart_rate_high: Mapped[int | None] = mapped_column(default=110)
    spo2_low: Mapped[int | None] = mapped_column(default=94)
    spo2_high: Mapped[int | None] = mapped_column(default=None)
    respiratory_rate_low: Mapped[int | None] = mapped_column(default=10)
    respiratory_rate_high: Mapped[int | None] = mapped_column(default=24)
    sedation_low: Mapped[int | None] = mapped_column(default=4)
    sedation_high: Mapped[int | None] = mapped_column(default=None)
    dissociation_low: Mapped[int | None] = mapped_column(default=None)
    dissociation_high: Mapped[int | None] = mapped_column(default=12)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class MonitoringSheet(db.Model):  # type: ignore[name-defined]
    """The monitoring of one session: its start and stop, when the patient was ready to leave,
    and who released them to whom. Readings hang off it; a sheet is never deleted."""

    __tablename__ = "monitoring_sheets"
    __table_args__ = (
        CheckConstraint(
            "stopped_at IS NULL OR stopped_at >= started_at", name="stopped_after_start"
        ),
        CheckConstraint(
            "released_at IS NULL OR released_at >= started_at", name="released_after_start"
        ),
        Index("ix_monitoring_sheets_patient", "patient_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    infusion_id: Mapped[int] = mapped_column(
        ForeignKey("infusions.id", ondelete="CASCADE"), unique=True
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ready_to_leave_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the discharge time
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    released_to: Mapped[str | None] = mapped_column(String(120))  # name, and how related
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Optimistic locking: every UPDATE bumps it and checks it; forms carry the version they showed.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    readings: Mapped[list["MonitoringReading"]] = relationship(
        back_populates="sheet", order_by="(MonitoringReading.taken_at, MonitoringReading.id)"
    )


class MonitoringReading(EnteredInError, db.Model):  # type: ignore[name-defined]
    """One timed set of observations; the flags are those of the clinic's ranges when it was
    entered. Never deleted: a mistaken reading is marked entered in error, with the reason."""

    __tablename__ = "monitoring_readings"
    __table_args__ = tuple(CheckConstraint(_possible(m), name=f"reading_{m}") for m in MEASURES) + (
        CheckConstraint(one_of("kind", READING_KINDS), name="reading_kind"),
        CheckConstraint(
            "bp_diastolic IS NULL OR bp_systolic IS NULL OR bp_diastolic < bp_systolic",
            name="reading_bp_order",
        ),
        Index("ix_monitoring_readings_sheet_taken", "sheet_id", "taken_at"),
        # One baseline and one discharge reading per sheet, even when two nurses save at once.
        unique_while_live(
            "uq_monitoring_readings_one_of_kind", "sheet_id", "kind", where=ONE_OF_KIND
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("monitoring_sheets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    bp_systolic: Mapped[int | None]
    bp_diastolic: Mapped[int | None]
    heart_rate: Mapped[int | None]
    spo2: Mapped[int | None]
    respiratory_rate: Mapped[int | None]
    sedation: Mapped[int | None]
    dissociation: Mapped[int | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    # {measure: "low" | "high"} against the ranges in force when the reading was entered.
    flags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    sheet: Mapped[MonitoringSheet] = relationship(back_populates="readings")
