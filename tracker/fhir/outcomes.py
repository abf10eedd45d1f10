"""FHIR errors as OperationOutcome resources (never an HTML page, never a bare 500)."""

import json
import logging

from flask import Response
from werkzeug.exceptions import HTTPException

from ..api.problems import Problem

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    410: "deleted",
    413: "too-costly",
    422: "invalid",
    429: "throttled",
    500: "exception",
}


class FhirError(Exception):
    """A refusal: the HTTP status, a sentence, and the search parameter it is about."""

    def __init__(self, status: int, detail: str, expression: str | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.expression = expression


def outcome_response(
    status: int, detail: str, expression: str | None = None, headers: dict | None = None
) -> Response:
    """An OperationOutcome with one error issue, as the response."""
    issue: dict = {
        "severity": "error",
        "code": ISSUE_CODES.get(status, "processing"),
        "diagnostics": detail,
    }
    if expression:
        issue["expression"] = [expression]
    document = {"resourceType": "OperationOutcome", "issue": [issue]}
    response = Response(json.dumps(document), status=status, mimetype=FHIR_JSON)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def is_fhir_path(path: str) -> bool:
    """The request is for the FHIR endpoints (their errors are OperationOutcomes)."""
    return path == "/fhir" or path.startswith("/fhir/")


def from_http_exception(error: HTTPException) -> Response:
    """A werkzeug HTTP error (404, 405 ...) as an OperationOutcome."""
    status = error.code or 500
    detail = {
        404: "There is nothing at this address.",
        405: "This server only reads: use GET.",
    }.get(status, error.description or "The request was refused.")
    headers = {}
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        headers["Allow"] = ", ".join(allowed)
    return outcome_response(status, detail, headers=headers)


def register(bp) -> None:
    """OperationOutcomes for every error raised inside the FHIR blueprint."""

    @bp.errorhandler(FhirError)
    def _fhir(error: FhirError):
        return outcome_response(error.status, error.detail, error.expression)

    @bp.errorhandler(Problem)  # the API's token checks (401, 403)
    def _problem(error: Problem):
        return outcome_response(error.status, error.detail, headers=error.headers)

    @bp.errorhandler(HTTPException)
    def _http(error: HTTPException):
        return from_http_exception(error)

    @bp.errorhandler(Exception)
    def _unexpected(error: Exception):
        from ..extensions import db

        db.session.rollback()
        log.exception("unhandled error in the FHIR endpoints")
        return outcome_response(500, "The error was logged.")
