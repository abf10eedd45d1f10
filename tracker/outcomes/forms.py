"""The form of each instrument: one choice per item, 'not answered' allowed (then incomplete)."""

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import InputRequired

from ..monitoring.forms import TIME_FORMAT, BoundedDateTimeField
from .instruments import INSTRUMENTS, Instrument

# How staff took the answers (a patient's own check-in is recorded by its link, not here).
STAFF_SOURCES = {"in_clinic": "Asked in the clinic", "phone": "Taken by phone"}
NOT_ANSWERED = ""


def _choices(instrument: Instrument) -> dict[str, str]:
    answers = instrument.answers or tuple(str(n) for n in range(instrument.item_max + 1))
    choices = {NOT_ANSWERED: "Not answered"}
    for value, label in enumerate(answers):
        choices[str(value)] = label if label == str(value) else f"{value}: {label}"
    return choices


class MeasureForm(FlaskForm):
    """The fields every instrument shares; the items are added per instrument."""

    taken_at = BoundedDateTimeField(
        "Taken at (clinic time)",
        format=TIME_FORMAT,
        validators=[InputRequired(message="Enter when the answers were given.")],
    )
    source = SelectField("How the answers were taken", choices=STAFF_SOURCES, default="in_clinic")
    item_names: tuple[str, ...] = ()

    def answers(self) -> list:
        """One answer per item, None where not answered."""
        values = [getattr(self, name).data for name in self.item_names]
        return [None if value in (None, NOT_ANSWERED) else int(value) for value in values]


def _build(instrument: Instrument) -> type[MeasureForm]:
    fields: dict = {}
    names = []
    for number, text in enumerate(instrument.items, start=1):
        name = f"item_{number}"
        names.append(name)
        label = text if len(instrument.items) == 1 else f"{number}. {text}"
        fields[name] = SelectField(label, choices=_choices(instrument), default=NOT_ANSWERED)
    fields["item_names"] = tuple(names)
    return type(f"{instrument.code.title()}Form", (MeasureForm,), fields)


FORMS: dict[str, type[MeasureForm]] = {
    code: _build(instrument) for code, instrument in INSTRUMENTS.items()
}

__all__ = ["FORMS", "MeasureForm", "STAFF_SOURCES"]
