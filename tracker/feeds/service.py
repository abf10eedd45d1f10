"""Feeds: issue (the URL shown once), rotate, revoke, find by secret. Only this module writes
calendar_feeds. The secret is made, kept (as its SHA-256) and checked by tracker/secret_tokens.py."""

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..extensions import db
from ..models import CalendarFeed, Chair, User
from ..secret_tokens import keep_new, new_secret, presentable, revoke, stored_form, verifies
from ..services import audit

log = logging.getLogger(__name__)

FETCH_NOTED_EVERY = timedelta(minutes=5)
FEED_FIELDS = ("kind", "user_id", "chair_id", "revoked_at")


def _owner(owner: User | Chair) -> dict:
    if isinstance(owner, User):
        return {"kind": "staff", "user_id": owner.id, "chair_id": None}
    return {"kind": "chair", "chair_id": owner.id, "user_id": None}


def live_feed(owner: User | Chair) -> CalendarFeed | None:
    """The owner's feed that works now, if any."""
    where = _owner(owner)
    return db.session.scalar(
        select(CalendarFeed).where(
            CalendarFeed.kind == where["kind"],
            CalendarFeed.user_id.is_(None)
            if where["user_id"] is None
            else CalendarFeed.user_id == where["user_id"],
            CalendarFeed.chair_id.is_(None)
            if where["chair_id"] is None
            else CalendarFeed.chair_id == where["chair_id"],
            CalendarFeed.revoked_at.is_(None),
        )
    )


def revoke_feed(owner: User | Chair, *, actor, now: datetime) -> bool:
    """Stop the owner's feed at once; False when there was none. Flushes."""
    feed = live_feed(owner)
    if feed is None:
        return False
    return revoke(feed, entity="calendar_feed", fields=FEED_FIELDS, actor=actor, now=now)


def issue_feed(owner: User | Chair, *, actor, now: datetime) -> tuple[CalendarFeed, str]:
    """A new secret URL for the owner; any earlier one stops working (rotation). Flushes."""
    revoke_feed(owner, actor=actor, now=now)
    secret = new_secret()
    feed = CalendarFeed(
        **_owner(owner),
        token_hash=stored_form(secret),
        created_at=now,
        created_by_id=audit.actor_fields(actor)[0],
    )
    keep_new(feed, entity="calendar_feed", fields=FEED_FIELDS, actor=actor)
    log.info("calendar feed %s issued (%s)", feed.id, feed.kind)
    return feed, secret


def find_feed(secret: str) -> CalendarFeed | None:
    """The live feed for a secret from a URL; None when unknown or revoked (or its staff member
    deactivated)."""
    if not presentable(secret):
        return None
    feed = db.session.scalar(
        select(CalendarFeed).where(CalendarFeed.token_hash == stored_form(secret))
    )
    if feed is None or not verifies(secret, feed.token_hash) or feed.revoked_at is not None:
        return None
    if feed.user_id is not None:
        user = db.session.get(User, feed.user_id)
        if user is None or not user.active:
            return None
    return feed


def note_fetch(feed: CalendarFeed, now: datetime) -> bool:
    """Keep when the feed was last fetched, at most every FETCH_NOTED_EVERY (the caller commits)."""
    if feed.last_fetched_at is not None and now - feed.last_fetched_at < FETCH_NOTED_EVERY:
        return False
    db.session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.id == feed.id)
        .values(last_fetched_at=now)
        .execution_options(synchronize_session=False)
    )
    return True
