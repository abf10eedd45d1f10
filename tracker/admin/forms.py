"""Forms of the admin area: staff accounts, clinic settings, the audit filter."""
from datetime import date
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateField, DecimalField, EmailField, IntegerField, PasswordField, SelectField,
    StringField, TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional
from wtforms.validators import StopValidation, ValidationError

from ..models import ROLES
from ..passwords import password_problem
from ..formatting import DATE_STYLES, DEFAULT_DATE_STYLE, DEFAULT_TIME_STYLE, TIME_STYLES
from ..services.clinic import (
    DOSE_CHANGE_WARN_RANGE, IDLE_TIMEOUT_RANGE, MAX_YEAR, MIN_YEAR, ONLINE_RANGES, REACTIVATION_RANGES, RECALL_QUIET_DAYS_RANGE,
    WAITLIST_RANGES,
    timezone_problem, zone_choices,
)
from ..services.search import DATE_ORDERS
from ..services.courses import MAX_INTERVAL_DAYS, MAX_SERIES_PLANNED
from ..validators import EmailAddress, NoControlCharacters
from ..vocabulary import ENTITY, ROLE

ROLE_CHOICES = ROLE
assert set(ROLE_CHOICES) == set(ROLES)
SingleLine = NoControlCharacters  # it refuses line breaks too outside text areas


class FiniteDecimal:
    """WTForms validator: a real number. DecimalField accepts 'NaN', 'sNaN' and 'Infinity', and
    NumberRange raises (not a form error) on 'sNaN', so the chain stops here."""

    def __call__(self, form, field):
        if isinstance(field.data, Decimal) and not field.data.is_finite():
            raise StopValidation("Enter a number.")


class SaneDate:
    """WTForms validator: a date in the clinic's MIN_YEAR..MAX_YEAR (beyond that is a typing slip)."""

    def __call__(self, form, field):
        if isinstance(field.data, date) and not MIN_YEAR <= field.data.year <= MAX_YEAR:
            raise ValidationError(f"Enter a date between {MIN_YEAR} and {MAX_YEAR}.")


class StopIfUnreadable:
    """WTForms validator: when the text could not be read as a value, say only that."""

    def __call__(self, form, field):
        if field.process_errors:
            raise StopValidation()


class WholeNumberField(IntegerField):
    """An IntegerField whose unreadable-input message is plain."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError("Enter a whole number.") from error


def _whole(label: str, low: int, high: int, hint_unit: str = ""):
    """A required whole-number field with a range."""
    return WholeNumberField(label, validators=[
        InputRequired(message="Enter a whole number."), StopIfUnreadable(),
        NumberRange(min=low, max=high, message=f"Enter a whole number from {low} to {high}{hint_unit}."),
    ])


class PasswordPolicy:
    """WTForms validator: the password policy, checked with the account's email."""

    def __call__(self, form, field):
        email = form.email.data if hasattr(form, "email") else getattr(form, "account_email", "")
        problem = password_problem(field.data or "", (email or "").strip().lower())
        if problem:
            raise ValidationError(problem)


def _password_pair(label: str):
    """A password under the policy and the same password typed again."""
    password = PasswordField(label, validators=[DataRequired(message="Enter a password."), PasswordPolicy()])
    confirm = PasswordField(f"{label} again", validators=[
        DataRequired(message="Type the password again."),
        EqualTo("password", message="The two passwords differ."),
    ])
    return password, confirm


class NewUserForm(FlaskForm):
    """Add a staff account."""

    email = EmailField("Email", validators=[DataRequired(message="Enter an email address."),
                                            Length(max=254), NoControlCharacters(), EmailAddress()])
    name = StringField("Name", validators=[Length(max=120), SingleLine()])
    role = SelectField("Role", choices=ROLE_CHOICES, default="frontdesk")
    password, confirm = _password_pair("Password")


class EditUserForm(FlaskForm):
    """Change a staff account's name, role and whether it may log in."""

    name = StringField("Name", validators=[Length(max=120), SingleLine()])
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("Active (may log in)")


class ResetPasswordForm(FlaskForm):
    """Give a staff member a new password (also lifts a login lock); set `account_email`."""

    account_email = ""

    password, confirm = _password_pair("New password")


