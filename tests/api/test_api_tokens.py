"""Issuing and revoking API tokens: the admin page (shown once, stored hashed, last use shown)
and `flask create-api-token`."""

import re

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import ApiToken, AuditEvent
from tracker.secret_tokens import stored_form

from ..factories import make_user
from .helpers import bearer


def _staff(app, role="frontdesk") -> tuple[int, str]:
    with app.app_context():
        user = make_user(role=role)
        db.session.commit()
        return user.id, user.email


def test_admin_issues_a_token_shown_once_and_stored_hashed(app, client, login_as):
    """The secret appears in the answer to the POST only; the database holds its SHA-256."""
    login_as("admin")
    user_id, email = _staff(app)
    response = client.post(
        "/admin/api-tokens/",
        data={"user_id": str(user_id), "name": "Referral system", "scope": "read"},
    )
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    secret = re.search(r'id="new-secret"[^>]*value="(trk_[^"]+)"', html).group(1)
    assert "shown only this once" in html
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        assert token.token_hash == stored_form(secret) and secret not in (
            token.prefix + token.token_hash
        )
        assert (token.user_id, token.scope, token.name) == (user_id, "read", "Referral system")
        assert (
            db.session.scalar(select(AuditEvent).where(AuditEvent.entity == "api_token")).action
            == "create"
        )
    assert client.get("/api/v1/patients", headers=bearer(secret)).status_code == 200
    listing = client.get("/admin/api-tokens/").get_data(as_text=True)
    assert secret not in listing and token.prefix in listing and email in listing
    row = re.search(
        r"<tr>\s*<td><code>" + re.escape(token.prefix) + r".*?</tr>", listing, re.S
    ).group(0)
    assert "Read only" in row and ">never<" not in row  # its last use is shown


def test_issue_form_errors_keep_nothing(app, client, login_as):
    """No staff member chosen: a field error and no token."""
    login_as("admin")
    response = client.post("/admin/api-tokens/", data={"user_id": "", "scope": "write"})
    assert response.status_code == 400 and "Choose a staff member" in response.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalar(select(ApiToken)) is None


def test_revoke_needs_the_box_ticked(app, client, login_as):
    """Revoking without ticking changes nothing; ticked, the token stops working at once."""
    login_as("admin")
    user_id, _ = _staff(app)
    html = client.post(
        "/admin/api-tokens/", data={"user_id": str(user_id), "scope": "write"}
    ).get_data(as_text=True)
    secret = re.search(r'value="(trk_[^"]+)"', html).group(1)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    assert client.post(f"/admin/api-tokens/{token_id}/revoke", data={}).status_code == 303
    assert client.get("/api/v1/patients", headers=bearer(secret)).status_code == 200
    assert (
        client.post(f"/admin/api-tokens/{token_id}/revoke", data={"sure": "y"}).status_code == 303
    )
    assert client.get("/api/v1/patients", headers=bearer(secret)).status_code == 401
    assert "revoked" in client.get("/admin/api-tokens/").get_data(as_text=True)


def test_only_admins_reach_the_tokens_page(app, client, login_as):
    """Front desk and clinicians get 403 on the tokens page."""
    login_as("clinician")
    assert client.get("/admin/api-tokens/").status_code == 403


def test_cli_prints_a_working_token(app, runner, client):
    """`create-api-token EMAIL --scope write` prints the secret, which then authenticates."""
    _, email = _staff(app, "clinician")
    result = runner.invoke(
        args=["create-api-token", email.upper(), "--scope", "write", "--name", "EHR"]
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[0]
    assert secret.startswith("trk_")
    assert client.get("/api/v1/worklist", headers=bearer(secret)).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(ApiToken.scope)) == "write"


def test_cli_refuses_an_unknown_email(app, runner):
    """An address no staff account has: exit 1, a message naming the field, no token."""
    result = runner.invoke(args=["create-api-token", "nobody@clinic.test", "--scope", "read"])
    assert result.exit_code == 1 and "email:" in result.output
    with app.app_context():
        assert db.session.scalar(select(ApiToken)) is None
