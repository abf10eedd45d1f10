"""Logging in and out, the second factor, and each staff member's own account page."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import account, routes, second_factor  # noqa: E402,F401  (their views register on bp)
