"""Field checks shared by forms and the importer."""
import re

from wtforms.validators import ValidationError

EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def email_problem(value: str) -> str | None:
    """None when the address looks deliverable in form, else why not."""
    if len(value) > 254:
        return "Use at most 254 characters."
    if not EMAIL_RE.match(value):
        return "Enter an email address like name@example.org."
    return None


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
