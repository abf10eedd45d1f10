"""The second step of a login: the authenticator app's code, or setting the app up first
when the user must have one and has none yet."""

from flask import current_app, flash, redirect, render_template, session, url_for

from ..extensions import db
from ..models import utcnow
from ..services.two_factor import check_code, code_fits_secret, enable, new_secret
from .blueprint import bp
from .forms import CodeForm, SetupForm
from .login_flow import (
    CODE_TRIES,
    PENDING_KEY,
    SETUP_KEY,
    client_ip,
    codes_tried,
    finish_login,
    held_response,
    pending_login,
    setup_context,
)
from .throttle import login_wait, record_attempt

WRONG_CODE = (
    "That code is not right. Type the 6 digits your app shows now, or one of your recovery codes."
)


def _start_again():
    session.pop(PENDING_KEY, None)
    flash("Please log in again.", "info")
    return redirect(url_for("auth.login"))


def _refuse_code(user, state, form, template, **context):
    """Count a wrong code; after CODE_TRIES the pending login ends."""
    record_attempt(user.email, client_ip(), user, "wrong", current_app.config)
    db.session.commit()
    if codes_tried(user, state) >= CODE_TRIES:
        session.pop(PENDING_KEY, None)
        flash("Too many wrong codes. Log in again with your password.", "error")
        return redirect(url_for("auth.login"))
    form.code.errors.append(
        WRONG_CODE
        if template == "auth/code.html"
        else "That code is not right. Type the 6 digits the app shows now."
    )
    return render_template(template, form=form, **context), 200


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The code from the authenticator app (or a recovery code) after a right password."""
    now = utcnow()
    pending = pending_login(now)
    if pending is None or not pending[0].has_second_factor:
        return _start_again()
    user, state = pending
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/code.html", form=form)
    wait = login_wait(user.email, client_ip(), current_app.config)
    if wait:
        record_attempt(user.email, client_ip(), user, "held", current_app.config)
        db.session.commit()
        return held_response("auth/code.html", form, wait)
    used = check_code(user, form.code.data, now)
    if used is None:
        return _refuse_code(user, state, form, "auth/code.html")
    response = finish_login(user, state["remember"], state.get("next"))
    if used == "recovery":  # after finish_login, which starts a fresh Flask session
        flash(
            "You used a recovery code; each works once. Make new ones on your account page "
            "if you are running out.",
            "info",
        )
    return response


@bp.route("/login/setup", methods=["GET", "POST"])
def login_setup():
    """Set up the authenticator app during login, for a user who must have one."""
    now = utcnow()
    pending = pending_login(now)
    if pending is None or pending[0].has_second_factor:
        return _start_again()
    user, state = pending
    secret = session.get(SETUP_KEY) or new_secret()
    session[SETUP_KEY] = secret  # kept in the signed cookie until confirmed: a GET stores nothing
    form = SetupForm()
    context = setup_context(secret, user.email)
    if not form.validate_on_submit():
        return render_template("auth/setup.html", form=form, **context)
    wait = login_wait(user.email, client_ip(), current_app.config)
    if wait:
        record_attempt(user.email, client_ip(), user, "held", current_app.config)
        db.session.commit()
        return held_response("auth/setup.html", form, wait, **context)
    if not code_fits_secret(secret, form.code.data, now):
        return _refuse_code(user, state, form, "auth/setup.html", **context)
    codes = enable(user, secret, now)
    return finish_login(user, state["remember"], state.get("next"), codes=codes)
