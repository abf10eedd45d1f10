"""Fixtures of the API tests: tokens for a role and scope, and a frozen clock."""

import pytest

from tracker.api.tokens import issue_token
from tracker.extensions import db

from .. import schedule_fixtures
from ..factories import make_user

frozen_clock = schedule_fixtures.frozen_clock  # the booking services' clock, as a fixture here


@pytest.fixture
def api_token(app):
    """api_token("frontdesk", "write") makes a staff member and a token for them: the secret."""

    def _make(role: str = "frontdesk", scope: str = "write") -> str:
        with app.app_context():
            user = make_user(role=role)
            _token, secret = issue_token(user, scope=scope, name=f"{role} test", actor="test")
            db.session.commit()
        return secret

    return _make


@pytest.fixture
def api_clock(request):
    """The app's clock frozen at schedule_fixtures.NOW (the API's 'today' is its Monday)."""
    return request.getfixturevalue("frozen_clock")
