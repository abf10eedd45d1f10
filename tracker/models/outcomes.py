"""Outcome measures: one completed (or incomplete) questionnaire or scale for a patient."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..outcomes.instruments import score_text
from .in_error import EnteredInError
from .types import UTCDateTime, one_of, utcnow

# The instruments' codes (their items, scoring and bands: tracker/outcomes/instruments.py).
INSTRUMENTS = ("pain_nrs", "peg", "phq9", "gad7", "cadss6")
# How the answers reached the record: asked in the clinic, taken by phone, or (later) given by
# the patient through a check-in link.
MEASURE_SOURCES = ("in_clinic", "phone", "check_in_link")


class OutcomeMeasure(EnteredInError, db.Model):  # type: ignore[name-defined]  # flask-sqlalchemy's dynamic base
    """The answers to one instrument on one occasion, and the score they give.

    A missing answer leaves the measure incomplete: no score and no band, never a guess.
    Never deleted: a mistaken one is marked entered in error, with the reason.
    """

    __tablename__ = "outcome_measures"
    __table_args__ = (
        CheckConstraint(one_of("instrument", INSTRUMENTS), name="measure_instrument"),
        CheckConstraint(one_of("source", MEASURE_SOURCES), name="measure_source"),
        CheckConstraint("complete = (score IS NOT NULL)", name="measure_score_when_complete"),
        Index(
            "ix_outcome_measures_patient_instrument_taken", "patient_id", "instrument", "taken_on"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    # The session it was taken in or after (CADSS-6 in the chair; check-ins count from one).
    infusion_id: Mapped[int | None] = mapped_column(ForeignKey("infusions.id", ondelete="SET NULL"))
    instrument: Mapped[str] = mapped_column(String(12))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    taken_on: Mapped[date] = mapped_column(Date)  # clinic-local date of taken_at
    # One answer per item, in the instrument's order; None where the item was not answered.
    answers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    complete: Mapped[bool] = mapped_column(default=False)
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    band: Mapped[str | None] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(16), default="in_clinic")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}

    @property
    def score_text(self) -> str | None:
        """The score as people write it (16, 6.33), or None when incomplete."""
        return None if self.score is None else score_text(self.score)
