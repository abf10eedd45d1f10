"""Cells for every CSV the tracker writes, safe to open in a spreadsheet (OWASP CSV injection).

A cell a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return)
is written with a leading apostrophe, and so is such a start after a separator that a spreadsheet
may split on (, ; |), so `Doe;=HYPERLINK(...)` cannot become a formula cell in a locale whose list
separator is `;`. Quoting is left to the csv module (`csv.writer`), which quotes separators,
quotes and line breaks.
"""

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_AFTER_SEPARATOR = re.compile(r"([,;|])(\s*)([=+\-@])")
_SUSPECT = re.compile(r"^[=+\-@\t\r]|[,;|]\s*[=+\-@]")


def safe_cell(value) -> str:
    """The text of a CSV cell that no spreadsheet runs as a formula; None is empty."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not _SUSPECT.search(text):  # the common case: one regex scan, no copy
        return text
    text = _AFTER_SEPARATOR.sub(r"\1\2'\3", text)
    return "'" + text if text.startswith(FORMULA_START) else text


def safe_row(values) -> list[str]:
    """Every cell of a row through safe_cell."""
    return [safe_cell(value) for value in values]
