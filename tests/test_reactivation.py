"""Reactivation: overdue and lapsed patients are asked to book again, by email through the
outbox, at most the clinic's number of times and that many days apart, each message once and
with the book-my-visit link; then they stay on the worklist marked "no response". Each message
shows in the patient's outreach log, and staff can stop them for one patient."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Patient, Reminder
from tracker.patient_links.tokens import read_token
from tracker.reminders.clock import Clock
from tracker.reminders.planning import plan
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from .conftest import build_app, login
from .factories import local_noon, make_user
from .patient_link_fixtures import assert_no_clinical_words
from .reminder_fixtures import SMTPServer, book, local, maintenance_patient

ANCHOR = date(2026, 1, 2)  # window 2026-02-01 .. 2026-04-02: overdue from 2026-04-03
FIRST_DAY = date(2026, 4, 10)


@pytest.fixture
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(tmp_path, smtp):
    """An app sending through the test's SMTP server, inside an app context."""
    app = build_app(tmp_path, **smtp.config())
    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def _sweep(day: date, hour: int = 10):
    return run_sweep(clock=Clock.for_settings(local(day, hour), get_settings()))


def _rows():
    return db.session.scalars(
        select(Reminder).where(Reminder.kind == "reactivation").order_by(Reminder.id)
    ).all()


def _overdue(**patient_kw):
    patient, course = maintenance_patient(ANCHOR, **patient_kw)
    course.indication = "CRPS pain, depression"
    db.session.commit()
    return patient, course


def test_two_messages_fourteen_days_apart_then_no_more(mail_app, smtp):
    """The first message goes on the first sweep, once; the second 14 days after it; none after."""
    patient, course = _overdue()
    assert _sweep(FIRST_DAY).sent == 1
    assert _sweep(FIRST_DAY, 15).sent == 0
    assert _sweep(FIRST_DAY + timedelta(days=13)).sent == 0
    assert _sweep(FIRST_DAY + timedelta(days=14)).sent == 1
    for later in (28, 60, 200):
        assert _sweep(FIRST_DAY + timedelta(days=later)).sent == 0
    assert [(r.status, r.dedupe_key) for r in _rows()] == [
        ("sent", f"reactivation:p{patient.id}:{ANCHOR.isoformat()}:1"),
        ("sent", f"reactivation:p{patient.id}:{ANCHOR.isoformat()}:2"),
    ]
    assert len(smtp.messages) == 2
    message = smtp.messages[0]
    assert message["To"] == patient.email
    text = message.get_body(("plain",)).get_content()
    token = re.search(r"/my/book/(\S+)", text).group(1)
    with mail_app.test_request_context():
        link = read_token("book", token)
    assert (link.patient_id, link.target_id) == (patient.id, course.id)
    for body in (text, message.get_body(("html",)).get_content(), message["Subject"]):
        assert_no_clinical_words(body)
        assert patient.last_name not in body


def test_settings_number_and_interval_are_the_clinics(mail_app, smtp):
    """Three messages seven days apart when the clinic says so; none when it says 0."""
    settings = get_settings()
    settings.reactivation_messages, settings.reactivation_interval_days = 3, 7
    _overdue()
    sent = [_sweep(FIRST_DAY + timedelta(days=n)).sent for n in range(0, 22)]
    assert sum(sent) == 3 and [n for n, s in enumerate(sent) if s] == [0, 7, 14]
    settings.reactivation_messages = 0
    _overdue()
    db.session.commit()
    assert _sweep(FIRST_DAY + timedelta(days=30)).sent == 0
    assert len(_rows()) == 3


def test_planning_twice_plans_each_message_once(mail_app, smtp):
    """Two planning passes (two schedulers) plan the next message once."""
    _overdue()
    clock = Clock.for_settings(local(FIRST_DAY, 10), get_settings())
    assert plan(clock, get_settings()).planned >= 1
    assert plan(clock, get_settings()).planned == 0
    assert len(_rows()) == 1


def test_only_overdue_unbooked_patients_who_may_be_emailed(mail_app, smtp):
    """Due (window open), booked, no consent and opted-out patients get no reactivation."""
    maintenance_patient(date(2026, 3, 1))  # window open on FIRST_DAY
    booked, booked_course = maintenance_patient(ANCHOR)
    book(booked, booked_course, local(FIRST_DAY + timedelta(days=5), 10))
    maintenance_patient(ANCHOR, email_consent=False)
    opted, _ = maintenance_patient(ANCHOR)
    opted.email_opt_out_at = local(FIRST_DAY, 8)
    db.session.commit()
    _sweep(FIRST_DAY)
    assert _rows() == []


