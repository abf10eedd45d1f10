"""The protocol form: a name, and one row per phase (an empty row is no phase)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, FormField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..models.protocols import PHASE_NAME_MAX, PROTOCOL_DESCRIPTION_MAX, PROTOCOL_NAME_MAX
from ..services.protocols import MAX_PHASE_DAYS, MAX_PHASE_SPAN, MAX_PHASES, PhasePlan
from ..validators import NoControlCharacters
from ..vocabulary import PHASE_ADVANCE, PHASE_RULE, PHASE_UNIT


class PhaseForm(FlaskForm):
    """One phase: its span, its rule for the next session, and how it ends."""

    class Meta:
        csrf = False  # the protocol form around it carries the token

    name = StringField("Phase name", validators=[Length(max=PHASE_NAME_MAX), NoControlCharacters()])
    rule = SelectField("Next session", choices=PHASE_RULE, default="window")
    unit = SelectField("Counted in", choices=PHASE_UNIT, default="sessions")
    first = IntegerField("From", validators=[Optional(), NumberRange(min=1, max=MAX_PHASE_SPAN)])
    last = IntegerField(
        "To (empty: runs on)", validators=[Optional(), NumberRange(min=1, max=MAX_PHASE_SPAN)]
    )
    min_days = IntegerField(
        "Min days", validators=[Optional(), NumberRange(min=0, max=MAX_PHASE_DAYS)]
    )
    max_days = IntegerField(
        "Max days", validators=[Optional(), NumberRange(min=0, max=MAX_PHASE_DAYS)]
    )
    advance = SelectField("Ends", choices=PHASE_ADVANCE, default="count")
    returns_on_missed_dose = BooleanField("A missed dose proposes the phase before")
    remove = BooleanField("Remove this phase")

    def is_blank(self) -> bool:
        """A row left empty (the spare row at the end) is no phase."""
        return not (self.name.data or "").strip() and self.first.data is None

    def plan(self) -> PhasePlan:
        return PhasePlan(
            name=(self.name.data or "").strip(),
            rule=self.rule.data,
            unit=self.unit.data,
            first=self.first.data if self.first.data is not None else 0,
            last=self.last.data,
            min_days=self.min_days.data,
            max_days=self.max_days.data,
            advance=self.advance.data,
            returns_on_missed_dose=bool(self.returns_on_missed_dose.data),
        )


class ProtocolForm(FlaskForm):
    """A protocol template; the service refuses phases that leave a gap or overlap."""

    name = StringField(
        "Name",
        validators=[
            InputRequired(message="Give the protocol a name."),
            Length(max=PROTOCOL_NAME_MAX),
            NoControlCharacters(),
        ],
    )
    description = StringField(
        "Description", validators=[Length(max=PROTOCOL_DESCRIPTION_MAX), NoControlCharacters()]
    )
    active = BooleanField("Offered when a course is opened", default=True)
    phases = FieldList(FormField(PhaseForm), min_entries=1, max_entries=MAX_PHASES + 1)

    def kept_rows(self) -> list[int]:
        """The indexes of the rows that are phases (not blank, not removed), in order."""
        return [
            index
            for index, row in enumerate(self.phases.entries)
            if not row.form.remove.data and not row.form.is_blank()
        ]
