"""Patient self-service from signed links: book a visit inside the window, confirm, move or
cancel it, ask to be called, and have the links sent again. No account and no staff session:
the signed link is the proof, a GET only shows, and every change is a POST from the page."""

from flask import Blueprint

bp = Blueprint("patient_links", __name__, url_prefix="/my")
