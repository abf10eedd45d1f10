"""Routes of the worklist area."""
from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("worklist", __name__, url_prefix="/worklist")


@bp.get("/")
@login_required
def index():
    return render_template("worklist/index.html")
