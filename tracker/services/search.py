"""The one patient search: a typed query parsed into keys, each key one index range.

A query may be a name in any order and partial ("doe j", "jane doe"), an MRN, a date of birth
as people type it (1980-04-12, or 04/12/1980 in the clinic's date order), a phone number in
any punctuation, or an email address. Every key is compared as a prefix of a folded column on
patients (tracker/search_keys.py), so no search reads every row, whatever is typed. The header
search, the patients list, the worklist and the reminders log all use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, select, union
from sqlalchemy.sql import ColumnElement, CompoundSelect, Select

from ..models import Patient
from ..search_keys import fold_email, fold_mrn, fold_name, next_prefix, phone_digits

MAX_QUERY_LENGTH = 100  # longer text is cut here before anything else is done with it
MAX_NAME_TOKENS = 4
MIN_PHONE_DIGITS = 4
SUGGESTIONS = 10
DATE_ORDERS = {
    "MDY": "month/day/year (04/12/1980 is 12 April)",
    "DMY": "day/month/year (04/12/1980 is 4 December)",
}

ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
TYPED_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
PARTIAL_DATE = re.compile(r"^(\d{1,4}[/.\-]){1,2}\d{0,3}$")
PHONE_LIKE = re.compile(r"^\+?[\d\s().\-]+$")


@dataclass(frozen=True)
class SearchQuery:
    """What a typed query asks for: each key None (or empty) when the text cannot be it."""

    text: str
    name_tokens: tuple[str, ...] = ()
    mrn: str | None = None
    birth_date: date | None = None
    phone: str | None = None
    email: str | None = None
    problem: str | None = None  # why the text finds nothing, in words that say what to type

    @property
    def is_empty(self) -> bool:
        """True when nothing in the text can be searched for."""
        return not (self.name_tokens or self.mrn or self.birth_date or self.phone or self.email)


def clean_text(raw: str | None) -> str:
    """The query as typed, without control characters or runs of spaces, cut to length."""
    text = "".join(
        char if char.isprintable() else " " for char in (raw or "")[: MAX_QUERY_LENGTH * 4]
    )
    return " ".join(text.split())[:MAX_QUERY_LENGTH]


def parse(raw: str | None, *, date_order: str, today: date) -> SearchQuery:
    """The keys a typed query stands for; `date_order` is "MDY" or "DMY" for typed dates."""
    text = clean_text(raw)
    if not text:
        return SearchQuery(text)
    if ISO_DATE.match(text) or TYPED_DATE.match(text):
        born = _typed_date(text, date_order, today)
        if born is None:
            return SearchQuery(
                text,
                problem="That is not a valid date. Type a date of birth as "
                f"{_example(date_order)} or 1980-04-12.",
            )
        return SearchQuery(text, birth_date=born)
    if PARTIAL_DATE.match(text):
        return SearchQuery(
            text,
            problem="Type the whole date of birth, for example "
            f"{_example(date_order)} or 1980-04-12.",
        )
    if "@" in text:
        return SearchQuery(text, email=fold_email(text))
    mrn = fold_mrn(text) or None
    if PHONE_LIKE.match(text):
        digits = phone_digits(text)
        return SearchQuery(text, mrn=mrn, phone=digits if len(digits) >= MIN_PHONE_DIGITS else None)
    tokens = tuple(fold_name(text).split())[:MAX_NAME_TOKENS]
    single = " " not in text
    email = fold_email(text) if single and len(text) >= 3 else None
    if not tokens and not single:
        return SearchQuery(
            text,
            problem="Type a name, an MRN, a date of birth, a phone number or an email address.",
        )
    return SearchQuery(text, name_tokens=tokens, mrn=mrn if single else None, email=email)


def _example(date_order: str) -> str:
    return "12/04/1980" if date_order == "DMY" else "04/12/1980"


def _typed_date(text: str, date_order: str, today: date) -> date | None:
    """The date in an ISO or a day/month/year text, None when no such day exists."""
    iso = ISO_DATE.match(text)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    else:
        first, second, year_text = TYPED_DATE.match(text).groups()  # type: ignore[union-attr]
        day, month = (int(first), int(second)) if date_order == "DMY" else (int(second), int(first))
        year = int(year_text)
        if len(year_text) == 2:  # a two-digit year is the latest one not after this year
            year += today.year - today.year % 100
            if year > today.year:
                year -= 100
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _starts(column, prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix`: one index range (see search_keys.next_prefix)."""
    return (column >= prefix) & (column < next_prefix(prefix))


