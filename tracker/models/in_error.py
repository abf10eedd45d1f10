"""Entered in error: a clinical record is never deleted; a mistaken one is struck out, with why."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from .types import UTCDateTime

REASON_MAX = 200
# The rows that still count: partial indexes and queries keep to them.
LIVE = "entered_in_error_at IS NULL"


class EnteredInError:
    """When, why and by whom a record was marked entered in error (all None while it counts)."""

    entered_in_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    entered_in_error_reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    entered_in_error_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    @property
    def in_error(self) -> bool:
        """Marked entered in error: kept on record, struck out, left out of every rule."""
        return self.entered_in_error_at is not None


def unique_while_live(name: str, *columns: str, where: str = LIVE) -> Index:
    """A unique index over the rows `where` holds (by default those not entered in error), on
    SQLite and PostgreSQL alike."""
    return Index(
        name, *columns, unique=True, sqlite_where=text(where), postgresql_where=text(where)
    )
