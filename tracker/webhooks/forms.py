"""Forms of the webhooks admin pages."""

from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import WEBHOOK_EVENTS
from ..validators import NoControlCharacters

EVENT_LABELS = {
    "appointment.booked": "An appointment is booked",
    "appointment.moved": "An appointment is moved",
    "appointment.cancelled": "An appointment is cancelled",
    "appointment.no_show": "A no-show is recorded",
    "appointment.fulfilled": "An appointment is completed",
    "window.opened": "A maintenance window opens",
    "patient.lapsed": "A patient lapses",
}
assert set(EVENT_LABELS) == set(WEBHOOK_EVENTS)


class AtLeastOne:
    """'Choose at least one' without the `required` flag (which the browser puts on every box)."""

    def __call__(self, form, field):
        if not field.data:
            raise ValidationError("Choose at least one event.")


class EventsField(SelectMultipleField):
    """The events as labelled checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EndpointForm(FlaskForm):
    """Register a URL for some events."""

    url = StringField(
        "Address (URL)",
        validators=[
            InputRequired(message="Enter the address."),
            Length(max=500),
            NoControlCharacters(),
        ],
    )
    description = StringField(
        "What it is", validators=[Optional(), Length(max=120), NoControlCharacters()]
    )
    events = EventsField(
        "Events", choices=EVENT_LABELS, default=list(WEBHOOK_EVENTS), validators=[AtLeastOne()]
    )

    def validate_url(self, field):
        parts = urlsplit((field.data or "").strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValidationError(
                "Enter an address starting with https:// (or http:// on a private network)."
            )
        field.data = field.data.strip()


class ActiveForm(FlaskForm):
    """Pause or resume an endpoint."""

    active = BooleanField("Send events to this address")


class ButtonForm(FlaskForm):
    """A button with its CSRF token (send a test)."""
