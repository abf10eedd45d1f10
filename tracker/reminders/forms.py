"""Forms of the reminders area."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from ..validators import NoControlCharacters

STATUS_CHOICES = {"": "Any status", "pending": "Pending", "sending": "Sending", "sent": "Sent",
                  "failed": "Failed", "cancelled": "Cancelled", "skipped": "Skipped"}
KIND_CHOICES = {"": "Any kind", "window_upcoming": "Window opening soon",
                "window_closing": "Window closing soon", "appointment": "Appointment",
                "staff_digest": "Staff digest", "visit_booked": "Visit booked",
                "visit_moved": "Visit moved", "visit_cancelled": "Visit cancelled"}


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
