"""Login and logout."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from ..extensions import db
from ..models import User
from ..security import local_path
from .forms import LoginForm
from .throttle import login_wait, record_attempt, spend_equal_time

bp = Blueprint("auth", __name__)

HASH_SCHEME = "scrypt:"


def _locked_message(seconds: int) -> str:
    if seconds < 90:
        return f"Too many failed attempts. Try again in {seconds} seconds or ask an administrator."
    return f"Too many failed attempts. Try again in {round(seconds / 60)} minutes or ask an administrator."


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    return local_path(target) or url_for("main.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        ip = request.remote_addr or "unknown"
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        wait = login_wait(user, ip, current_app.config)
        if wait:
            record_attempt(email, ip, user, False, current_app.config, refused=True)
            db.session.commit()
            form.form_errors.append(_locked_message(wait))  # a message, not a field to correct
            response = current_app.make_response((render_template("auth/login.html", form=form), 429))
            response.headers["Retry-After"] = str(wait)
            return response
        if user is None:
            spend_equal_time(form.password.data)
        ok = user is not None and user.active and user.check_password(form.password.data)
        record_attempt(email, ip, user if user else None, ok, current_app.config)
        if ok and not user.password_hash.startswith(HASH_SCHEME):
            user.set_password(form.password.data)  # upgrade an older hash while we hold the password
        db.session.commit()
        if not ok:
            form.form_errors.append("Email or password is not right.")
            return render_template("auth/login.html", form=form), 200
        login_user(user, remember=form.remember.data)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
