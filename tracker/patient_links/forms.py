"""Forms of the patient pages: choose a time, book it, act on a visit, have the links sent again."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, RadioField, StringField
from wtforms.validators import InputRequired, Length, StopValidation, ValidationError

from ..schedule.forms import WEEKDAY_CHOICES, AtLeastOne, MultiCheckboxField
from ..services.clinic import clinic_today
from ..validators import EmailAddress, NoControlCharacters
from .visits import CANCEL_CHOICES

MIN_BIRTH_YEAR = 1900
DOB_MESSAGE = "Enter your date of birth as year-month-day, for example 1980-05-17."


class SlotForm(FlaskForm):
    """The time chosen from the list: "<chair id>-<epoch seconds>" (the button's value)."""

    slot = StringField("Time", validators=[InputRequired(message="Choose a time.")])

    def validate_slot(self, field):
        if parse_slot(field.data) is None:
            raise ValidationError("Choose one of the times shown.")


def parse_slot(value: str | None) -> tuple[int, int] | None:
    """(chair id, epoch seconds) from a slot button's value; None when it is not one."""
    chair, _, seconds = (value or "").partition("-")
    if not (chair.isdigit() and seconds.isdigit()) or len(chair) > 9 or len(seconds) > 11:
        return None
    return int(chair), int(seconds)


def slot_value(chair_id: int, epoch_seconds: int) -> str:
    """The value a slot button posts."""
    return f"{chair_id}-{epoch_seconds}"


class ActionForm(FlaskForm):
    """A button with only the CSRF token (book the held time, confirm, please call me)."""


class CancelForm(FlaskForm):
    """Cancel a visit: the patient says why (nothing is chosen for them)."""

    reason = RadioField(
        "Why are you cancelling?",
        choices=CANCEL_CHOICES,
        validators=[InputRequired(message="Choose a reason.")],
    )


class ResendForm(FlaskForm):
    """Ask for the links again: the email address we have, and the date of birth."""

    email = EmailField(
        "Your email address",
        validators=[
            InputRequired(message="Enter your email address."),
            Length(max=254),
            NoControlCharacters(),
            EmailAddress(),
        ],
    )
    date_of_birth = DateField(
        "Your date of birth",
        validators=[InputRequired(message=DOB_MESSAGE)],
    )

    def validate_date_of_birth(self, field):
        if field.data is None or not MIN_BIRTH_YEAR <= field.data.year <= clinic_today().year:
            field.errors[:] = []  # one message in words, not the parser's
            raise StopValidation(DOB_MESSAGE)


class WaitlistForm(FlaskForm):
    """ "Tell me if an earlier time frees up": the weekdays that suit (nothing ticked for them)."""

    weekdays = MultiCheckboxField(
        "Days that suit you",
        choices=WEEKDAY_CHOICES,
        validators=[AtLeastOne("Choose at least one day that suits you.")],
    )
