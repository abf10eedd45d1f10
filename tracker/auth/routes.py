"""Login (the password step), logout, and keeping an idle session alive."""
from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user
from sqlalchemy import func, select

from ..extensions import db
from ..models import User, utcnow
from ..security import local_path
from ..services.clinic import get_settings
from ..services.sessions import end_session, touch
from ..services.two_factor import required_for
from .blueprint import bp
from .forms import LoginForm
from .login_flow import begin_pending, client_ip, finish_login, held_response
from .throttle import login_wait, record_attempt, spend_equal_time

__all__ = ["bp"]

HASH_SCHEME = "scrypt:"
WRONG = "Email or password is not right."


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The password step. Unknown, inactive and active accounts take the same path (a real
    hash check each) and get the same answers; a second factor follows when the user has one
    or must have one."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    config, ip = current_app.config, client_ip()
    email = form.email.data.strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    wait = login_wait(email, ip, config)
    if wait:
        record_attempt(email, ip, user, "held", config)
        db.session.commit()
        return held_response("auth/login.html", form, wait)
    password = form.password.data
    password_ok = user.check_password(password) if user is not None else spend_equal_time(password)
    if user is None or not user.active or not password_ok:
        record_attempt(email, ip, user, "wrong", config)
        db.session.commit()
        form.form_errors.append(WRONG)  # a message, not a field to correct
        return render_template("auth/login.html", form=form), 200
    if not user.password_hash.startswith(HASH_SCHEME):
        user.set_password(password)  # upgrade an older hash while we hold the password
    next_path = request.args.get("next")
    if user.has_second_factor or required_for(user, get_settings(), config):
        record_attempt(email, ip, user, "partial", config)
        begin_pending(user, form.remember.data, next_path, utcnow())
        db.session.commit()
        step = "auth.login_code" if user.has_second_factor else "auth.login_setup"
        return redirect(url_for(step))
    return finish_login(user, form.remember.data, next_path)


@bp.post("/logout")
@login_required
def logout():
    """End this session on the server too, so a copied cookie is worth nothing."""
    staff_session = g.get("staff_session")
    if staff_session is not None:
        end_session(staff_session, "logout", utcnow())
        db.session.commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.post("/account/keep-alive")
@login_required
def keep_alive():
    """'Stay logged in' from the idle warning: counts as activity. 204 for the script,
    a redirect back for a plain form."""
    touch(g.staff_session, utcnow(), force=True)
    db.session.commit()
    if request.headers.get("X-Requested-With") == "fetch":
        return "", 204
    return redirect(local_path(request.form.get("next")) or url_for("main.index"))
