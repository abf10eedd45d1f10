"""Forms of the API tokens page."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from ..validators import NoControlCharacters
from .tokens import NAME_MAX

SCOPE_CHOICES = {"read": "Read only", "write": "Read and write (book, move, cancel, confirm)"}


class NewTokenForm(FlaskForm):
    """Issue a token acting as one staff member."""

    user_id = SelectField("Acts as", validators=[InputRequired(message="Choose a staff member.")])
    name = StringField(
        "What it is for", validators=[Optional(), Length(max=NAME_MAX), NoControlCharacters()]
    )
    scope = SelectField("Access", choices=SCOPE_CHOICES, default="read")


class RevokeForm(FlaskForm):
    """Revoke a token; the box must be ticked (nothing destructive in one click)."""

    sure = BooleanField(
        "Yes, revoke this token: programs using it stop working at once",
        validators=[InputRequired(message="Tick the box to revoke the token.")],
    )
