"""What the API refuses, each as a 4xx problem document with nothing changed: no or bad token,
a session cookie, a read token writing, malformed or oversized bodies, wrong types and fields."""

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tracker.api.operations import MAX_BODY_BYTES
from tracker.extensions import csrf, db
from tracker.models import ApiToken, Appointment, User

from ..conftest import build_app
from ..factories import DEFAULT_PASSWORD, make_user
from ..schedule_fixtures import maintenance_patient, setup_clinic  # noqa: F401
from .helpers import bearer

PROBLEM = "application/problem+json"


@pytest.fixture
def clinic(app, api_clock):
    """Chairs, hours, a maintenance type and a patient: a valid booking body."""
    with app.app_context():
        setup = setup_clinic()
        patient, _course = maintenance_patient(date(2026, 12, 15))
        db.session.commit()
        return {
            "patient_id": patient.id,
            "appointment_type_id": setup["maintenance"].id,
            "chair_id": setup["chairs"][0].id,
            "start_at": "2027-01-14T09:00:00-05:00",
        }


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Appointment))


def _is_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    document = response.get_json()
    assert document["status"] == status and document["title"] and document["detail"]
    return document


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer trk_not-a-real-token"]
)
def test_no_valid_token_is_401(client, clinic, header):
    """Without a live bearer token every operation answers 401 with a Bearer challenge."""
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/patients", headers=headers)
    _is_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_logged_in_session_never_authenticates_the_api(tmp_path):
    """With CSRF on as in production, an admin's session cookie gets 401 from the API, reading
    or posting, and books nothing."""
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    try:
        with app.app_context():
            admin_email = make_user(role="admin").email
            db.session.commit()
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        assert (
            client.post(
                "/login",
                data={"email": admin_email, "password": DEFAULT_PASSWORD, "csrf_token": token},
            ).status_code
            == 302
        )
        assert client.get("/admin/").status_code == 200  # the session works on the pages
        _is_problem(client.get("/api/v1/patients"), 401)
        _is_problem(client.post("/api/v1/appointments", json={}), 401)
        _is_problem(
            client.post("/api/v1/appointments", json={}, headers={"X-CSRFToken": token}), 401
        )
        assert app.blueprints["api"] in csrf._exempt_blueprints
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_revoked_token_and_deactivated_user_are_refused(client, app, api_token):
    """A revoked token, or a token whose staff member was deactivated, stops working at once."""
    from tracker.api.tokens import revoke_token

    revoked, deactivated = api_token("frontdesk"), api_token("clinician")
    assert client.get("/api/v1/patients", headers=bearer(revoked)).status_code == 200
    with app.app_context():
        token = db.session.scalar(
            select(ApiToken).join(User, User.id == ApiToken.user_id).where(User.role == "frontdesk")
        )
        revoke_token(token, actor="test", now=datetime.now(UTC))
        db.session.scalar(select(User).where(User.role == "clinician")).active = False
        db.session.commit()
    _is_problem(client.get("/api/v1/patients", headers=bearer(revoked)), 401)
    _is_problem(client.get("/api/v1/patients", headers=bearer(deactivated)), 401)


def test_read_token_cannot_write(client, app, api_token, clinic):
    """A read-only token may read but a booking with it is a 403 and books nothing."""
    secret = api_token("frontdesk", "read")
    assert client.get("/api/v1/patients", headers=bearer(secret)).status_code == 200
    problem = _is_problem(
        client.post("/api/v1/appointments", headers=bearer(secret), json=clinic), 403
    )
    assert "only read" in problem["detail"]
    assert _count(app) == 0


def test_last_use_is_recorded(client, app, api_token):
    """The token's last use is written when it is used (and shown on the admin page)."""
    secret = api_token()
    with app.app_context():
        assert db.session.scalar(select(ApiToken.last_used_at)) is None
    client.get("/api/v1/worklist", headers=bearer(secret))
    with app.app_context():
        used = db.session.scalar(select(ApiToken.last_used_at))
        assert used is not None and datetime.now(UTC) - used < timedelta(minutes=1)


BAD_BODIES = [
    ("malformed JSON", b'{"patient_id": 1,', "application/json", 400, None),
    ("not UTF-8", b'{"notes": "\xff"}', "application/json", 400, None),
    ("wrong content type", b"patient_id=1", "application/x-www-form-urlencoded", 415, None),
    ("text content type", b'{"patient_id": 1}', "text/plain", 415, None),
    ("a JSON array", b"[1, 2]", "application/json", 422, None),
    ("a JSON string", b'"hello"', "application/json", 422, None),
]


