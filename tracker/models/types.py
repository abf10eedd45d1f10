"""Column types shared by the models."""
from datetime import datetime, timezone

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

from .. import clock


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL `column IN ('a','b')` for a check constraint, built from the enumeration's tuple."""
    if any("'" in value for value in values):
        raise ValueError("enumeration values are plain words")
    quoted = ",".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as UTC; naive values are refused.

    SQLite drops offsets silently, so the value is normalised to UTC on write and UTC is
    re-attached on read, on every database.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    """The current instant, aware, in UTC (from the one clock, tracker.clock)."""
    return clock.now()
