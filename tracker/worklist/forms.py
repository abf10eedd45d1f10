"""Forms of the worklist area: GET filters (no CSRF token: they change nothing), and the
row's call log (a POST with a CSRF token)."""
from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from ..scheduling import WORKLIST_STATUSES
from ..services.outreach import MAX_NOTE_LENGTH, OUTCOME_LABELS
from ..validators import NoControlCharacters

STATUS_CHOICES = {"": "All needing action", "overdue": "Overdue", "due": "Due",
                  "interrupted": "Series interrupted", "lapsed": "Lapsed"}
BOOKED_CHOICES = {"": "Booked and unbooked", "unbooked": "Unbooked only", "booked": "Booked only"}
CONTACT_CHOICES = {"": "Called or not", "not_called": "Not contacted yet"}


class WorklistFilterForm(Form):
    """Status, booked/unbooked and a patient search (services/search.py)."""

    status = SelectField("Status", choices=STATUS_CHOICES, default="")
    booked = SelectField("Booking", choices=BOOKED_CHOICES, default="")
    contact = SelectField("Calls", choices=CONTACT_CHOICES, default="")
    q = StringField("Name, MRN, birth date or phone", validators=[Optional(), Length(max=100), NoControlCharacters()])

    @property
    def statuses(self) -> tuple[str, ...]:
        """The statuses asked for (all four when none is chosen)."""
        if self.status.data and self.status.data in STATUS_CHOICES and not self.status.errors:
            return (self.status.data,)
        return WORKLIST_STATUSES

    @property
    def booked_filter(self) -> bool | None:
        """True for booked only, False for unbooked only, None for both."""
        return {"booked": True, "unbooked": False}.get(self.booked.data or "")

    @property
    def not_called_only(self) -> bool:
        """True for "not contacted yet": unbooked patients nobody called in the quiet days."""
        return self.contact.data == "not_called" and not self.contact.errors

    @property
    def search(self) -> str | None:
        """The search text when it is valid and not blank."""
        text = (self.q.data or "").strip()
        return text if text and not self.q.errors else None


class UpcomingFilterForm(Form):
    """How many days ahead to look for windows opening."""

    days = IntegerField("Window opens within (days)",
                        validators=[Optional(), NumberRange(min=1, max=365,
                                                            message="Choose between 1 and 365 days.")])


class CallForm(FlaskForm):
    """One call from a worklist row: what happened, an optional note, the page to go back to."""

    outcome = SelectField("Outcome", choices={"": "Choose…", **OUTCOME_LABELS},
                          validators=[InputRequired(message="Choose what happened on the call.")])
    note = StringField("Note", validators=[Optional(), Length(max=MAX_NOTE_LENGTH),
                                           NoControlCharacters()])
    next = HiddenField()

    def validate_outcome(self, field):
        if field.data not in OUTCOME_LABELS:
            raise ValidationError("Choose what happened on the call.")


class ReactivationForm(FlaskForm):
    """Stop (or restart) the emails asking one patient to book again: the button's value."""

    stop = SelectField("Emails asking to book", choices={"yes": "Stop them", "no": "Restart them"},
                       validators=[InputRequired(message="Choose whether to stop the emails.")])


class WaitlistAddForm(FlaskForm):
    """Put a patient on the waitlist from the worklist: a button, and the page to go back to."""

    next = HiddenField()
