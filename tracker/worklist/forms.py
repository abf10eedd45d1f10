"""Forms of the worklist area: GET filters, so no CSRF token (they change nothing)."""
from wtforms import Form, IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from ..scheduling import WORKLIST_STATUSES
from ..validators import NoControlCharacters

STATUS_CHOICES = {"": "All needing action", "overdue": "Overdue", "due": "Due",
                  "interrupted": "Series interrupted", "lapsed": "Lapsed"}
BOOKED_CHOICES = {"": "Booked and unbooked", "unbooked": "Unbooked only", "booked": "Booked only"}


class WorklistFilterForm(Form):
    """Status, booked/unbooked and a patient search (services/search.py)."""

    status = SelectField("Status", choices=STATUS_CHOICES, default="")
    booked = SelectField("Booking", choices=BOOKED_CHOICES, default="")
    q = StringField("Find a patient", validators=[Optional(), Length(max=100), NoControlCharacters()])

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
    def search(self) -> str | None:
        """The search text when it is valid and not blank."""
        text = (self.q.data or "").strip()
        return text if text and not self.q.errors else None


class UpcomingFilterForm(Form):
    """How many days ahead to look for windows opening."""

    days = IntegerField("Window opens within (days)",
                        validators=[Optional(), NumberRange(min=1, max=365,
                                                            message="Choose between 1 and 365 days.")])
