"""Forms of the schedule area: booking, status actions and the clinic's resources."""
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateField, DateTimeLocalField, FieldList, FormField, HiddenField, IntegerField,
    RadioField, SelectField, SelectMultipleField, StringField, TextAreaField, TimeField,
)
from wtforms.form import Form
from wtforms.validators import (
    InputRequired, Length, NumberRange, Optional, StopValidation, ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..booking import WEEKDAYS
from ..form_fields import BoundedDateField
from ..models import CANCEL_REASONS
from ..models.checklist import LABEL_MAX, PROMPT_MAX
from ..services.appointments import CANCEL_REASON_LABELS, MOVE_REASON_LABELS
from ..services.clinic import MAX_CONCURRENT_RANGE, SLOT_STEP_MIN_RANGE
from ..services.courses import MAX_SERIES_PLANNED
from ..validators import NoControlCharacters

WEEKDAY_CHOICES = {str(number): name for number, name in enumerate(WEEKDAYS)}
CANCEL_CHOICES = {reason: CANCEL_REASON_LABELS[reason] for reason in CANCEL_REASONS}


class SlotSearchForm(FlaskForm):
    """GET form above the free times: which type, which clinician, which day."""

    class Meta:
        csrf = False

    appointment_type = SelectField("Appointment type", coerce=int, validate_choice=False)
    clinician = SelectField("Supervising clinician", default="", validate_choice=False)
    day = DateField("Day", validators=[Optional()])


class BookForm(FlaskForm):
    """Book a proposed slot, or another time typed in clinic wall-clock time."""

    appointment_type_id = HiddenField(validators=[InputRequired(message="Choose an appointment type.")])
    clinician_id = HiddenField()
    day = HiddenField()  # the day whose free starts are shown, kept when a refusal is shown
    slot = RadioField("Free chair time", validate_choice=False,
                      validators=[InputRequired(message="Choose one of the free times, or another time.")])
    start_at = DateTimeLocalField("Another time (clinic time)", format="%Y-%m-%dT%H:%M",
                                  validators=[Optional()])
    chair_id = SelectField("Chair for another time", default="", validate_choice=False)
    notes = TextAreaField("Note for the front desk", validators=[Length(max=1000), NoControlCharacters()])
    confirmed = BooleanField("The patient confirmed this time (e.g. on the phone)")

    def validate_chair_id(self, field):
        if self.slot.data == "other" and not field.data:
            raise ValidationError("Choose a chair for the time you entered.")


class RescheduleForm(BookForm):
    """Cancel and rebook: why the old appointment is cancelled, then the new time."""

    reason = SelectField("Who asked for the change", choices=MOVE_REASON_LABELS, default="patient")
    version = HiddenField()  # the old appointment's version when the page was opened


class MoveForm(BookForm):
    """Move a visit to another time in place: who asked, and whether the patient agreed."""

    reason = SelectField("Who asked for the change", choices=MOVE_REASON_LABELS, default="patient")
    patient_agreed = BooleanField("The patient agreed to the new time (it stays confirmed)",
                                  default=True)
    confirmed = None  # a move keeps or drops the confirmation through patient_agreed
    version = HiddenField()  # the appointment's version when the page was opened


class StatusForm(FlaskForm):
    """One status action from the appointment page; a cancellation needs its reason."""

    action = HiddenField(validators=[InputRequired()])
    reason = SelectField("Reason", choices=CANCEL_CHOICES, validate_choice=False, default="")
    version = HiddenField()  # the appointment's version when the page was opened


class ConfirmAllForm(FlaskForm):
    """Confirm every upcoming unconfirmed visit of a patient (a whole series) in one action."""

    next_url = HiddenField()


class MultiCheckboxField(SelectMultipleField):
    """A set of labelled checkboxes (weekdays)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AtLeastOne:
    """"Choose at least one" for a checkbox group, checked on the server only.

    InputRequired would set the field's `required` flag, and the checkbox widget would then
    write `required` on every box: the browser refuses the form unless every box is ticked.
    This validator sets no flag; its message is shown on the group and announced.
    """

    field_flags: dict = {}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if not [value for value in (field.data or []) if str(value).strip()]:
            field.errors[:] = []
            raise StopValidation(self.message)


class SeriesForm(FlaskForm):
    """Book a whole series: N sessions on chosen weekdays at one time."""

    appointment_type_id = SelectField("Appointment type", coerce=int, validate_choice=False)
    first_day = DateField("First day", validators=[InputRequired(message="Enter the first day.")])
    weekdays = MultiCheckboxField("Weekdays", choices=WEEKDAY_CHOICES,
                                  validators=[AtLeastOne("Choose at least one weekday.")])
    wall_time = TimeField("Time (clinic time)", format="%H:%M",
                          validators=[InputRequired(message="Enter the time.")])
    count = IntegerField("Number of sessions", validators=[
        InputRequired(message="Enter how many sessions."),
        NumberRange(min=1, max=MAX_SERIES_PLANNED,
                    message=f"Book between 1 and {MAX_SERIES_PLANNED} sessions.")])
    chair_id = SelectField("Chair", default="", validate_choice=False)
    clinician_id = SelectField("Supervising clinician", default="", validate_choice=False)
    confirmed = BooleanField("The patient confirmed these times (e.g. on the phone)")


# ---------------------------------------------------------------------------- admin resources

class ChairForm(FlaskForm):
    """Add or rename a chair; its position orders the day sheet's columns."""

    name = StringField("Chair name", validators=[
        InputRequired(message="Enter a name."), Length(max=60), NoControlCharacters()])
    position = IntegerField("Position", default=0, validators=[Optional(), NumberRange(min=0, max=999)])
    bookable_online = BooleanField("Patients may book it online")


class RequiredWhenOpen:
    """A time is needed when the weekday is ticked open; otherwise the field may stay empty."""

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if form.open.data and not (field.raw_data and field.raw_data[0].strip()):
            field.errors[:] = []
            raise StopValidation(self.message)


class DayHoursForm(Form):
    """Opening hours of one weekday."""

    open = BooleanField("Open")
    opens = TimeField("Opens", format="%H:%M",
                      validators=[RequiredWhenOpen("Enter the opening time."), Optional()])
    closes = TimeField("Closes", format="%H:%M",
                       validators=[RequiredWhenOpen("Enter the closing time."), Optional()])

    def validate_closes(self, field):
        if self.open.data and self.opens.data is not None and field.data is not None \
                and field.data <= self.opens.data:
            raise ValidationError("Closing must be after opening.")


class HoursForm(FlaskForm):
    """Opening hours for the week, Monday first."""

    days = FieldList(FormField(DayHoursForm), min_entries=7, max_entries=7)


class ClosedDateForm(FlaskForm):
    """A date the clinic is closed."""

    on = BoundedDateField("Date", validators=[InputRequired(message="Enter the date.")])
    reason = StringField("Reason (e.g. public holiday)", validators=[Length(max=120), NoControlCharacters()])


class CloseDayVisitsForm(FlaskForm):
    """Cancel the visits still booked on a closed day; telling the patients is a choice."""

    notify = BooleanField("Email each patient that their visit is cancelled", default=True)


class AppointmentTypeForm(FlaskForm):
    """A kind of chair block: preparation, infusion and recovery minutes."""

    name = StringField("Name", validators=[InputRequired(message="Enter a name."), Length(max=80),
                                           NoControlCharacters()])
    prep_min = IntegerField("Preparation (minutes)", default=15, validators=[
        InputRequired(message="Enter the minutes."), NumberRange(min=0, max=240)])
    infusion_min = IntegerField("Infusion (minutes)", default=40, validators=[
        InputRequired(message="Enter the minutes."), NumberRange(min=1, max=720)])
    recovery_min = IntegerField("Recovery (minutes)", default=45, validators=[
        InputRequired(message="Enter the minutes."), NumberRange(min=0, max=240)])
    for_series = BooleanField("Used for series sessions")
    active = BooleanField("Offered for booking", default=True)
    bookable_online = BooleanField("Patients may book it online")


class CapacityForm(FlaskForm):
    """How many infusions one clinician may supervise at once; the slot finder's step."""

    max_concurrent_per_clinician = IntegerField(
        "Maximum concurrent infusions per supervising clinician",
        validators=[InputRequired(message="Enter a number."), NumberRange(*MAX_CONCURRENT_RANGE)])
    slot_step_min = IntegerField("Proposed start times every (minutes)", validators=[
        InputRequired(message="Enter a number."), NumberRange(*SLOT_STEP_MIN_RANGE)])


class ChecklistItemForm(FlaskForm):
    """One pre-visit question for an appointment type: a staff label and the patient's words."""

    appointment_type_id = SelectField("Appointment type", coerce=int, validate_choice=False)
    label = StringField("Label for staff", validators=[
        InputRequired(message="Enter a short label."), Length(max=LABEL_MAX), NoControlCharacters()])
    prompt = StringField("Question the patient answers", validators=[
        InputRequired(message="Enter the question."), Length(max=PROMPT_MAX), NoControlCharacters()])
    asks_driver = BooleanField("A yes gives the name and phone of who takes the patient home")
    position = IntegerField("Order", default=1, validators=[
        InputRequired(message="Enter a number."), NumberRange(min=0, max=999)])
    active = BooleanField("Asked before each visit", default=True)
