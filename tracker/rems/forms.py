"""Forms of the REMS patient monitoring form, its filing, and the course's requirement."""

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from ..form_fields import BoundedDateField
from ..models.rems import (
    BP_RANGES,
    DEVICES_RANGE,
    DOSE_MG_RANGE,
    LOT_NUMBER_MAX,
    SAE_DESCRIPTION_MAX,
)
from ..monitoring.forms import TIME_FORMAT, BoundedDateTimeField
from ..validators import NoControlCharacters

YES_NO = {"yes": "Yes", "no": "No"}
MOMENT_WORDS = {
    "before": "before dosing",
    "at_40": "at about 40 minutes",
    "end": "at the end of monitoring",
}
OBSERVATIONS = ("sedation", "dissociation", "respiratory_depression", "serious_adverse_event")


def _bp(moment: str, side: str) -> IntegerField:
    low, high = BP_RANGES[side]
    return IntegerField(
        f"{side.capitalize()} {MOMENT_WORDS[moment]} (mmHg)",
        validators=[
            InputRequired(
                message=f"No blood pressure {MOMENT_WORDS[moment]} on the monitoring sheet: "
                "add the reading to the sheet, or enter it here."
            ),
            NumberRange(low, high, message=f"Enter a number from {low} to {high}."),
        ],
    )


def _yes_no(label: str) -> RadioField:
    return RadioField(
        label, choices=YES_NO, validators=[InputRequired(message="Answer yes or no.")]
    )


class RemsAnswersForm(FlaskForm):
    """The session's REMS patient monitoring form (tracker/rems/rules.py names the source)."""

    dose_mg = IntegerField(
        "Dose given (mg)",
        validators=[
            InputRequired(message="Enter the dose given in mg."),
            NumberRange(*DOSE_MG_RANGE, message="Enter a dose from 1 to 84 mg."),
        ],
    )
    devices = SelectField(
        "Number of devices (28 mg each)",
        choices={"": "Choose", "1": "1", "2": "2", "3": "3"},
        validators=[InputRequired(message="Choose how many devices were used.")],
    )
    lot_number = StringField(
        "Lot number",
        validators=[
            InputRequired(message="Enter the lot number on the device's box."),
            Length(max=LOT_NUMBER_MAX),
            NoControlCharacters(),
        ],
    )
    monitoring_started_at = BoundedDateTimeField(
        "Monitoring started (clinic time)",
        format=TIME_FORMAT,
        validators=[InputRequired(message="Enter when monitoring started.")],
    )
    monitoring_ended_at = BoundedDateTimeField(
        "Monitoring ended (clinic time)",
        format=TIME_FORMAT,
        validators=[InputRequired(message="Enter when monitoring ended.")],
    )
    bp_before_systolic = _bp("before", "systolic")
    bp_before_diastolic = _bp("before", "diastolic")
    bp_at_40_systolic = _bp("at_40", "systolic")
    bp_at_40_diastolic = _bp("at_40", "diastolic")
    bp_end_systolic = _bp("end", "systolic")
    bp_end_diastolic = _bp("end", "diastolic")
    sedation = _yes_no("Sedation")
    dissociation = _yes_no("Dissociation")
    respiratory_depression = _yes_no("Respiratory depression")
    serious_adverse_event = _yes_no("Serious adverse event")
    serious_adverse_event_description = TextAreaField(
        "If yes: what happened",
        validators=[Optional(), Length(max=SAE_DESCRIPTION_MAX), NoControlCharacters()],
    )
    version = HiddenField()

    def validate_devices(self, field) -> None:
        """One of the device counts."""
        low, high = DEVICES_RANGE
        if field.data and not (field.data.isdigit() and low <= int(field.data) <= high):
            raise ValidationError("Choose 1, 2 or 3 devices.")

    def answers(self) -> dict:
        """The answers for rems.service.save_form (times still clinic wall-clock: the view
        turns them into instants)."""
        values: dict = {
            name: getattr(self, name).data
            for name in (
                "dose_mg",
                "lot_number",
                "bp_before_systolic",
                "bp_before_diastolic",
                "bp_at_40_systolic",
                "bp_at_40_diastolic",
                "bp_end_systolic",
                "bp_end_diastolic",
                "serious_adverse_event_description",
            )
        }
        values["devices"] = int(self.devices.data)
        for name in OBSERVATIONS:
            values[name] = getattr(self, name).data == "yes"
        return values


class FiledForm(FlaskForm):
    """The day the form was filed with the REMS (website or fax)."""

    filed_on = BoundedDateField(
        "Filed on", validators=[InputRequired(message="Enter the day the form was filed.")]
    )
    version = HiddenField()


class RemsCourseForm(FlaskForm):
    """Turn the REMS forms on for a course, or off with a reason."""

    reason = StringField(
        "Why turn them off?", validators=[Optional(), Length(max=200), NoControlCharacters()]
    )
