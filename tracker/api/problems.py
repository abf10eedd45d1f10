"""Errors as RFC 9457 problem documents (application/problem+json), naming the field."""

import logging

from flask import Response, json
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Invalid fields",
    428: "Precondition required",
    429: "Too many requests",
    500: "Server error",
}


class Problem(Exception):
    """An API refusal: status, a sentence, and optional per-field errors."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: list[dict] | None = None,
        headers: dict | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


def field_error(field: str | None, detail: str) -> dict:
    """One entry of a problem's `errors`: the field's name, a JSON pointer to it, the sentence."""
    entry = {"detail": detail}
    if field:
        entry["field"] = field
        entry["pointer"] = "#/" + field.replace("~", "~0").replace("/", "~1").replace(".", "/")
    return entry


def problem_response(
    status: int, detail: str, errors: list[dict] | None = None, headers: dict | None = None
) -> Response:
    """The problem document as a response."""
    document = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        document["errors"] = errors
    response = Response(json.dumps(document), status=status, mimetype=PROBLEM_TYPE)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http_exception(error: HTTPException) -> Response:
    """A werkzeug HTTP error (404, 405, 413 ...) as a problem document."""
    status = error.code or 500
    detail = {
        404: "There is nothing at this address.",
        405: "This address does not accept that method.",
        413: "The body is too large.",
    }.get(status, error.description or TITLES.get(status, "Error"))
    headers = {}
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        headers["Allow"] = ", ".join(allowed)
    return problem_response(status, detail, headers=headers)


def register(bp) -> None:
    """Problem documents for every error raised inside the API blueprint."""

    @bp.errorhandler(Problem)
    def _problem(error: Problem):
        return problem_response(error.status, error.detail, error.errors, error.headers)

    @bp.errorhandler(HTTPException)
    def _http(error: HTTPException):
        return from_http_exception(error)

    @bp.errorhandler(Exception)
    def _unexpected(error: Exception):
        from ..extensions import db

        db.session.rollback()
        log.exception("unhandled error in the API")
        return problem_response(500, "The error was logged; nothing was saved.")
