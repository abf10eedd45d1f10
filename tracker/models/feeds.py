"""Calendar feeds: secret iCalendar subscription URLs, one per staff member or chair."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, one_of, utcnow

FEED_KINDS = ("staff", "chair")


class CalendarFeed(db.Model):  # type: ignore[name-defined]
    """A subscription URL's secret (kept as its SHA-256) for one staff member's or chair's
    appointments; rotating revokes it and issues another."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        CheckConstraint(one_of("kind", FEED_KINDS), name="kind"),
        CheckConstraint(
            "(kind = 'staff' AND user_id IS NOT NULL AND chair_id IS NULL) OR "
            "(kind = 'chair' AND chair_id IS NOT NULL AND user_id IS NULL)",
            name="owner",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    chair_id: Mapped[int | None] = mapped_column(
        ForeignKey("chairs.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
