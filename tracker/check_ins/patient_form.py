"""The patient's check-in form, built for the clinic's instruments: one choice per item (blank
is unanswered, never guessed), "Has your relief worn off?", and for an as-needed patient "I need
a visit". Field names are `<instrument>_<item number>`."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField
from wtforms.validators import Optional

from ..models import RELIEF_ANSWERS
from ..outcomes.instruments import INSTRUMENTS, Instrument

RELIEF_LABELS = {"yes": "Yes", "no": "No", "unsure": "I am not sure"}


def item_field(code: str, number: int) -> str:
    """The form field of an instrument's item (1-based)."""
    return f"{code}_{number}"


def choices_of(instrument: Instrument) -> list[tuple[str, str]]:
    """The answers an item offers: the instrument's labels, or the numbers 0..max."""
    if instrument.answers:
        return [(str(value), label) for value, label in enumerate(instrument.answers)]
    return [(str(value), str(value)) for value in range(instrument.item_max + 1)]


class CheckInFormBase(FlaskForm):
    """The fields are added per instrument by `check_in_form`."""

    instruments: tuple[str, ...] = ()

    def validate(self, extra_validators=None) -> bool:
        """Each answer given must be one of the item's choices (blank is unanswered)."""
        valid = super().validate(extra_validators)
        for code in self.instruments:
            allowed = {value for value, _ in choices_of(INSTRUMENTS[code])}
            for number in range(1, len(INSTRUMENTS[code].items) + 1):
                field = self[item_field(code, number)]
                if field.data not in (None, "") and field.data not in allowed:
                    field.errors = [*field.errors, "Choose one of the answers shown."]
                    valid = False
        relief = self["relief_worn_off"]
        if relief.data not in (None, "", *RELIEF_ANSWERS):
            relief.errors = [*relief.errors, "Choose yes, no or not sure."]
            valid = False
        return valid

    def answers(self) -> dict[str, list]:
        """Instrument -> one answer per item (None where unanswered)."""
        return {
            code: [
                None
                if self[item_field(code, n)].data in (None, "")
                else int(self[item_field(code, n)].data)
                for n in range(1, len(INSTRUMENTS[code].items) + 1)
            ]
            for code in self.instruments
        }

    def relief(self) -> str | None:
        """The answer to "Has your relief worn off?", or None."""
        return self["relief_worn_off"].data or None

    def visit_requested(self) -> bool:
        """An as-needed patient ticked "I need a visit"."""
        return bool("visit_requested" in self._fields and self["visit_requested"].data)


def check_in_form(instruments: tuple[str, ...], *, as_needed: bool, formdata=None):
    """A check-in form asking these instruments (and "I need a visit" when `as_needed`)."""

    class CheckInForm(CheckInFormBase):
        pass

    CheckInForm.instruments = tuple(instruments)
    for code in instruments:
        instrument = INSTRUMENTS[code]
        for number, text in enumerate(instrument.items, start=1):
            setattr(
                CheckInForm,
                item_field(code, number),
                RadioField(
                    text,
                    choices=choices_of(instrument),
                    validate_choice=False,
                    validators=[Optional()],
                ),
            )
    CheckInForm.relief_worn_off = RadioField(
        "Has your relief worn off?",
        choices=list(RELIEF_LABELS.items()),
        validate_choice=False,
        validators=[Optional()],
    )
    if as_needed:
        CheckInForm.visit_requested = BooleanField("I need a visit")
    if formdata is None:
        return CheckInForm(formdata=None)
    return CheckInForm()
