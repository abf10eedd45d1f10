"""Search keys: the folded forms of a patient's name, MRN, phone and email that search compares.

Pure functions, no database. The patient rows keep these keys beside what was typed
(models/clinical.py fills them on every ORM write, importing/bulk.py on every bulk insert), and
services/search.py folds a query the same way, so the two always agree.
"""

import unicodedata

NAME_KEY_LENGTH = 80
MRN_KEY_LENGTH = 40
PHONE_KEY_LENGTH = 40
EMAIL_KEY_LENGTH = 254
APOSTROPHES = "'\u2019\u02bc`"


def fold_name(text: str | None) -> str:
    """Lower case, accents and apostrophes dropped, words kept apart by one space.

    "O'Brien-Núñez" -> "obrien nunez", "María José" -> "maria jose".
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(
        char for char in decomposed if not unicodedata.combining(char) and char not in APOSTROPHES
    )
    spaced = "".join(char if char.isalnum() else " " for char in plain.casefold())
    return " ".join(spaced.split())[:NAME_KEY_LENGTH]


def fold_mrn(text: str | None) -> str:
    """An MRN compared without case or spaces."""
    return "".join((text or "").casefold().split())[:MRN_KEY_LENGTH]


def phone_digits(text: str | None) -> str:
    """Only the digits of a phone number: "(704) 555-0101" -> "7045550101"."""
    return "".join(char for char in (text or "") if "0" <= char <= "9")[:PHONE_KEY_LENGTH]


def fold_email(text: str | None) -> str:
    """An email address compared without case."""
    return (text or "").strip().casefold()[:EMAIL_KEY_LENGTH]


def key_values(
    first_name: str | None,
    last_name: str | None,
    mrn: str | None,
    phone: str | None,
    email: str | None,
) -> dict:
    """The key columns of a patient row for these typed values (None where nothing to find)."""
    digits = phone_digits(phone)
    return {
        "first_key": fold_name(first_name),
        "last_key": fold_name(last_name),
        "mrn_key": fold_mrn(mrn),
        "phone_key": digits or None,
        "phone_key_reversed": digits[::-1] or None,
        "email_key": fold_email(email) or None,
    }


def next_prefix(prefix: str) -> str:
    """The smallest text greater than every text starting with `prefix` (prefix non-empty).

    `key >= prefix AND key < next_prefix(prefix)` is "starts with" as one index range, on
    SQLite's binary collation and PostgreSQL's "C" collation alike, and needs no LIKE escaping.
    """
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # no character is a surrogate: skip to the next real one
        last = 0xE000
    if last > 0x10FFFF:
        return next_prefix(prefix[:-1]) if len(prefix) > 1 else "\U0010ffff" * 2
    return prefix[:-1] + chr(last)
