"""Forms of logging in and of the account page."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..passwords import MAX_LENGTH, password_problem
from ..validators import EmailAddress, NoControlCharacters


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), NoControlCharacters(),
                                            EmailAddress()])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember = BooleanField("Keep me logged in on this computer")


def _code_field(label: str):
    return StringField(label, validators=[DataRequired(message="Enter the code."), Length(max=32),
                                          NoControlCharacters()],
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "off",
                                  "spellcheck": "false"})


class CodeForm(FlaskForm):
    """The second factor at login: the app's code or a recovery code."""

    code = _code_field("Code from your authenticator app, or a recovery code")


class SetupForm(FlaskForm):
    """Confirm a new authenticator app with the code it shows."""

    code = _code_field("Code shown by the app")


class NewPasswordPolicy:
    """WTForms validator: the password policy, checked with the form's `account_email`."""

    def __call__(self, form, field):
        problem = password_problem(field.data or "", getattr(form, "account_email", ""))
        if problem:
            raise ValidationError(problem)


class ChangePasswordForm(FlaskForm):
    """Change one's own password; the current one is asked first. Set `account_email`."""

    account_email = ""

    current = PasswordField("Current password", validators=[
        DataRequired(message="Enter your current password."), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"})
    password = PasswordField("New password", validators=[
        DataRequired(message="Enter a new password."), NewPasswordPolicy()],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again", validators=[
        DataRequired(message="Type the new password again."),
        EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"})


class PasswordCheckForm(FlaskForm):
    """An action that asks for the password again (turning the second factor off)."""

    current = PasswordField("Your password", validators=[
        DataRequired(message="Enter your password."), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"})