@pytest.mark.parametrize(
    "name, body, content_type, status, field", BAD_BODIES, ids=[b[0] for b in BAD_BODIES]
)
def test_unreadable_bodies(client, app, api_token, clinic, name, body, content_type, status, field):
    """Bodies that cannot be read as a JSON object: a 4xx problem, nothing booked."""
    response = client.post(
        "/api/v1/appointments", headers=bearer(api_token()), data=body, content_type=content_type
    )
    _is_problem(response, status)
    assert _count(app) == 0


@pytest.mark.parametrize(
    "change, field",
    [
        ({"patient_id": "1"}, "patient_id"),  # a string where an integer goes
        ({"patient_id": 1.5}, "patient_id"),
        ({"chair_id": None}, "chair_id"),
        ({"chair_id": -3}, "chair_id"),
        ({"start_at": "2027-01-14T09:00:00"}, "start_at"),  # no offset: which 09:00?
        ({"start_at": "next Tuesday"}, "start_at"),
        ({"notes": ["a", "list"]}, "notes"),
        ({"notes": "x" * 2001}, "notes"),
        ({"colour": "blue"}, "colour"),  # an unknown field
        ({"patient_id": 2**40}, "patient_id"),
    ],
)
def test_wrong_types_and_unknown_fields_name_the_field(
    client, app, api_token, clinic, change, field
):
    """Wrong types, out-of-range ids, a time without offset, unknown fields: 422 naming the field."""
    body = {**clinic, **change}
    problem = _is_problem(
        client.post("/api/v1/appointments", headers=bearer(api_token()), json=body), 422
    )
    assert field in [e.get("field") for e in problem["errors"]]
    assert problem["errors"][0]["pointer"].startswith("#/")
    assert _count(app) == 0


def test_missing_fields_each_named(client, app, api_token, clinic):
    """An empty object names every required field."""
    problem = _is_problem(
        client.post("/api/v1/appointments", headers=bearer(api_token()), json={}), 422
    )
    assert {e["field"] for e in problem["errors"]} == {
        "patient_id",
        "appointment_type_id",
        "chair_id",
        "start_at",
    }


def test_unknown_ids_are_field_errors(client, app, api_token, clinic):
    """An id that names no row is a 422 on that field, not a server error."""
    problem = _is_problem(
        client.post(
            "/api/v1/appointments", headers=bearer(api_token()), json={**clinic, "chair_id": 999999}
        ),
        422,
    )
    assert problem["errors"][0]["field"] == "chair_id"


def test_oversized_body_is_413(client, app, api_token, clinic):
    """A body over the limit is refused before it is read."""
    body = json.dumps({**clinic, "notes": "x" * (MAX_BODY_BYTES + 10)})
    _is_problem(
        client.post(
            "/api/v1/appointments",
            headers=bearer(api_token()),
            data=body,
            content_type="application/json",
        ),
        413,
    )
    assert _count(app) == 0


def test_nul_characters_refused(client, app, api_token, clinic):
    """NUL in a body or query string is a 4xx problem (PostgreSQL cannot store it)."""
    _is_problem(
        client.post(
            "/api/v1/appointments", headers=bearer(api_token()), json={**clinic, "notes": "a\x00b"}
        ),
        422,
    )
    _is_problem(client.get("/api/v1/patients?q=a%00b", headers=bearer(api_token())), 400)
    assert _count(app) == 0


def test_unknown_address_and_method_are_problems(client, api_token):
    """A URL or a method the API does not have is a problem document, not an HTML page."""
    _is_problem(client.get("/api/v1/no-such-thing", headers=bearer(api_token())), 404)
    _is_problem(client.delete("/api/v1/appointments", headers=bearer(api_token())), 405)
    _is_problem(client.get("/api/v1/appointments/424242", headers=bearer(api_token())), 404)


def test_list_needs_a_day_or_a_patient(client, api_token):
    """Listing appointments with neither a day nor a patient is a 422 naming day."""
    problem = _is_problem(client.get("/api/v1/appointments", headers=bearer(api_token())), 422)
    assert problem["errors"][0]["field"] == "day"
    _is_problem(client.get("/api/v1/appointments?day=2027-02-30", headers=bearer(api_token())), 422)
    _is_problem(
        client.get(
            "/api/v1/appointments?day=2027-01-04&per_page=1000", headers=bearer(api_token())
        ),
        422,
    )
