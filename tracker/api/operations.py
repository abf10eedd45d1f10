"""Operations of the API: each route with what it reads and answers, which the OpenAPI
document is generated from, and the helpers that parse a request by those schemas."""

import json
import logging
from dataclasses import dataclass, field

from flask import g, request
from marshmallow import Schema, ValidationError

from . import bp
from .problems import Problem, field_error

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # no request body of this API comes near it
STANDARD_ERRORS = (400, 401, 403, 406, 413, 415, 422, 429)


@dataclass
class Operation:
    """One route and method, described for the OpenAPI document."""

    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    if_match: bool = False
    etag: bool = False
    public: bool = False
    description: str = ""
    path_params: dict = field(default_factory=dict)


OPERATIONS: list[Operation] = []


def operation(rule: str, method: str = "GET", **described):
    """Register the view on the API blueprint and describe it for the OpenAPI document."""

    def decorator(view):
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=view, methods=[method])
        doc = (view.__doc__ or "").strip()
        OPERATIONS.append(
            Operation(
                rule=rule,
                method=method,
                endpoint=f"api.{view.__name__}",
                description=doc,
                **described,
            )
        )
        return view

    return decorator


def _errors(messages, path: str = "") -> list[dict]:
    """marshmallow's nested messages as flat field errors ("items.0.name")."""
    if isinstance(messages, dict):
        found = []
        for key, value in messages.items():
            name = "" if key == "_schema" else str(key)
            found += _errors(value, f"{path}.{name}" if path and name else (name or path))
        return found
    if isinstance(messages, list):
        found = []
        for message in messages:
            found += (
                _errors(message, path)
                if isinstance(message, (dict, list))
                else [field_error(path or None, str(message))]
            )
        return found
    return [field_error(path or None, str(messages))]


def _readable(messages) -> list[dict]:
    """Field errors with the clinic's words for marshmallow's stock messages."""
    words = {
        "Unknown field.": "This field is not accepted here; remove it.",
        "Not a valid integer.": "Give a whole number.",
        "Missing data for required field.": "This field is required.",
        "Not a valid datetime.": "Give an ISO 8601 date and time with its offset, e.g. 2027-01-04T09:00:00-05:00.",
        "Not a valid aware datetime.": "Give the time with its UTC offset, e.g. 2027-01-04T09:00:00-05:00.",
        "Not a valid date.": "Give a date as YYYY-MM-DD.",
        "Not a valid string.": "Give text.",
        "Not a valid boolean.": "Give true or false.",
    }
    return [dict(e, detail=words.get(e["detail"], e["detail"])) for e in _errors(messages)]


def query_args(schema: type[Schema]) -> dict:
    """The query string read by the schema; a 422 problem naming each bad parameter."""
    try:
        return schema().load(request.args.to_dict())
    except ValidationError as error:
        raise Problem(422, "A query parameter is not valid.", _readable(error.messages)) from None


def json_body(schema: type[Schema]) -> dict:
    """The JSON body read by the schema; 415, 413, 400 or 422 problems, never a server error."""
    if request.mimetype != "application/json":
        raise Problem(415, "Send the body as application/json.")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise Problem(413, f"The body is too large; at most {MAX_BODY_BYTES} bytes.")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise Problem(413, f"The body is too large; at most {MAX_BODY_BYTES} bytes.")
    try:
        document = json.loads(raw.decode("utf-8") if raw else "{}")
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "The body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise Problem(422, "The body must be a JSON object.")
    if _has_nul(document):
        raise Problem(422, "Text cannot hold a NUL character.")
    try:
        return schema().load(document)
    except ValidationError as error:
        raise Problem(422, "A field is not valid.", _readable(error.messages)) from None


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def may_see_clinical() -> bool:
    """Clinicians and admins see clinical fields; front desk tokens never receive them."""
    return g.api_user.has_role("clinician")
