"""Forms of the patients area."""
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateTimeLocalField, DecimalField, IntegerField, SelectField, StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..validators import NoControlCharacters

OUTCOME_CHOICES = {"completed": "Completed", "stopped_early": "Stopped early", "not_started": "Not started"}


class InfusionForm(FlaskForm):
    """A clinician records one session; total mg is computed from weight and mg/kg."""

    given_at = DateTimeLocalField("Date and time (clinic time)", format="%Y-%m-%dT%H:%M",
                                  validators=[InputRequired(message="Enter the date and time.")])
    outcome = SelectField("Outcome", choices=OUTCOME_CHOICES, default="completed")
    counts_toward_series = BooleanField("Stopped early, but counts toward the series")
    weight_kg = DecimalField("Weight (kg)", places=2, validators=[Optional(), NumberRange(min=Decimal("0.5"), max=400)])
    dose_mg_per_kg = DecimalField("Dose (mg/kg)", places=3, validators=[Optional(), NumberRange(min=0)])
    duration_min = IntegerField("Duration (minutes)", validators=[Optional(), NumberRange(min=0, max=1440)])
    pain_before = IntegerField("Pain before (0-10)", validators=[Optional(), NumberRange(min=0, max=10)])
    pain_after = IntegerField("Pain after (0-10)", validators=[Optional(), NumberRange(min=0, max=10)])
    bp_systolic = IntegerField("Blood pressure, systolic", validators=[Optional(), NumberRange(min=40, max=300)])
    bp_diastolic = IntegerField("Blood pressure, diastolic", validators=[Optional(), NumberRange(min=20, max=200)])
    heart_rate = IntegerField("Heart rate (bpm)", validators=[Optional(), NumberRange(min=20, max=250)])
    spo2 = IntegerField("SpO2 (%)", validators=[Optional(), NumberRange(min=50, max=100)])
    adverse_effects = TextAreaField("Adverse effects", validators=[Length(max=2000), NoControlCharacters()])
    notes = TextAreaField("Notes", validators=[Length(max=4000), NoControlCharacters()])
    early_reason = StringField("Reason for an early booster", validators=[Length(max=200), NoControlCharacters()])

    VALUE_FIELDS = ("outcome", "counts_toward_series", "weight_kg", "dose_mg_per_kg", "duration_min",
                    "pain_before", "pain_after", "bp_systolic", "bp_diastolic", "heart_rate", "spo2",
                    "adverse_effects", "notes", "early_reason")

    def infusion_values(self) -> dict:
        """Keyword arguments for services.infusions.record_infusion (without given_at)."""
        values = {name: getattr(self, name).data for name in self.VALUE_FIELDS}
        values["counts_toward_series"] = bool(values["counts_toward_series"]) and values["outcome"] == "stopped_early"
        values["adverse_effects"] = (values["adverse_effects"] or "").strip()
        values["notes"] = (values["notes"] or "").strip()
        return values
