"""Error pages: never a bare 500, never a stack trace."""
import logging

from flask import Blueprint, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

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
    from ..fhir.outcomes import is_fhir_path, outcome_response

    if is_fhir_path(request.path):  # a URL or method the FHIR endpoints do not have
        return outcome_response(code, detail or MESSAGES.get(code, MESSAGES[500])[1])
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


@bp.app_errorhandler(OperationalError)
@bp.app_errorhandler(InterfaceError)
@bp.app_errorhandler(DisconnectionError)
@bp.app_errorhandler(PoolTimeoutError)
def database_unavailable(error):
    """The database is down or unreachable: the app's own page (503), rendered without it."""
    from ..extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  the connection is gone; the session is discarded at teardown
        log.debug("rollback after a database outage failed")
    log.error("database unavailable: %s", type(getattr(error, "orig", None) or error).__name__)
    # Straight from the Jinja environment: render_template's context processors would load the
    # logged-in user (Flask-Login's current_user), which is a database query.
    page = current_app.jinja_env.get_template("errors/unavailable.html").render()
    return page, 503, {"Retry-After": "30"}


@bp.app_errorhandler(500)
def server_error(error):
    from ..extensions import db

    db.session.rollback()
    log.exception("unhandled error")
    return _page(500)
