"""Two patients choosing the same time at once, through real HTTP requests to a served app:
exactly one gets the hold (and the booking), the other is told the time was just taken."""

import http.cookiejar
import re
import threading
import time as clock
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tracker.extensions import db
from tracker.models import Appointment, SlotHold
from tracker.patient_links import holds
from tracker.patient_links.tokens import make_token

from .conftest import build_app
from .patient_link_fixtures import csrf_token, due_patient, open_clinic, slot_values

pytestmark = pytest.mark.slow
PATIENTS = 4


class Browserless:
    """One patient's HTTP client: its own cookies (session and CSRF token)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, fields: dict) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(fields).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=30) as response:
                return (
                    response.status,
                    response.headers.get("Location", ""),
                    response.read().decode(),
                )
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Keep 303s as answers: the test reads where they point."""

    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The app with CSRF on, served for real on 127.0.0.1 by a threaded server."""
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    real_check = holds.check_free

    def check_then_wait(*args, **kwargs):  # widen the window between the check and the insert
        real_check(*args, **kwargs)
        clock.sleep(0.2)

    monkeypatch.setattr(holds, "check_free", check_then_wait)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_racing_patients_exactly_one_holds_and_books(served):
    """Four patients post the same time at the same moment: one hold, one booking; the others
    see 'just been taken' and nothing of theirs is saved."""
    app, base = served
    with app.app_context():
        open_clinic(chairs=1)
        tokens = []
        for _ in range(PATIENTS):
            patient, course = due_patient()
            with app.test_request_context():
                tokens.append(make_token("book", patient.id, course.id))
        db.session.commit()
    clients = [Browserless(base) for _ in tokens]
    pages = [client.get(f"/my/book/{token}") for client, token in zip(clients, tokens, strict=True)]
    slot = slot_values(pages[0])[0]
    assert all(slot in slot_values(page) for page in pages)
    barrier = threading.Barrier(PATIENTS)
    answers: list = [None] * PATIENTS

    def choose(index: int) -> None:
        fields = {"slot": slot, "csrf_token": csrf_token(pages[index])}
        barrier.wait(timeout=10)
        answers[index] = clients[index].post(f"/my/book/{tokens[index]}", fields)

    threads = [threading.Thread(target=choose, args=(n,)) for n in range(PATIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(answer[0] for answer in answers)
    assert codes == [303] + [409] * (PATIENTS - 1), codes
    assert all("just been taken" in body for code, _, body in answers if code == 409)
    winner = next(n for n, answer in enumerate(answers) if answer[0] == 303)
    held_path = urllib.parse.urlsplit(answers[winner][1]).path
    held_page = clients[winner].get(held_path)
    code, _, _ = clients[winner].post(held_path, {"csrf_token": csrf_token(held_page)})
    assert code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(SlotHold.id))) == 0
        assert db.session.scalar(select(func.count(Appointment.id))) == 1
    assert re.search(r"your visit is booked", clients[winner].get(f"/my/book/{tokens[winner]}"))
