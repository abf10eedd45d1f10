"""Forms of the monitoring sheet and of its clinic settings."""

from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from ..models import MEASURES, POSSIBLE_RANGES
from ..services.clinic import MAX_YEAR, MIN_YEAR
from ..validators import NoControlCharacters
from .rules import KIND_LABELS, MEASURE_LABELS, NOTES_MAX, RELEASED_TO_MAX, UNITS

TIME_FORMAT = "%Y-%m-%dT%H:%M"


class BoundedDateTimeField(DateTimeLocalField):
    """A clinic wall-clock date and time whose year is one a clinic's records can hold."""

    def pre_validate(self, form):
        if self.data is not None and not MIN_YEAR <= self.data.year <= MAX_YEAR:
            raise ValidationError("Check the year.")


def _label(name: str) -> str:
    unit = UNITS[name]
    return f"{MEASURE_LABELS[name]} ({unit})" if unit else MEASURE_LABELS[name]


def _measure_field(name: str) -> IntegerField:
    low, high = POSSIBLE_RANGES[name]
    return IntegerField(
        _label(name),
        validators=[
            Optional(),
            NumberRange(low, high, message=f"Enter a number from {low} to {high}."),
        ],
    )


class ReadingForm(FlaskForm):
    """One timed reading; every value may be left empty but not all of them."""

    kind = SelectField("Reading", choices=KIND_LABELS, default="interval")
    taken_at = BoundedDateTimeField(
        "Time taken (clinic time)",
        format=TIME_FORMAT,
        validators=[InputRequired(message="Enter the time of the reading.")],
    )
    bp_systolic = _measure_field("bp_systolic")
    bp_diastolic = _measure_field("bp_diastolic")
    heart_rate = _measure_field("heart_rate")
    spo2 = _measure_field("spo2")
    respiratory_rate = _measure_field("respiratory_rate")
    sedation = _measure_field("sedation")
    dissociation = _measure_field("dissociation")
    notes = TextAreaField("Notes", validators=[Length(max=NOTES_MAX), NoControlCharacters()])

    def reading_values(self) -> dict:
        """The measured values and the note, for services.monitoring.record_reading."""
        values = {name: getattr(self, name).data for name in MEASURES}
        values["notes"] = (self.notes.data or "").strip()
        return values


class TimesForm(FlaskForm):
    """When the session (its monitoring) started and stopped."""

    started_at = BoundedDateTimeField(
        "Session started (clinic time)",
        format=TIME_FORMAT,
        validators=[InputRequired(message="Enter the start time.")],
    )
    stopped_at = BoundedDateTimeField(
        "Monitoring stopped (clinic time)", format=TIME_FORMAT, validators=[Optional()]
    )
    version = HiddenField()


class ReleaseForm(FlaskForm):
    """Ready to leave, the discharge, who released the patient and to whom."""

    ready_to_leave_at = BoundedDateTimeField(
        "Ready to leave (clinic time)", format=TIME_FORMAT, validators=[Optional()]
    )
    released_at = BoundedDateTimeField(
        "Discharged (clinic time)",
        format=TIME_FORMAT,
        validators=[InputRequired(message="Enter the discharge time.")],
    )
    released_by = SelectField("Released by", coerce=int, validate_choice=False)
    released_to = StringField(
        "Left with",
        validators=[
            InputRequired(message="Say who the patient left with, or 'alone'."),
            Length(max=RELEASED_TO_MAX),
            NoControlCharacters(),
        ],
    )
    version = HiddenField()


def _limit_field(name: str, side: str) -> IntegerField:
    low, high = POSSIBLE_RANGES[name]
    word = "Flag below" if side == "low" else "Flag above"
    return IntegerField(
        f"{MEASURE_LABELS[name]}: {word.lower()}",
        validators=[
            Optional(),
            NumberRange(
                low, high, message=f"Enter a number from {low} to {high}, or leave it empty."
            ),
        ],
    )


class MonitoringSettingsForm(FlaskForm):
    """The clinic's interval between readings and the ranges readings are flagged against."""

    interval_min = IntegerField(
        "Minutes between interval readings",
        validators=[
            InputRequired(message="Enter the minutes between readings."),
            NumberRange(1, 240),
        ],
    )
    bp_systolic_low = _limit_field("bp_systolic", "low")
    bp_systolic_high = _limit_field("bp_systolic", "high")
    bp_diastolic_low = _limit_field("bp_diastolic", "low")
    bp_diastolic_high = _limit_field("bp_diastolic", "high")
    heart_rate_low = _limit_field("heart_rate", "low")
    heart_rate_high = _limit_field("heart_rate", "high")
    spo2_low = _limit_field("spo2", "low")
    spo2_high = _limit_field("spo2", "high")
    respiratory_rate_low = _limit_field("respiratory_rate", "low")
    respiratory_rate_high = _limit_field("respiratory_rate", "high")
    sedation_low = _limit_field("sedation", "low")
    sedation_high = _limit_field("sedation", "high")
    dissociation_low = _limit_field("dissociation", "low")
    dissociation_high = _limit_field("dissociation", "high")
