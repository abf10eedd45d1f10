"""Routes of the patients area."""
from flask import Blueprint

bp = Blueprint("patients", __name__, url_prefix="/patients")
