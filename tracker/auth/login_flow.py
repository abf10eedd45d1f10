"""Steps of a login shared by the login, second-factor and account views.

Between the password and the second factor the login is "pending": the Flask session holds
the account id, when the password was given and where to go next; wrong codes are counted in
the database (a copied cookie cannot reset them).
"""

from datetime import datetime, timedelta

from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import login_user
from sqlalchemy import func, select

from ..extensions import db
from ..models import LoginAttempt, User, utcnow
from ..security import local_path
from ..services.clinic import get_settings
from ..services.sessions import start_session
from ..services.two_factor import qr_svg, setup_uri
from .throttle import record_attempt

PENDING_KEY = "pending_login"
PENDING_MINUTES = 5  # the second factor must follow the password within this time
CODE_TRIES = 5  # wrong codes allowed per pending login
CODES_KEY = "recovery_codes_once"
SETUP_KEY = "totp_setup"  # the secret being set up, until its first code confirms it


def client_ip() -> str:
    """The client's address (ProxyFix supplies it behind trusted proxies)."""
    return (request.remote_addr or "unknown")[:64]


def locked_message(seconds: int) -> str:
    """The sentence for a throttled attempt."""
    if seconds < 90:
        return f"Too many failed attempts. Try again in {seconds} seconds or ask an administrator."
    return (
        f"Too many failed attempts. Try again in {round(seconds / 60)} minutes "
        "or ask an administrator."
    )


def held_response(template: str, form, seconds: int, **context):
    """The page again with the throttle's message on the form, as a 429 with Retry-After."""
    form_field = getattr(form, "code", None) or form.password
    form_field.errors = list(form_field.errors) + [locked_message(seconds)]
    response = current_app.make_response((render_template(template, form=form, **context), 429))
    response.headers["Retry-After"] = str(seconds)
    return response


def begin_pending(user: User, remember: bool, next_path: str | None, now: datetime) -> None:
    """Remember, until the second factor, whose password was right."""
    session[PENDING_KEY] = {
        "user_id": user.id,
        "at": now.timestamp(),
        "remember": bool(remember),
        "next": local_path(next_path),
    }


def pending_login(now: datetime) -> tuple[User, dict] | None:
    """The account waiting for its second factor and the pending state, if still in time."""
    state = session.get(PENDING_KEY)
    if not isinstance(state, dict):
        return None
    started = datetime.fromtimestamp(float(state.get("at", 0)), tz=now.tzinfo)
    if now - started > timedelta(minutes=PENDING_MINUTES):
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, int(state.get("user_id", 0)))
    if user is None or not user.active:
        session.pop(PENDING_KEY, None)
        return None
    return user, state


def codes_tried(user: User, state: dict) -> int:
    """Wrong codes given since the pending login began."""
    started = datetime.fromtimestamp(float(state["at"]), tz=utcnow().tzinfo)
    return (
        db.session.scalar(
            select(func.count(LoginAttempt.id)).where(
                LoginAttempt.email == user.email,
                LoginAttempt.outcome == "wrong",
                LoginAttempt.at >= started,
            )
        )
        or 0
    )


def finish_login(user: User, remember: bool, next_path: str | None, codes: list[str] | None = None):
    """Open the session: a fresh Flask session (so a new CSRF token), a new staff session whose
    token the cookies carry, the attempt logged; then on to `next_path`."""
    config = current_app.config
    now = utcnow()
    session.clear()
    lifetime = (
        config["REMEMBER_COOKIE_DURATION"]
        if remember
        else timedelta(hours=config["SESSION_MAX_HOURS"])
    )
    start_session(
        user,
        remember=remember,
        lifetime=lifetime,
        ip=client_ip(),
        user_agent=request.headers.get("User-Agent", ""),
        now=now,
    )
    record_attempt(user.email, client_ip(), user, "ok", config)
    db.session.commit()
    login_user(user, remember=remember, duration=lifetime)
    if codes:
        session[CODES_KEY] = codes
        return redirect(url_for("auth.recovery_codes"))
    return redirect(local_path(next_path) or url_for("main.index"))


def setup_context(secret: str, email: str) -> dict:
    """What the set-up page shows: the QR code and the key to type instead."""
    uri = setup_uri(secret, email, get_settings().clinic_name)
    spaced = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return {"qr": qr_svg(uri), "secret": spaced}
