"""Forms of the reminders area."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from ..validators import NoControlCharacters
from ..vocabulary import REMINDER_KIND, REMINDER_STATUS

STATUS_CHOICES = {"": "Any status", **REMINDER_STATUS}
KIND_CHOICES = {"": "Any kind", **REMINDER_KIND}


class ReminderFilterForm(FlaskForm):
    """Filters of the reminders log (a GET form: no CSRF token needed to read)."""

    class Meta:
        csrf = False

    status = SelectField("Status", choices=STATUS_CHOICES, default="", validators=[Optional()])
    kind = SelectField("Kind", choices=KIND_CHOICES, default="", validators=[Optional()])
    patient = StringField("Patient name or MRN", validators=[Optional(), Length(max=80), NoControlCharacters()])
    patient_id = IntegerField("Patient id", validators=[Optional(), NumberRange(min=1, max=2147483647)])


class ReminderActionForm(FlaskForm):
    """Retry or cancel one reminder (CSRF only); `back` returns to the filtered log."""

    back = HiddenField()
