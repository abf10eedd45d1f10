"""Staff forms of the check-ins area: the clinic's settings, and a clinician's decision."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..outcomes.instruments import INSTRUMENTS
from ..schedule.forms import MultiCheckboxField
from ..validators import NoControlCharacters
from .decisions import REASON_MAX
from .settings import HOME_INSTRUMENTS, MAX_DAY


class CheckInSettingsForm(FlaskForm):
    """When check-in links go out, what they ask, and the rules that make a patient clinically due."""

    enabled = BooleanField("Send check-in links to patients who consented to email")
    days = StringField(
        "Days after each session",
        validators=[DataRequired(message="Enter at least one day."), Length(max=60)],
    )
    instruments = MultiCheckboxField(
        "Questions the check-in asks",
        choices={code: INSTRUMENTS[code].name for code in HOME_INSTRUMENTS},
        validate_choice=False,
    )
    phq9_threshold = IntegerField(
        "Clinically due when the PHQ-9 total is at least",
        validators=[Optional(), NumberRange(1, 27, message="Enter a total from 1 to 27.")],
    )
    pain_return_percent = IntegerField(
        "Clinically due when the pain NRS is back within this % of the baseline",
        validators=[Optional(), NumberRange(0, 100, message="Enter a percentage from 0 to 100.")],
    )

    def settings_values(self) -> dict:
        """Keyword values for check_ins.service.update_settings."""
        return {
            "enabled": self.enabled.data,
            "days": self.days.data or "",
            "instruments": list(self.instruments.data or ()),
            "phq9_threshold": self.phq9_threshold.data,
            "pain_return_percent": self.pain_return_percent.data,
        }


class AcceptForm(FlaskForm):
    """Accept a clinically-due entry: the patient is due now, until the next session."""

    version = HiddenField()
    next = HiddenField()


class DismissForm(FlaskForm):
    """Dismiss a clinically-due entry, with the reason."""

    version = HiddenField()
    next = HiddenField()
    reason = TextAreaField(
        "Why dismiss it?",
        validators=[
            DataRequired(message="Say why this entry is dismissed."),
            Length(max=REASON_MAX),
            NoControlCharacters(),
        ],
    )


MAX_DAY_HINT = f"Comma-separated, from 1 to {MAX_DAY}: for example 7, 14, 21, 28."
