"""Routes of the calendar feeds: the secret .ics URL (no login: the secret is the key), and the
page where staff make, rotate and stop their own URL, and admins those of the chairs."""

import logging

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Chair, utcnow
from ..saving import acting_user, save
from ..services.appointments import active_chairs
from ..services.clinic import clinic_today, clinic_zone, get_settings
from .calendar import DAYS_AHEAD, DAYS_BACK, feed_etag, feed_ics, feed_range
from .forms import IssueFeedForm, RevokeFeedForm
from .service import find_feed, issue_feed, live_feed, note_fetch, revoke_feed

bp = Blueprint("feeds", __name__, url_prefix="/feeds")
public_bp = Blueprint("public_feeds", __name__, url_prefix="/feeds")
log = logging.getLogger(__name__)


@public_bp.get("/<secret>.ics")
def subscription(secret: str):
    """The feed for a calendar app; 304 when its ETag has not changed since the last fetch."""
    feed = find_feed(secret)
    if feed is None:
        abort(404)
    settings, now = get_settings(), utcnow()
    span = feed_range(clinic_today(), clinic_zone())
    etag = feed_etag(feed, span)
    if note_fetch(feed, now):
        db.session.commit()
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Referrer-Policy": "no-referrer"}
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return Response(status=304, headers=headers)
    body = feed_ics(feed, span, settings, stamp=now)
    return Response(body, mimetype="text/calendar", headers=headers)


def _feed_url(secret: str) -> str:
    return url_for("public_feeds.subscription", secret=secret, _external=True)


def _page(*, shown: dict | None = None, status: int = 200):
    user = acting_user()
    chairs = active_chairs() if user.has_role("admin") else []
    return render_template(
        "feeds/index.html",
        mine=live_feed(user),
        chairs=[(c, live_feed(c)) for c in chairs],
        shown=shown or {},
        issue_form=IssueFeedForm(formdata=None),
        days_back=DAYS_BACK,
        days_ahead=DAYS_AHEAD,
    ), status


@bp.get("/")
@login_required
def index():
    """Your calendar feed, and (for admins) each chair's."""
    return _page()


def _chair(chair_id: int) -> Chair:
    if not current_user.has_role("admin"):
        abort(403)
    return db.get_or_404(Chair, chair_id)


def _issue(owner):
    """Make (or rotate) the URL; it is shown on this answer only, an older one stops working."""
    if not IssueFeedForm().validate_on_submit():
        abort(400)
    feed, secret = issue_feed(owner, actor=acting_user(), now=utcnow())
    db.session.commit()
    return _page(shown={(feed.kind, feed.chair_id): _feed_url(secret)})


def _revoke(owner):
    """Stop the URL once the box is ticked."""
    index_url = url_for(".index")
    return save(
        RevokeFeedForm(),
        lambda: revoke_feed(owner, actor=acting_user(), now=utcnow()),
        message=lambda done: (
            "The subscription URL no longer works." if done else "There was no URL to stop."
        ),
        to=index_url,
        refused_to=index_url,
    )


@bp.post("/staff/issue")
@login_required
def issue_mine():
    """A new URL for your own sessions (the old one stops)."""
    return _issue(acting_user())


@bp.post("/staff/revoke")
@login_required
def revoke_mine():
    """Stop your URL."""
    return _revoke(acting_user())


@bp.post("/chairs/<int:chair_id>/issue")
@login_required
def issue_chair(chair_id: int):
    """A new URL for a chair (admins)."""
    return _issue(_chair(chair_id))


@bp.post("/chairs/<int:chair_id>/revoke")
@login_required
def revoke_chair(chair_id: int):
    """Stop a chair's URL (admins)."""
    return _revoke(_chair(chair_id))
