"""Forms of the patients area."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateTimeLocalField, HiddenField, IntegerField, SelectField, StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from ..form_fields import BoundedDateField, ExactDecimalField
from ..services.clinic import MAX_YEAR, MIN_YEAR
from ..services.courses import MAX_INTERVAL_DAYS, MAX_SERIES_PLANNED
from ..services.infusions import (
    DURATION_MIN_RANGE, PAIN_RANGE, TEXT_MAX_LENGTHS, WEIGHT_KG_RANGE,
)
from ..validators import EmailAddress, NoControlCharacters, PersonName
from ..vocabulary import MODE, OUTCOME

OUTCOME_CHOICES = OUTCOME
MODE_CHOICES = MODE


class InfusionForm(FlaskForm):
    """A clinician records one session; total mg is computed from weight and mg/kg."""

    given_at = DateTimeLocalField("Date and time (clinic time)", format="%Y-%m-%dT%H:%M",
                                  validators=[InputRequired(message="Enter the date and time.")])
    outcome = SelectField("Outcome", choices=OUTCOME_CHOICES, default="completed")
    counts_toward_series = BooleanField("Stopped early, but counts toward the series")
    weight_kg = ExactDecimalField("Weight (kg)", places=2, validators=[Optional(), NumberRange(*WEIGHT_KG_RANGE)])
    dose_mg_per_kg = ExactDecimalField("Dose (mg/kg)", places=3, validators=[Optional(), NumberRange(min=0)])
    duration_min = IntegerField("Duration (minutes)", validators=[Optional(), NumberRange(*DURATION_MIN_RANGE)])
    pain_before = IntegerField("Pain before (0-10)", validators=[Optional(), NumberRange(*PAIN_RANGE)])
    pain_after = IntegerField("Pain after (0-10)", validators=[Optional(), NumberRange(*PAIN_RANGE)])
    adverse_effects = TextAreaField("Adverse effects", validators=[
        Length(max=TEXT_MAX_LENGTHS["adverse_effects"]), NoControlCharacters()])
    notes = TextAreaField("Notes", validators=[Length(max=TEXT_MAX_LENGTHS["notes"]), NoControlCharacters()])
    early_reason = StringField("Reason for an early booster", validators=[Length(max=200), NoControlCharacters()])

    VALUE_FIELDS = ("outcome", "counts_toward_series", "weight_kg", "dose_mg_per_kg", "duration_min",
                    "pain_before", "pain_after", "adverse_effects", "notes", "early_reason")

    def validate_given_at(self, field):
        """Years far outside a clinic's records are typing mistakes (and overflow time zones)."""
        if field.data is not None and not MIN_YEAR <= field.data.year <= MAX_YEAR:
            raise ValidationError("Check the year.")

    def infusion_values(self) -> dict:
        """Keyword arguments for services.infusions.record_infusion (without given_at)."""
        values = {name: getattr(self, name).data for name in self.VALUE_FIELDS}
        values["counts_toward_series"] = bool(values["counts_toward_series"]) and values["outcome"] == "stopped_early"
        values["adverse_effects"] = (values["adverse_effects"] or "").strip()
        values["notes"] = (values["notes"] or "").strip()
        return values


class PatientForm(FlaskForm):
    """Demographics and email consent; any staff member may add or edit them."""

    mrn = StringField("MRN", validators=[InputRequired(message="Enter the MRN."), Length(max=40),
                                         NoControlCharacters(), PersonName()])
    first_name = StringField("First name", validators=[InputRequired(message="Enter the first name."),
                                                       Length(max=80), NoControlCharacters(), PersonName()])
    last_name = StringField("Last name", validators=[InputRequired(message="Enter the last name."),
                                                     Length(max=80), NoControlCharacters(), PersonName()])
    date_of_birth = BoundedDateField("Date of birth", format="%Y-%m-%d",
                              validators=[InputRequired(message="Enter the date of birth as YYYY-MM-DD.")])
    email = StringField("Email", validators=[Optional(), Length(max=254), EmailAddress()])
    phone = StringField("Phone", validators=[Optional(), Length(max=40), NoControlCharacters()])
    email_consent = BooleanField("Consents to email reminders")
    email_opt_out = BooleanField("Opted out of email (no reminders are sent)")
    add_anyway = BooleanField("Add anyway: this is a different person")
    version = HiddenField()  # the patient's version when the form was opened

    VALUE_FIELDS = ("mrn", "first_name", "last_name", "date_of_birth", "email", "phone",
                    "email_consent", "email_opt_out")

    def patient_values(self) -> dict:
        """Values for services.patients.create_patient / update_patient."""
        return {name: getattr(self, name).data for name in self.VALUE_FIELDS}


class OpenCourseForm(FlaskForm):
    """A clinician opens a course; empty numbers take the clinic defaults."""

    indication = StringField("Indication", validators=[InputRequired(message="Enter the indication."),
                                                       Length(max=120), NoControlCharacters()])
    series_planned = IntegerField("Series infusions planned",
                                  validators=[Optional(), NumberRange(min=1, max=MAX_SERIES_PLANNED)])
    min_days = IntegerField("Window opens after (days)", validators=[Optional(), NumberRange(min=0, max=MAX_INTERVAL_DAYS)])
    max_days = IntegerField("Window closes after (days)", validators=[Optional(), NumberRange(min=0, max=MAX_INTERVAL_DAYS)])
    mode = SelectField("Maintenance mode", choices=MODE_CHOICES, default="scheduled")
    # Choices are the clinic's active protocols, set by the view (patients.routes.offer_protocols).
    protocol_id = SelectField("Protocol", coerce=int, choices=[])


class IntervalForm(FlaskForm):
    """Min / max days after the anchor: when the window opens and closes."""

    min_days = IntegerField("Window opens after (days)",
                            validators=[InputRequired(message="Enter the minimum days."), NumberRange(min=0, max=MAX_INTERVAL_DAYS)])
    max_days = IntegerField("Window closes after (days)",
                            validators=[InputRequired(message="Enter the maximum days."), NumberRange(min=0, max=MAX_INTERVAL_DAYS)])
    version = HiddenField()  # the course's version when the page was opened


class ModeForm(FlaskForm):
    """Scheduled maintenance (a window) or as needed (never due)."""

    mode = SelectField("Maintenance mode", choices=MODE_CHOICES)
    version = HiddenField()  # the course's version when the page was opened


class SeriesPlannedForm(FlaskForm):
    """How many qualifying infusions make up the series."""

    series_planned = IntegerField("Series infusions planned",
                                  validators=[InputRequired(message="Enter a number."), NumberRange(min=1, max=MAX_SERIES_PLANNED)])
    version = HiddenField()  # the course's version when the page was opened


class HoldForm(FlaskForm):
    """Put the course on hold, with the reason."""

    reason = StringField("Reason for the hold", validators=[InputRequired(message="Give the reason."),
                                                            Length(max=200), NoControlCharacters()])
    resume_on = BoundedDateField("Back on the worklist on (optional)", format="%Y-%m-%d",
                                 validators=[Optional()])
    version = HiddenField()  # the course's version when the page was opened


class DischargeForm(FlaskForm):
    """Discharge the patient from the course, with the reason."""

    reason = StringField("Reason for discharge", validators=[InputRequired(message="Give the reason."),
                                                             Length(max=200), NoControlCharacters()])
    version = HiddenField()  # the course's version when the page was opened


class ConfirmForm(FlaskForm):
    """A one-button action (end series early, resume, restart, delete): the CSRF token and the
    version of the record the page showed."""

    version = HiddenField()
