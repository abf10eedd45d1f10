"""The reminders log, its retry and cancel actions, the patient page list and the heartbeat warning."""
import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from tracker.extensions import db
from tracker.models import AuditEvent, Reminder, SchedulerHeartbeat, utcnow
from tracker.reminders.heartbeat import beat

from .conftest import build_app, login
from .factories import make_patient, make_user
from .reminder_fixtures import local


def add_reminder(patient=None, user=None, **kw) -> Reminder:
    """An outbox row as the sweep would leave it."""
    values = dict(kind="window_upcoming", status="pending", due_at=local(date(2026, 3, 25), 8),
                  anchor_date=date(2026, 3, 2))
    values.update(kw)
    values.setdefault("dedupe_key", f"test:{values['kind']}:{utcnow().timestamp()}:{id(values)}")
    reminder = Reminder(patient_id=patient.id if patient else None, user_id=user.id if user else None, **values)
    db.session.add(reminder)
    db.session.flush()
    return reminder


@pytest.fixture
def log_rows(app):
    """Two patients' reminders in several states, and a staff digest; returns their ids."""
    with app.app_context():
        ada = make_patient(first_name="Ada", last_name="Lovelace", mrn="MRN-ADA")
        bo = make_patient(first_name="Bo", last_name="Diddley", mrn="MRN-BO")
        desk = make_user(role="frontdesk", name="Desk Person")
        ids = {
            "failed": add_reminder(ada, status="failed", attempts=5, last_error="mail server unavailable").id,
            "pending": add_reminder(ada, kind="window_closing", due_at=local(date(2026, 5, 17), 8)).id,
            "sent": add_reminder(bo, kind="appointment", status="sent", sent_at=utcnow()).id,
            "digest": add_reminder(user=desk, kind="staff_digest", status="sent").id,
            "ada": ada.id, "bo": bo.id,
        }
        db.session.commit()
        return ids


def page_text(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_log_needs_login(client):
    """The reminders log is behind the login wall."""
    response = client.get("/reminders/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_log_lists_and_filters(client, login_as, log_rows):
    """Front desk sees every reminder, and filters by status, kind and patient (name, MRN or id)."""
    login_as("frontdesk")
    everything = page_text(client, "/reminders/")
    assert "4 reminders" in everything and "Lovelace, Ada" in everything and "Desk Person" in everything
    assert "mail server unavailable" in everything
    failed = page_text(client, "/reminders/?status=failed")
    assert "1 reminder." in failed and "Lovelace, Ada" in failed and "Diddley" not in failed
    assert "1 reminder." in page_text(client, "/reminders/?kind=staff_digest")
    by_name = page_text(client, "/reminders/?patient=lovelace")
    assert "2 reminders" in by_name and "Diddley" not in by_name
    assert "1 reminder." in page_text(client, "/reminders/?patient=MRN-BO")
    by_id = page_text(client, f"/reminders/?patient_id={log_rows['ada']}")
    assert "2 reminders" in by_id and "Showing the reminders of Ada Lovelace" in by_id
    assert "No reminders match" in page_text(client, "/reminders/?patient=nobody%25")


def test_patient_filter_takes_wildcards_literally(client, login_as, log_rows):
    """In the patient filter % and _ match only themselves; a name prefix matches in any case."""
    login_as("frontdesk")
    assert "2 reminders" in page_text(client, "/reminders/?patient=LOVE")
    assert "No reminders match" in page_text(client, "/reminders/?patient=love_ace")
    assert "No reminders match" in page_text(client, "/reminders/?patient=%25")


def test_bad_filter_shows_field_error(client, login_as, log_rows):
    """An impossible filter value gets a field error and an empty list, never a 500."""
    login_as("frontdesk")
    text = page_text(client, "/reminders/?status=exploded&patient_id=abc")
    assert "Not a valid choice" in text and 'class="error"' in text
    assert "No reminders match" in text


def test_retry_failed_reminder(app, client, login_as, log_rows):
    """Retry puts a failed reminder back to pending with fresh attempts, audited; PRG back to the log."""
    user = login_as("frontdesk")
    response = client.post(f"/reminders/{log_rows['failed']}/retry", data={"back": "/reminders/?status=failed"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/reminders/?status=failed")
    with app.app_context():
        row = db.session.get(Reminder, log_rows["failed"])
        assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, None)
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.entity == "reminder"))
        assert (audit.action, audit.user_id, audit.patient_id) == ("retry", user.id, log_rows["ada"])
    assert "queued again" in page_text(client, "/reminders/")


def test_cancel_pending_reminder(app, client, login_as, log_rows):
    """Cancel turns a pending reminder into a cancelled one with the reason."""
    login_as("frontdesk")
    assert client.post(f"/reminders/{log_rows['pending']}/cancel").status_code == 303
    with app.app_context():
        row = db.session.get(Reminder, log_rows["pending"])
        assert (row.status, row.skip_reason) == ("cancelled", "cancelled by staff")


@pytest.mark.parametrize("action, key", [("retry", "pending"), ("retry", "sent"), ("cancel", "sent"),
                                         ("cancel", "failed")])
def test_action_in_wrong_state_changes_nothing(app, client, login_as, log_rows, action, key):
    """Retrying what has not failed or cancelling what is not pending is refused with a message."""
    login_as("frontdesk")
    with app.app_context():
        before = db.session.get(Reminder, log_rows[key]).status
    response = client.post(f"/reminders/{log_rows[key]}/{action}", follow_redirects=True)
    assert response.status_code == 200
    assert "Only a" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Reminder, log_rows[key]).status == before


