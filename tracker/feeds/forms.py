"""Forms of the calendar feeds page (buttons with CSRF; revoking needs a ticked box)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import InputRequired


class IssueFeedForm(FlaskForm):
    """Create or rotate a subscription URL."""


class RevokeFeedForm(FlaskForm):
    """Stop a subscription URL; the box must be ticked."""

    sure = BooleanField(
        "Yes, stop this URL: calendars subscribed to it stop updating",
        validators=[InputRequired(message="Tick the box to stop the URL.")],
    )
