"""What the database can hold, applied where requests come in: record ids in URLs and query
strings, and page numbers. Beyond these a request gets a 404 or the nearest page, never a 500
from an integer the database cannot compare (PostgreSQL's integer ends at 2^31 - 1)."""

from flask import request
from werkzeug.routing import IntegerConverter, ValidationError

MAX_ID = 2**31 - 1  # ids are INTEGER columns on PostgreSQL
MAX_PAGE = 1_000_000  # with at most 100 rows a page, the offset stays far inside an integer


class RecordIdConverter(IntegerConverter):
    """`<int:...>` in every route: a number above MAX_ID matches no route (404), unless the
    rule names its own max."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str):
        if len(value) > len(str(self.max or MAX_ID)):
            raise ValidationError()  # int() of thousands of digits raises, and is slow
        return super().to_python(value)


def record_id(value) -> int | None:
    """A record id from a query or form value: a whole number from 1 to MAX_ID, else None."""
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def requested_page() -> int:
    """The `page` query argument as a page number from 1 to MAX_PAGE (unreadable: 1)."""
    text = (request.args.get("page") or "").strip()
    if not text.isascii() or not text.isdigit():
        return 1
    if len(text) > len(str(MAX_PAGE)):
        return MAX_PAGE
    return min(max(int(text), 1), MAX_PAGE)
