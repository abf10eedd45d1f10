"""Field checks shared by forms and the importer."""
import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from wtforms.validators import ValidationError

CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True)
class CheckedAddress:
    """An email address that passed the check, in the forms it is stored and sent in."""

    normalized: str  # as stored and shown: Unicode NFC, the domain in lower case
    transport: str  # as sent: the domain IDNA-encoded (ASCII unless the local part is not)
    smtputf8: bool  # the local part is not ASCII: the server must offer SMTPUTF8


def check_email(value: str) -> CheckedAddress:
    """The address checked with email-validator, offline; ValueError says what is wrong.

    No DNS lookups (no network at entry, in the import or in tests). Special-use domains
    (.invalid, .localhost, .local) are refused; .test, reserved for testing, is accepted.
    """
    value = (value or "").strip()
    if len(value) > MAX_EMAIL_LENGTH:
        raise ValueError(f"Use at most {MAX_EMAIL_LENGTH} characters.")
    try:
        checked = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise ValueError(f"Enter an email address like name@example.org. {error}") from None
    local_part = checked.normalized.rpartition("@")[0]
    return CheckedAddress(normalized=checked.normalized, transport=f"{local_part}@{checked.ascii_domain}",
                          smtputf8=not local_part.isascii())


def email_problem(value: str) -> str | None:
    """None when the address is well formed, else why not (in words for the form)."""
    try:
        check_email(value)
    except ValueError as error:
        return str(error)
    return None


def normalized_email(value: str | None) -> str | None:
    """The stored form of a well-formed address; anything else unchanged (its check reports it)."""
    if not value:
        return value
    try:
        return check_email(value).normalized
    except ValueError:
        return value


class EmailAddress:
    """WTForms validator: a plausible email address (empty is left to Optional/DataRequired)."""

    def __call__(self, form, field):
        if field.data:
            problem = email_problem(field.data.strip())
            if problem:
                raise ValidationError(problem)


class NoControlCharacters:
    """WTForms validator: refuse control characters (newlines allowed in text areas)."""

    def __call__(self, form, field):
        if isinstance(field.data, str) and CONTROL_RE.search(field.data):
            raise ValidationError("Remove the control characters from this field.")
