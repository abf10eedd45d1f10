"""The OpenAPI 3.1 document: valid, generated from every API route, and a bounded schemathesis
run against the real app finding no server error and no answer the document does not allow."""

import os
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.core.failures import FailureGroup

from tracker.extensions import db

from ..schedule_fixtures import maintenance_patient, setup_clinic
from .helpers import bearer

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "8"))  # per operation; bounded for CI


def test_document_is_valid_openapi_3_1(client):
    """The served document passes the OpenAPI 3.1 validator, needs no token, and is JSON."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_api_route_is_documented(app, client):
    """Each API route and method appears in the document, with its problem answers."""
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.replace("<int:", "{").replace(">", "}")
            routed |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented
    book = document["paths"]["/api/v1/appointments"]["post"]
    assert {"201", "409", "415", "422"} <= set(book["responses"])
    cancel = document["paths"]["/api/v1/appointments/{appointment_id}/cancel"]["post"]
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in cancel["parameters"])
    assert {"412", "428"} <= set(cancel["responses"])
    assert document["components"]["schemas"]["NewAppointment"]["additionalProperties"] is False
    slots = document["paths"]["/api/v1/patients/{patient_id}/free-slots"]["get"]
    assert any(p["name"] == "cursor" and p["in"] == "query" for p in slots["parameters"])
    assert set(document["components"]["schemas"]["CursorInfo"]["required"]) == {
        "limit",
        "next_cursor",
        "next",
    }


@pytest.fixture
def fuzzed(app, api_token):
    """A clinic with chairs, types, a patient in maintenance, and a read-write front-desk token."""
    with app.app_context():
        setup_clinic()
        maintenance_patient(date(2026, 11, 1))
        db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), api_token(
        "frontdesk", "write"
    )


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_or_schema_mismatch(fuzzed):
    """Every operation, EXAMPLES generated requests each (valid and invalid): never a 5xx, and
    every status, content type, header and body is one the document allows. Requests valid by
    the schema may still break a rule the schema cannot say (a day or a patient), so the
    'valid data accepted' check is left out."""
    schema, secret = fuzzed
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(
                headers=bearer(secret),
                excluded_checks=[schemathesis.checks.positive_data_acceptance],
            )

        try:
            check()
        except (FailureGroup, AssertionError) as error:  # each operation's failures, all reported
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)
