"""The patient's check-in form, built for the clinic's instruments: one choice per item (blank
is unanswered, never guessed), "Has your relief worn off?", and for an as-needed patient "I need
a visit". Field names are neutral, `q<question set>_<item>` (1-based): nothing in the page's
source names an instrument."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField
from wtforms.validators import Optional

from ..models import RELIEF_ANSWERS
from ..outcomes.instruments import INSTRUMENTS, Instrument

RELIEF_LABELS = {"yes": "Yes", "no": "No", "unsure": "I am not sure"}


def item_field(position: int, number: int) -> str:
    """The form field of the item `number` of the form's `position`-th instrument (1-based)."""
    return f"q{position}_{number}"


def choices_of(instrument: Instrument) -> dict[str, str]:
    """The answers an item offers (value -> label): the instrument's labels, or 0..max."""
    if instrument.answers:
        return {str(value): label for value, label in enumerate(instrument.answers)}
    return {str(value): str(value) for value in range(instrument.item_max + 1)}


class CheckInFormBase(FlaskForm):
    """The fields are added per instrument by `check_in_form`."""

    instruments: tuple[str, ...] = ()

    def validate(self, extra_validators=None) -> bool:
        """Each answer given must be one of the item's choices (blank is unanswered)."""
        valid = super().validate(extra_validators)
        for position, code in enumerate(self.instruments, start=1):
            allowed = set(choices_of(INSTRUMENTS[code]))
            for number in range(1, len(INSTRUMENTS[code].items) + 1):
                field = self[item_field(position, number)]
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
        given = {}
        for position, code in enumerate(self.instruments, start=1):
            fields = [
                self[item_field(position, n)] for n in range(1, len(INSTRUMENTS[code].items) + 1)
            ]
            given[code] = [None if f.data in (None, "") else int(f.data) for f in fields]
        return given

    def relief(self) -> str | None:
        """The answer to "Has your relief worn off?", or None."""
        return self["relief_worn_off"].data or None

    def asks_for_visit(self) -> bool:
        """An as-needed patient ticked "I need a visit"."""
        return bool("visit_requested" in self._fields and self["visit_requested"].data)


def check_in_form(instruments: tuple[str, ...], *, as_needed: bool, formdata=None):
    """A check-in form asking these instruments (and "I need a visit" when `as_needed`)."""

    class CheckInForm(CheckInFormBase):
        pass

    CheckInForm.instruments = tuple(instruments)
    for position, code in enumerate(instruments, start=1):
        instrument = INSTRUMENTS[code]
        for number, text in enumerate(instrument.items, start=1):
            setattr(
                CheckInForm,
                item_field(position, number),
                RadioField(
                    text,
                    choices=choices_of(instrument),
                    validate_choice=False,
                    validators=[Optional()],
                ),
            )
    CheckInForm.relief_worn_off = RadioField(
        "Has your relief worn off?",
        choices=RELIEF_LABELS,
        validate_choice=False,
        validators=[Optional()],
    )
    if as_needed:
        CheckInForm.visit_requested = BooleanField("I need a visit")
    if formdata is None:
        return CheckInForm(formdata=None)
    return CheckInForm()
