"""Each staff member's own account: password, where they are logged in, the second factor."""

from datetime import timedelta

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from ..extensions import db
from ..models import StaffSession, utcnow
from ..saving import save
from ..security import idle_minutes
from ..services.clinic import get_settings
from ..services.sessions import end_session, end_sessions, open_sessions
from ..services.staff import change_own_password
from ..services.two_factor import (
    code_fits_secret,
    disable,
    enable,
    new_recovery_codes,
    new_secret,
    recovery_codes_left,
    required_for,
)
from .blueprint import bp
from .forms import ChangePasswordForm, PasswordCheckForm, SetupForm
from .login_flow import CODES_KEY, SETUP_KEY, client_ip, locked_message, setup_context
from .throttle import login_wait, record_attempt

BROWSERS = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "Mac"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def browser_label(user_agent: str) -> str:
    """'Chrome on Windows' from a User-Agent header; 'Unknown browser' when it says nothing."""
    browser = next((name for mark, name in BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


def _page(password_form=None, off_form=None, status=200):
    """The account page, with the forms given (posted ones keep their errors)."""
    settings, now = get_settings(), utcnow()
    minutes = idle_minutes(settings)
    return render_template(
        "account/index.html",
        password_form=password_form or ChangePasswordForm(formdata=None),
        off_form=off_form or PasswordCheckForm(formdata=None),
        sessions=open_sessions(current_user.id, now, timedelta(minutes=minutes)),
        current=g.staff_session,
        idle_minutes=minutes,
        browser_label=browser_label,
        codes_left=recovery_codes_left(current_user) if current_user.has_second_factor else 0,
        must_have_factor=required_for(current_user, settings, current_app.config),
    ), status


@bp.get("/account")
@login_required
def account():
    """Your password, the places you are logged in, and your second factor."""
    return _page()


def _password_checked(form) -> bool:
    """The typed current password is right. A wrong one counts like a failed login (someone at
    an unlocked screen guessing it), and the login throttle applies here too."""
    config, ip, email = current_app.config, client_ip(), current_user.email
    wait = login_wait(email, ip, config)
    if wait:
        record_attempt(email, ip, current_user, "held", config)
        db.session.commit()
        form.current.errors = list(form.current.errors) + [locked_message(wait)]
        return False
    if current_user.check_password(form.current.data or ""):
        return True
    record_attempt(email, ip, current_user, "wrong", config)
    db.session.commit()
    form.current.errors = list(form.current.errors) + ["This is not your current password."]
    return False


@bp.post("/account/password")
@login_required
def change_password():
    """Change your own password; your other sessions end."""
    form = ChangePasswordForm()
    form.account_email = current_user.email
    if form.validate_on_submit() and _password_checked(form):

        def message(ended: int) -> str:
            if not ended:
                return "Password changed."
            return f"Password changed. You were logged out in {ended} other place{'s' if ended != 1 else ''}."

        saved = save(
            form,
            lambda: change_own_password(
                current_user, form.current.data, form.password.data, keep_session=g.staff_session.id
            ),
            message=message,
            to=url_for("auth.account"),
            validate=False,
        )
        if saved is not None:
            return saved
    return _page(password_form=form)


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_one_session(session_id):
    """Log out one of your other sessions (another computer or browser)."""
    staff_session = db.get_or_404(StaffSession, session_id)
    if staff_session.user_id != current_user.id:
        abort(404)
    end_session(staff_session, "ended_by_user", utcnow())
    db.session.commit()
    if staff_session.id == g.staff_session.id:
        logout_user()
        flash("You are logged out.", "info")
        return redirect(url_for("auth.login"))
    flash("That session is logged out.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/sessions/end-all")
@login_required
def end_all_sessions():
    """Log out everywhere, this browser too."""
    end_sessions(current_user.id, "logged_out_everywhere", utcnow())
    db.session.commit()
    logout_user()
    flash("You are logged out everywhere.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor():
    """Set up an authenticator app for two-step login."""
    if current_user.has_second_factor:
        flash("Two-step login is already on.", "info")
        return redirect(url_for("auth.account"))
    secret = session.get(SETUP_KEY) or new_secret()
    session[SETUP_KEY] = secret  # kept in the signed cookie until confirmed: a GET stores nothing
    form = SetupForm()
    context = setup_context(secret, current_user.email)
    if form.validate_on_submit():
        now = utcnow()
        if code_fits_secret(secret, form.code.data, now):
            session[CODES_KEY] = enable(current_user, secret, now)
            session.pop(SETUP_KEY, None)
            db.session.commit()
            flash("Two-step login is on.", "success")
            return redirect(url_for("auth.recovery_codes"))
        form.code.errors.append("That code is not right. Type the 6 digits the app shows now.")
    return render_template("account/two_factor.html", form=form, **context)


@bp.post("/account/two-factor/off")
@login_required
def two_factor_off():
    """Turn two-step login off (not allowed where the clinic requires it)."""
    form = PasswordCheckForm()
    if required_for(current_user, get_settings(), current_app.config):
        flash("Two-step login is required for your account; it cannot be turned off.", "error")
        return redirect(url_for("auth.account"))
    if not form.validate_on_submit() or not _password_checked(form):
        return _page(off_form=form)
    disable(current_user, current_user)
    db.session.commit()
    flash("Two-step login is off.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/recovery-codes", methods=["GET", "POST"])
@login_required
def recovery_codes():
    """New recovery codes (POST), shown once (GET after it); the old ones stop working."""
    if request.method == "POST":
        if not current_user.has_second_factor:
            abort(404)
        session[CODES_KEY] = new_recovery_codes(current_user, utcnow())
        db.session.commit()
        return redirect(url_for("auth.recovery_codes"))
    return render_template(
        "account/recovery_codes.html",
        codes=session.pop(CODES_KEY, None),
        left=recovery_codes_left(current_user),
    )
