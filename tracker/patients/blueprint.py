"""The patients area's blueprint; the view modules add their routes to it."""

from flask import Blueprint

bp = Blueprint("patients", __name__, url_prefix="/patients")