def _word_starts(column, word: str) -> ColumnElement[bool]:
    """Some word of a folded name starts with `word` (a filter on rows already found)."""
    # Folded names and words hold only letters, digits and single spaces: no LIKE wildcard.
    return column.like(word + "%") | column.like("% " + word + "%")


def _without(tokens: tuple[str, ...], driver: str) -> list[str]:
    """The words of a query but one occurrence of `driver`."""
    others = list(tokens)
    others.remove(driver)
    return others


def matching_ids(query: SearchQuery) -> Select | CompoundSelect | None:
    """The ids of the patients the query finds, as one statement; None when it can find none.

    A UNION of index ranges: each name word against the start of last and first names (the
    other words narrow those rows), the MRN, the date of birth, the phone's first or last digits,
    the email's beginning.
    """
    branches = []
    tokens = query.name_tokens
    # Each word of two letters or more leads an index range on first and last names (a lone
    # letter would read thousands of rows); the other words narrow the rows of that range.
    drivers = [t for t in tokens if len(t) >= 2] or list(tokens)
    for driver in dict.fromkeys(drivers):
        narrow = [
            _word_starts(Patient.first_key, t) | _word_starts(Patient.last_key, t)
            for t in _without(tokens, driver)
        ]
        for column in (Patient.last_key, Patient.first_key):
            branches.append(select(Patient.id).where(_starts(column, driver), *narrow))
    if query.mrn:
        branches.append(select(Patient.id).where(_starts(Patient.mrn_key, query.mrn)))
    if query.birth_date:
        branches.append(select(Patient.id).where(Patient.date_of_birth == query.birth_date))
    if query.phone:
        branches.append(select(Patient.id).where(_starts(Patient.phone_key, query.phone)))
        branches.append(
            select(Patient.id).where(_starts(Patient.phone_key_reversed, query.phone[::-1][:10]))
        )
    if query.email:
        branches.append(select(Patient.id).where(_starts(Patient.email_key, query.email)))
    if not branches:
        return None
    return union(*branches) if len(branches) > 1 else branches[0]


def ordering(query: SearchQuery):
    """ORDER BY terms: an exact MRN first, then by last name, first name."""
    exact = case((Patient.mrn_key == query.mrn, 0), else_=1) if query.mrn else None
    terms = [Patient.last_key, Patient.first_key, Patient.id]
    return [exact, *terms] if exact is not None else terms


def patients_statement(query: SearchQuery, *columns) -> Select | None:
    """select(Patient or `columns`) of the patients found, in result order; None if none can be."""
    ids = matching_ids(query)
    if ids is None:
        return None
    return select(*(columns or (Patient,))).where(Patient.id.in_(ids)).order_by(*ordering(query))


def suggestions(session, query: SearchQuery, limit: int = SUGGESTIONS) -> tuple[list, bool]:
    """Up to `limit` patients for the type-ahead, and whether more were found."""
    statement = patients_statement(query, *SUGGESTION_COLUMNS)
    if statement is None:
        return [], False
    rows = session.execute(statement.limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


# What a result shows: who it is and how to reach them (every role may see these), nothing
# clinical.
SUGGESTION_COLUMNS = (
    Patient.id,
    Patient.mrn,
    Patient.first_name,
    Patient.last_name,
    Patient.date_of_birth,
    Patient.phone,
    Patient.email,
)
