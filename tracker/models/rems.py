"""Esketamine REMS: which courses need a REMS patient monitoring form after each session, and
the forms themselves (one per session, never deleted)."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .in_error import EnteredInError, unique_while_live
from .types import UTCDateTime, utcnow

# Devices of 28 mg each; the REMS form's doses are 56 mg (2), 84 mg (3) or another dose.
DEVICES_RANGE = (1, 3)
DOSE_MG_RANGE = (1, 84)
LOT_NUMBER_MAX = 40
SAE_DESCRIPTION_MAX = 2000
BP_SIDES = ("systolic", "diastolic")
BP_MOMENTS = ("before", "at_40", "end")  # before dosing, about 40 minutes after, at the end
BP_RANGES = {"systolic": (40, 300), "diastolic": (20, 200)}  # as on the monitoring sheet
BP_COLUMNS = tuple(f"bp_{moment}_{side}" for moment in BP_MOMENTS for side in BP_SIDES)


def _bp_checks() -> tuple:
    checks = []
    for moment in BP_MOMENTS:
        for side in BP_SIDES:
            low, high = BP_RANGES[side]
            name = f"bp_{moment}_{side}"
            checks.append(
                CheckConstraint(
                    f"{name} IS NULL OR ({name} >= {low} AND {name} <= {high})", name=name
                )
            )
        checks.append(
            CheckConstraint(
                f"bp_{moment}_diastolic IS NULL OR bp_{moment}_systolic IS NULL "
                f"OR bp_{moment}_diastolic < bp_{moment}_systolic",
                name=f"bp_{moment}_order",
            )
        )
    return tuple(checks)


class RemsCourse(db.Model):  # type: ignore[name-defined]  # flask-sqlalchemy's dynamic base
    """A course whose sessions each need a REMS patient monitoring form, turned on by a
    clinician. A protocol that carries the requirement turns it on for the course it opens.
    The row stays when it is turned off (with the time, who and why)."""

    __tablename__ = "rems_courses"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    turned_on_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    turned_on_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Sessions on or after this clinic-local date need a form (turned on, less 7 days).
    sessions_from: Mapped[date] = mapped_column(Date)
    turned_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    turned_off_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    turned_off_reason: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    @property
    def on(self) -> bool:
        """Forms are needed for this course's sessions."""
        return self.turned_off_at is None


class RemsForm(EnteredInError, db.Model):  # type: ignore[name-defined]
    """The REMS patient monitoring form of one session: what was given, the monitoring times,
    the three blood pressures, the yes/no observations, and when it was filed with the REMS."""

    __tablename__ = "rems_forms"
    __table_args__ = _bp_checks() + (
        CheckConstraint(
            f"devices IS NULL OR (devices >= {DEVICES_RANGE[0]} AND devices <= {DEVICES_RANGE[1]})",
            name="devices",
        ),
        CheckConstraint(
            f"dose_mg IS NULL OR (dose_mg >= {DOSE_MG_RANGE[0]} AND dose_mg <= {DOSE_MG_RANGE[1]})",
            name="dose_mg",
        ),
        CheckConstraint(
            "monitoring_ended_at IS NULL OR monitoring_started_at IS NULL "
            "OR monitoring_ended_at > monitoring_started_at",
            name="monitoring_order",
        ),
        Index("ix_rems_forms_patient", "patient_id"),
        # One live form per session, even when two clinicians save at once.
        unique_while_live("uq_rems_forms_live_infusion", "infusion_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    infusion_id: Mapped[int] = mapped_column(ForeignKey("infusions.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    dose_mg: Mapped[int | None]
    devices: Mapped[int | None]
    lot_number: Mapped[str] = mapped_column(String(LOT_NUMBER_MAX), default="")
    monitoring_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    monitoring_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bp_before_systolic: Mapped[int | None]
    bp_before_diastolic: Mapped[int | None]
    bp_at_40_systolic: Mapped[int | None]
    bp_at_40_diastolic: Mapped[int | None]
    bp_end_systolic: Mapped[int | None]
    bp_end_diastolic: Mapped[int | None]
    sedation: Mapped[bool | None]
    dissociation: Mapped[bool | None]
    respiratory_depression: Mapped[bool | None]
    serious_adverse_event: Mapped[bool | None]
    serious_adverse_event_description: Mapped[str] = mapped_column(Text, default="")
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Filed with the REMS (on its website or by fax): the clinic-local date and who filed it.
    filed_on: Mapped[date | None] = mapped_column(Date)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
