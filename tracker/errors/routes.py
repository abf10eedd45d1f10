"""Error pages: never a bare 500, never a stack trace."""
import logging

from flask import Blueprint, render_template, request
from flask_wtf.csrf import CSRFError

bp = Blueprint("errors", __name__)
log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "Your role does not allow this action."),
    404: ("Not found", "There is nothing at this address."),
    405: ("Not allowed", "This address does not accept that method."),
    413: ("Too large", "The upload is too large."),
    429: ("Slow down", "Too many requests; wait a moment."),
    500: ("Something went wrong", "The error was logged; nothing was saved."),
}


def _page(code: int, detail: str | None = None):
    if request.path.startswith("/api/"):  # a URL or method the API does not have
        from ..api.problems import problem_response

        return problem_response(code, detail or MESSAGES.get(code, MESSAGES[500])[1])
    title, text = MESSAGES.get(code, MESSAGES[500])
    return render_template("errors/error.html", code=code, title=title, text=detail or text), code


@bp.app_errorhandler(CSRFError)
def csrf_error(error):
    return _page(400, "The form expired or was sent from elsewhere. Reload the page and try again.")


for _code in (400, 403, 404, 405, 413, 429):
    bp.app_errorhandler(_code)(lambda error, code=_code: _page(code))


@bp.app_errorhandler(500)
def server_error(error):
    from ..extensions import db

    db.session.rollback()
    log.exception("unhandled error")
    return _page(500)
