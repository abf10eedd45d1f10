"""Routes of the schedule area."""
from flask import Blueprint

bp = Blueprint("schedule", __name__, url_prefix="/schedule")
