"""Home page and health check."""
from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from ..extensions import db

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index():
    """Clinicians land on the day sheet, everyone else on the worklist."""
    if current_user.role == "clinician":
        return redirect(url_for("schedule.day"))
    return redirect(url_for("worklist.index"))


@bp.get("/health")
def health():
    """Liveness and database reachability, no login, no data."""
    try:
        db.session.execute(text("SELECT 1"))
        return jsonify(status="ok")
    except Exception:
        db.session.rollback()
        return jsonify(status="database unavailable"), 503
