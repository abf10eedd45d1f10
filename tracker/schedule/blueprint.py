"""The schedule area's blueprint; the view modules add their routes to it."""

from flask import Blueprint

bp = Blueprint("schedule", __name__, url_prefix="/schedule")