class SettingsForm(FlaskForm):
    """Every clinic setting; names match ClinicSettings columns."""

    clinic_name = StringField("Clinic name", validators=[DataRequired(message="Enter the clinic name."),
                                                         Length(max=120), SingleLine()])
    display_name = StringField("Display and sender name", validators=[
        DataRequired(message="Enter the name reminders are sent as."), Length(max=120), SingleLine()])
    phone = StringField("Phone", validators=[Length(max=40), SingleLine()])
    address = TextAreaField("Address", validators=[Length(max=300), NoControlCharacters()])
    timezone = SelectField("Time zone", choices=zone_choices, validators=[
        DataRequired(message="Choose the clinic's time zone.")])
    default_min_days = _whole("Window opens after (days)", 0, MAX_INTERVAL_DAYS)
    default_max_days = _whole("Window closes after (days)", 1, MAX_INTERVAL_DAYS)
    default_series_planned = _whole("Infusions in a series", 1, MAX_SERIES_PLANNED)
    lapse_grace_days = _whole("Lapse grace (days after the window closes)", 0, MAX_INTERVAL_DAYS)
    series_max_gap_days = _whole("Series interrupted after a gap of (days)", 1, 365)
    max_dose_mg_per_kg = DecimalField("Maximum dose (mg/kg)", places=3, validators=[
        InputRequired(message="Enter a number."), StopIfUnreadable(), FiniteDecimal(),
        NumberRange(min=Decimal("0.001"), max=Decimal("100"), message="Enter a dose from 0.001 to 100."),
    ])
    upcoming_days = _whole("Worklist: windows opening within (days)", 0, 365)
    window_upcoming_days = _whole("Remind before the window opens (days)", 0, 365)
    window_closing_days = _whole("Remind before the window closes (days)", 0, 365)
    appointment_hours = _whole("Remind before an appointment (hours)", 1, 336)
    send_hours_start = _whole("Send reminders from (hour, 0-23)", 0, 23)
    send_hours_end = _whole("Send reminders until (hour, 1-24)", 1, 24)
    digest_hour = _whole("Staff digest at (hour, 0-23)", 0, 23)
    max_send_attempts = _whole("Attempts before a reminder fails", 1, 20)
    default_prep_min = _whole("Preparation (minutes)", 0, 240)
    default_recovery_min = _whole("Recovery (minutes)", 0, 480)
    # Search and recall
    date_order = SelectField("Dates of birth are typed", choices=DATE_ORDERS)
    recall_quiet_days = _whole("A called patient sorts lower for (days)", *RECALL_QUIET_DAYS_RANGE)
    # Patient self-service
    online_min_notice_hours = _whole("Online booking: at least this many hours ahead",
                                     *ONLINE_RANGES["online_min_notice_hours"])
    online_horizon_days = _whole("Online booking: at most this many days ahead",
                                 *ONLINE_RANGES["online_horizon_days"])
    online_cutoff_hours = _whole("No online move or cancel within (hours before the visit)",
                                 *ONLINE_RANGES["online_cutoff_hours"])
    online_late_cancel = BooleanField("Accept an online cancel inside that time, recorded as a late cancellation")
    online_bookings_confirmed = BooleanField("Visits booked online are confirmed at once")
    reactivation_messages = _whole("Overdue patients: messages asking them to book, at most (0: none)",
                                   *REACTIVATION_RANGES["reactivation_messages"])
    reactivation_interval_days = _whole("Days between those messages",
                                        *REACTIVATION_RANGES["reactivation_interval_days"])
    waitlist_offers = _whole("Waitlist: offer a freed time to this many patients",
                             *WAITLIST_RANGES["waitlist_offers"])
    waitlist_offer_hours = _whole("Waitlist: an offer stands for (hours)",
                                  *WAITLIST_RANGES["waitlist_offer_hours"])
    # Entering sessions
    dose_change_warn_percent = _whole("Warn when a dose differs from the last by more than (%)",
                                      *DOSE_CHANGE_WARN_RANGE)
    # Staff logins
    idle_timeout_minutes = _whole("Log staff out after this many idle minutes", *IDLE_TIMEOUT_RANGE)
    two_factor_for_everyone = BooleanField("Everyone logs in with two steps (admins always do)")
    # Dates and times (clarity): how every page, email and the day sheet writes them
    date_style = SelectField("Date style", choices=DATE_STYLES, default=DEFAULT_DATE_STYLE)
    time_style = SelectField("Time style", choices=TIME_STYLES, default=DEFAULT_TIME_STYLE)

    GROUPS = {
        "Clinic": ("clinic_name", "display_name", "phone", "address", "timezone"),
        "Maintenance windows": ("default_min_days", "default_max_days", "default_series_planned",
                                "lapse_grace_days", "series_max_gap_days", "max_dose_mg_per_kg",
                                "upcoming_days"),
        "Reminders": ("window_upcoming_days", "window_closing_days", "appointment_hours",
                      "send_hours_start", "send_hours_end", "digest_hour", "max_send_attempts"),
        # Clinician capacity and the slot step are edited on the capacity page only.
        "Chair time": ("default_prep_min", "default_recovery_min"),
        "Search and recall": ("date_order", "recall_quiet_days"),
        "Patient self-service": ("online_min_notice_hours", "online_horizon_days", "online_cutoff_hours",
                                 "online_late_cancel", "online_bookings_confirmed",
                                 "reactivation_messages", "reactivation_interval_days",
                                 "waitlist_offers", "waitlist_offer_hours"),
        "Entering sessions": ("dose_change_warn_percent",),
        "Staff logins": ("idle_timeout_minutes", "two_factor_for_everyone"),
        "Dates and times": ("date_style", "time_style"),
    }

    def validate_timezone(self, field):
        problem = timezone_problem(field.data.strip()) if field.data else None
        if problem:
            raise ValidationError(problem)

    def validate_default_max_days(self, field):
        low = self.default_min_days.data
        if isinstance(low, int) and isinstance(field.data, int) and field.data < low:
            raise ValidationError("The window cannot close before it opens: use a number at least "
                                  "as large as 'Window opens after'.")

    def validate_send_hours_end(self, field):
        start = self.send_hours_start.data
        if isinstance(start, int) and isinstance(field.data, int) and field.data <= start:
            raise ValidationError("The sending hours must end after they start.")

    def settings_values(self) -> dict:
        """Keyword values for admin.settings.update_settings."""
        values = {name: self[name].data for names in self.GROUPS.values() for name in names}
        for name in ("clinic_name", "display_name", "phone", "address", "timezone"):
            values[name] = (values[name] or "").strip()
        return values


class AuditFilterForm(FlaskForm):
    """Filters of the audit trail (a GET form: no CSRF token needed)."""

    class Meta:
        csrf = False

    patient = StringField("Patient (MRN or id)", validators=[Optional(), Length(max=40),
                                                             SingleLine()])
    user = SelectField("Changed by", choices={"": "Anyone"}, default="")
    entity = SelectField("Record type", choices={"": "Any record", **ENTITY}, default="",
                         validators=[Optional()])
    date_from = DateField("From (date)", validators=[Optional(), SaneDate()])
    date_to = DateField("To (date)", validators=[Optional(), SaneDate()])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and not self.date_from.errors and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")