def test_booking_withdraws_the_next_message(mail_app, smtp):
    """After the first message the patient books: the second is withdrawn, never sent."""
    patient, course = _overdue()
    assert _sweep(FIRST_DAY).sent == 1
    _sweep(FIRST_DAY + timedelta(days=1))  # plans the second, due in 13 days
    book(patient, course, local(FIRST_DAY + timedelta(days=20), 10))
    db.session.commit()
    assert _sweep(FIRST_DAY + timedelta(days=14)).sent == 0
    assert [(r.status, r.skip_reason) for r in _rows()] == [
        ("sent", None),
        ("cancelled", "appointment booked"),
    ]


def test_outside_send_hours_the_message_waits(mail_app, smtp):
    """A sweep at 22:00 plans the message but sends it only in the morning's send hours."""
    _overdue()
    assert _sweep(FIRST_DAY, 22).sent == 0
    assert [r.status for r in _rows()] == ["pending"]
    assert _sweep(FIRST_DAY + timedelta(days=1), 8).sent == 1


def test_staff_stop_and_restart_for_one_patient(mail_app, smtp, monkeypatch):
    """Stopping withdraws the waiting message and plans no more; it shows on the patient page;
    restarting plans the next one again. Both are audited."""
    patient, _ = _overdue()
    other, _ = _overdue()
    assert _sweep(FIRST_DAY).sent == 2
    _sweep(FIRST_DAY + timedelta(days=1))
    user = make_user(role="frontdesk")
    db.session.commit()
    client = mail_app.test_client()
    login(client, user)
    url = f"/worklist/{patient.id}/reactivation"
    assert client.post(url, data={"stop": "yes"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).reactivation_stopped_at is not None
    mine = [r for r in _rows() if r.patient_id == patient.id]
    assert [(r.status, r.skip_reason) for r in mine] == [
        ("sent", None),
        ("cancelled", "messages stopped by staff"),
    ]
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Restart the emails asking to book" in page
    assert "Email asking to book: sent" in page and "Email asking to book: withdrawn" in page
    _sweep(FIRST_DAY + timedelta(days=14))
    sent = [(r.patient_id, r.status) for r in _rows() if r.status == "sent"]
    assert sent == [(patient.id, "sent"), (other.id, "sent"), (other.id, "sent")]
    assert len([r for r in _rows() if r.patient_id == patient.id]) == 2
    assert client.post(url, data={"stop": "no"}).status_code == 303
    _sweep(FIRST_DAY + timedelta(days=15))
    mine = [r for r in _rows() if r.patient_id == patient.id]
    assert [r.status for r in mine] == ["sent", "cancelled", "sent"]
    assert client.post(url, data={"stop": "maybe"}).status_code == 303  # refused, nothing changes
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).reactivation_stopped_at is None
    assert (
        client.post("/worklist/999999/reactivation", data={"stop": "yes"}).status_code == 404
    )  # no such patient


def test_worklist_marks_no_response_after_the_last_message(mail_app, smtp, freeze_clock):
    """After both messages the row says "No response"; after one it counts the emails."""
    patient, _ = _overdue(last_name="Quillfeather")
    user = make_user(role="frontdesk")
    db.session.commit()
    client = mail_app.test_client()
    _sweep(FIRST_DAY)
    freeze_clock(local_noon(FIRST_DAY + timedelta(days=1)))
    login(client, user)
    page = client.get("/worklist/").get_data(as_text=True)
    row = page[page.index("Quillfeather") :].split("</tr>")[0]
    assert "1 email asking to book" in row and "No response" not in row
    _sweep(FIRST_DAY + timedelta(days=14))
    freeze_clock(local_noon(FIRST_DAY + timedelta(days=30)))
    login(client, user)  # four weeks on: the earlier session has timed out
    page = client.get("/worklist/").get_data(as_text=True)
    row = page[page.index("Quillfeather") :].split("</tr>")[0]
    assert "2 emails asking to book" in row and "No response" in row


def test_the_first_wave_is_spread_over_sweeps(mail_app, smtp):
    """With more overdue patients than REACTIVATION_PER_SWEEP, each sweep plans that many (the
    most recently overdue first) and the next sweep the rest."""
    mail_app.config["REACTIVATION_PER_SWEEP"] = 2
    recent, _ = maintenance_patient(ANCHOR + timedelta(days=5))
    older = [maintenance_patient(ANCHOR)[0] for _ in range(2)]
    db.session.commit()
    assert _sweep(FIRST_DAY).sent == 2
    first = {r.patient_id for r in _rows()}
    assert recent.id in first
    assert _sweep(FIRST_DAY, 11).sent == 1
    assert {r.patient_id for r in _rows()} == {recent.id, *(p.id for p in older)}