def test_actions_are_post_only_and_need_front_desk(client, login_as, log_rows):
    """A GET does nothing (405); a clinician may read the log but not retry or cancel (403)."""
    login_as("clinician")
    assert client.get("/reminders/").status_code == 200
    assert client.get(f"/reminders/{log_rows['failed']}/retry").status_code == 405
    assert client.post(f"/reminders/{log_rows['failed']}/retry").status_code == 403
    assert client.post(f"/reminders/{log_rows['pending']}/cancel").status_code == 403


def test_unknown_reminder_is_404(client, login_as):
    """Acting on a reminder that does not exist (or an absurd id) answers 404, never a 500."""
    login_as("frontdesk")
    assert client.post("/reminders/999999/retry").status_code == 404
    assert client.post("/reminders/99999999999999999999999/cancel").status_code == 404
    text = page_text(client, "/reminders/?patient_id=99999999999999999999999&page=-3")
    assert "Number must be between" in text


def test_offsite_back_link_is_ignored(client, login_as, log_rows):
    """The return path after an action never leaves the site."""
    login_as("frontdesk")
    response = client.post(f"/reminders/{log_rows['pending']}/cancel", data={"back": "//evil.example/x"})
    assert response.headers["Location"].endswith("/reminders/")


def test_back_link_a_browser_reads_as_offsite_is_ignored(client, login_as, log_rows):
    """A return path with a backslash (which browsers read as a slash) never leaves the site."""
    login_as("frontdesk")
    response = client.post(f"/reminders/{log_rows['pending']}/cancel", data={"back": "/\\evil.example/x"})
    assert response.headers["Location"].endswith("/reminders/")


@contextmanager
def counting_queries():
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_log_page_queries_are_bounded(app, client, login_as):
    """The log page runs the same number of queries for 3 reminders as for 40."""
    login_as("frontdesk")
    counts = []
    for total in (3, 40):
        with app.app_context():
            for n in range(total - (3 if counts else 0)):
                patient = make_patient()
                add_reminder(patient, dedupe_key=f"bounded:{total}:{n}")
            add_reminder(user=make_user(role="frontdesk"), kind="staff_digest", dedupe_key=f"digest:{total}")
            db.session.commit()
        with app.app_context(), counting_queries() as statements:
            client.get("/reminders/")
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_patient_page_lists_the_patients_reminders(app, client, login_as, log_rows):
    """The patient page includes the reminders planned and sent for that patient only."""
    login_as("frontdesk")
    text = page_text(client, f"/patients/{log_rows['ada']}")
    section = text[text.index('id="reminders-heading"'):]
    assert "window closing" in section and "window upcoming" in section
    assert "mail server unavailable" in section
    assert f"/reminders/?patient_id={log_rows['ada']}" in section
    other = page_text(client, f"/patients/{log_rows['bo']}")
    assert "window closing" not in other[other.index('id="reminders-heading"'):]


def test_heartbeat_warning_for_admins(app, client, login_as):
    """Admins are warned when no scheduler ever beat, or when the last beat is stale; not when fresh."""
    login_as("admin")
    assert "reminder scheduler is not running" in page_text(client, "/reminders/")
    with app.app_context():
        beat("host:1")
    assert "reminder scheduler" not in page_text(client, "/reminders/")
    with app.app_context():
        row = db.session.get(SchedulerHeartbeat, "host:1")
        row.beat_at = utcnow() - timedelta(minutes=16)
        db.session.commit()
    assert "stopped reporting" in page_text(client, "/reminders/")


def test_front_desk_sees_no_heartbeat_warning(client, login_as):
    """The scheduler warning is for admins only."""
    login_as("frontdesk")
    assert "reminder scheduler" not in page_text(client, "/reminders/")


@pytest.fixture
def csrf_client(tmp_path):
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    yield app, app.test_client()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_actions_need_csrf_token(csrf_client):
    """With CSRF on, an action without the form's token is refused; with it, it works."""
    app, client = csrf_client
    with app.app_context():
        desk = make_user(role="frontdesk")
        row = add_reminder(make_patient())
        db.session.commit()
        row_id, desk_email = row.id, desk.email
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": desk_email, "password": "correct horse battery staple",
                                "csrf_token": token})
    assert client.post(f"/reminders/{row_id}/cancel").status_code == 400
    page = client.get("/reminders/").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post(f"/reminders/{row_id}/cancel", data={"csrf_token": form_token}).status_code == 303
    with app.app_context():
        assert db.session.get(Reminder, row_id).status == "cancelled"
