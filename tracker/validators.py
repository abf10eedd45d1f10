"""Field checks shared by forms and the importer."""
import re
import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from wtforms.validators import ValidationError

CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LINE_BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029")


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
    """WTForms validator: refuse control characters, and line breaks outside text areas."""

    def __call__(self, form, field):
        if not isinstance(field.data, str):
            return
        if CONTROL_RE.search(field.data):
            raise ValidationError("Remove the control characters from this field.")
        if field.type != "TextAreaField" and any(mark in field.data for mark in LINE_BREAKS):
            raise ValidationError("Keep this on one line.")


# ---------------------------------------------------------------------------- names and MRNs

# Default-ignorable letters and marks that draw nothing (Unicode categories Cf, Cc ... cover the rest).
INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0") | frozenset(map(chr, range(0xFE00, 0xFE10)))
INVISIBLE_CATEGORIES = ("Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp")
# Scripts that one person's name may mix (Unicode TS #39, "highly restrictive").
SCRIPT_MIXES = (
    frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
    frozenset({"Latin", "Han", "Bopomofo"}),
    frozenset({"Latin", "Han", "Hangul"}),
)
_SCRIPT_WORDS = {"CJK": "Han", "IDEOGRAPHIC": "Han"}


def normalized_name(value: str | None) -> str:
    """A name or MRN as stored: Unicode NFKC (full-width and styled letters become plain), trimmed."""
    return unicodedata.normalize("NFKC", value or "").strip()


def _script(char: str) -> str | None:
    """The script of a letter from its Unicode name (LATIN, CYRILLIC, CJK ...); None for others."""
    if not unicodedata.category(char).startswith("L"):
        return None  # digits, punctuation, spaces and combining marks belong to every script
    word = unicodedata.name(char, "").split(" ")[0]
    if word in ("", "MODIFIER"):
        return None
    return _SCRIPT_WORDS.get(word, word.title())


def name_problem(value: str) -> str | None:
    """Why a name or MRN (after normalized_name) cannot be stored, in words for the form; else None.

    Line breaks, invisible characters (a zero-width space) and letters of two alphabets (a
    Cyrillic O in a Latin name) are refused: they make one person look like two in a search.
    """
    for char in value:
        if char in LINE_BREAKS:
            return "Keep this on one line."
        if char in INVISIBLE or unicodedata.category(char) in INVISIBLE_CATEGORIES:
            label = unicodedata.name(char, f"U+{ord(char):04X}").lower()
            return f"Remove the invisible character ({label}) from this field."
    scripts = {script for char in value if (script := _script(char))}
    if len(scripts) > 1 and not any(scripts <= mix for mix in SCRIPT_MIXES):
        return (f"This mixes {' and '.join(sorted(scripts))} letters; retype it in one alphabet "
                "(a look-alike letter may have been pasted in).")
    return None


class PersonName:
    """WTForms validator: a patient's name or MRN passes name_problem after normalization."""

    def __call__(self, form, field):
        if isinstance(field.data, str):
            problem = name_problem(normalized_name(field.data))
            if problem:
                raise ValidationError(problem)
