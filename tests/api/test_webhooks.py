"""Signed webhooks end to end: events from real bookings through the outbox to a real local
HTTP server, signatures checked, retries with back-off, exactly once with two schedulers."""

import json
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import WebhookDelivery, WebhookEndpoint, utcnow
from tracker.services import appointments as service
from tracker.services.clinic import clinic_today
from tracker.webhooks.events import plan_date_events
from tracker.webhooks.sending import MAX_ATTEMPTS, SweepResult, deliver_due, run_sweep
from tracker.webhooks.signing import signature, verify

from ..schedule_fixtures import MONDAY, NOW, at, maintenance_patient, setup_clinic
from .helpers import bearer
from .receiver import Receiver

CLINICAL_WORDS = ("infusion", "ketamine", "pain", "crps", "maintenance")


def _endpoint(app, url: str, events=None) -> tuple[int, str]:
    with app.app_context():
        from tracker.webhooks.signing import new_secret

        endpoint = WebhookEndpoint(
            url=url,
            events=" ".join(
                events
                or [
                    "appointment.booked",
                    "appointment.moved",
                    "appointment.cancelled",
                    "appointment.no_show",
                    "appointment.fulfilled",
                    "window.opened",
                    "patient.lapsed",
                ]
            ),
            secret=new_secret(),
        )
        db.session.add(endpoint)
        db.session.commit()
        return endpoint.id, endpoint.secret


@pytest.fixture
def clinic(app, api_clock):
    """Chairs, hours and types, and a maintenance patient (window opens 2027-01-14)."""
    with app.app_context():
        setup = setup_clinic()
        patient, course = maintenance_patient(
            date(2026, 12, 15), first_name="Zelda", last_name="Quartz"
        )
        db.session.commit()
        return {
            "patient": patient.id,
            "course": course.id,
            "chairs": [c.id for c in setup["chairs"]],
            "maintenance": setup["maintenance"].id,
        }


def _book(client, secret, clinic, start="2027-01-14T09:00:00-05:00"):
    response = client.post(
        "/api/v1/appointments",
        headers=bearer(secret),
        json={
            "patient_id": clinic["patient"],
            "appointment_type_id": clinic["maintenance"],
            "chair_id": clinic["chairs"][0],
            "start_at": start,
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _sweep(app):
    with app.app_context():
        return deliver_due(SweepResult(), "test-worker", utcnow())


def test_booking_cancelling_and_moving_are_delivered_signed(app, client, clinic, api_token):
    """Booked, moved (one event, not a cancellation too) and cancelled reach the receiver, each
    signed with the endpoint's secret, carrying ids and times and nothing clinical."""
    secret = api_token("frontdesk")
    with Receiver() as receiver:
        _, receiver.secret = _endpoint(app, receiver.url)
        first = _book(client, secret, clinic)
        moved = client.post(
            f"/api/v1/appointments/{first['id']}/move",
            headers=bearer(secret, **{"If-Match": first["etag"]}),
            json={
                "chair_id": clinic["chairs"][1],
                "start_at": "2027-01-15T10:00:00-05:00",
                "reason": "patient",
            },
        ).get_json()
        client.post(
            f"/api/v1/appointments/{moved['id']}/cancel",
            headers=bearer(secret, **{"If-Match": moved["etag"]}),
            json={"reason": "clinic"},
        )
        result = _sweep(app)
    assert result.delivered == 3, [r["json"]["type"] for r in receiver.received]
    events = [r["json"]["type"] for r in receiver.received]
    assert events == ["appointment.booked", "appointment.moved", "appointment.cancelled"]
    assert all(r["signed"] for r in receiver.received)
    moved_data = receiver.received[1]["json"]["data"]
    assert moved_data["appointment_id"] == first["id"]  # moved in place: the same appointment
    assert moved_data["previous_chair_id"] == clinic["chairs"][0]
    assert moved_data["previous_start_at"] == "2027-01-14T14:00:00+00:00"
    assert moved_data["start_at"] == "2027-01-15T15:00:00+00:00"
    assert receiver.received[2]["json"]["data"]["cancel_reason"] == "clinic"
    assert receiver.received[0]["headers"]["Tracker-Event"] == "appointment.booked"
    text = b" ".join(r["body"] for r in receiver.received).decode().lower()
    assert (
        "zelda" not in text
        and "quartz" not in text
        and not [w for w in CLINICAL_WORDS if w in text]
    )
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).where(WebhookDelivery.status == "delivered"))
            == 3
        )


def test_a_refused_booking_announces_nothing(app, client, clinic, api_token):
    """A booking the rules refuse (a Sunday) is rolled back, and no delivery is queued."""
    _endpoint(app, "http://127.0.0.1:9/unused")
    response = client.post(
        "/api/v1/appointments",
        headers=bearer(api_token()),
        json={
            "patient_id": clinic["patient"],
            "appointment_type_id": clinic["maintenance"],
            "chair_id": clinic["chairs"][0],
            "start_at": "2027-01-17T09:00:00-05:00",
        },
    )
    assert response.status_code in (409, 422)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_only_the_chosen_events_are_queued(app, client, clinic, api_token):
    """An endpoint that asked for cancellations only gets no booked event."""
    _endpoint(app, "http://127.0.0.1:9/unused", events=["appointment.cancelled"])
    _book(client, api_token(), clinic)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_no_show_and_fulfilled_events(app, clinic):
    """Status changes by the services (no-show, completing a session) become their events."""
    with Receiver() as receiver:
        _, receiver.secret = _endpoint(
            app, receiver.url, events=["appointment.no_show", "appointment.fulfilled"]
        )
        with app.app_context():
            from tracker.models import AppointmentType, Chair, Patient

            from ..schedule_fixtures import add_appointment

            patient = db.session.get(Patient, clinic["patient"])
            kind = db.session.get(AppointmentType, clinic["maintenance"])
            missed = add_appointment(
                patient,
                db.session.get(Chair, clinic["chairs"][0]),
                kind,
                at(MONDAY - timedelta(days=3), 9),
            )
            kept = add_appointment(
                patient,
                db.session.get(Chair, clinic["chairs"][1]),
                kind,
                at(MONDAY - timedelta(days=2), 9),
                status="arrived",
            )
            db.session.commit()
            service.change_status(missed, "noshow", actor="test", now=NOW)
            service.change_status(kept, "fulfilled", actor="test", now=NOW)
            db.session.commit()
        _sweep(app)
    assert sorted(r["json"]["type"] for r in receiver.received) == [
        "appointment.fulfilled",
        "appointment.no_show",
    ]


def test_failed_answers_retry_with_backoff_then_give_up(app, clinic):
    """A 500 is retried later (back-off), a 200 then delivers; always failing ends as failed."""
    with Receiver() as receiver:
        endpoint_id, receiver.secret = _endpoint(app, receiver.url)
        receiver.answers = [500]
        with app.app_context():
            from tracker.webhooks.events import body_for

            db.session.add(
                WebhookDelivery(
                    endpoint_id=endpoint_id,
                    event="appointment.booked",
                    dedupe_key="retry-1",
                    body=body_for("appointment.booked", utcnow(), {}),
                )
            )
            db.session.commit()
        assert _sweep(app).retrying == 1
        with app.app_context():
            row = db.session.scalar(select(WebhookDelivery))
            assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
            assert row.next_attempt_at > utcnow() + timedelta(seconds=50)
            row.next_attempt_at = utcnow()
            db.session.commit()
        assert _sweep(app).delivered == 1
        assert len(receiver.received) == 2
        receiver.answers = [503] * MAX_ATTEMPTS
        with app.app_context():
            db.session.add(
                WebhookDelivery(
                    endpoint_id=endpoint_id,
                    event="appointment.booked",
                    dedupe_key="retry-2",
                    body="{}",
                )
            )
            db.session.commit()
        for _ in range(MAX_ATTEMPTS):
            _sweep(app)
            with app.app_context():
                db.session.execute(
                    WebhookDelivery.__table__.update()
                    .where(WebhookDelivery.dedupe_key == "retry-2")
                    .values(next_attempt_at=utcnow() - timedelta(seconds=1))
                )
                db.session.commit()
        with app.app_context():
            row = db.session.scalar(
                select(WebhookDelivery).where(WebhookDelivery.dedupe_key == "retry-2")
            )
            assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)


@pytest.mark.slow
def test_two_schedulers_deliver_each_event_exactly_once(app, make_app):
    """Two scheduler apps draining the same outbox at once: every delivery arrives once."""
    second = make_app()  # first: on PostgreSQL a new app empties the shared test database
    with Receiver() as receiver:
        endpoint_id, receiver.secret = _endpoint(app, receiver.url)
        with app.app_context():
            from tracker.webhooks.events import body_for

            for n in range(40):
                db.session.add(
                    WebhookDelivery(
                        endpoint_id=endpoint_id,
                        event="appointment.booked",
                        dedupe_key=f"race-{n}",
                        body=body_for("appointment.booked", utcnow(), {"n": n}),
                    )
                )
            db.session.commit()
        barrier = threading.Barrier(2)
        done = []

        def drain(which, name):
            barrier.wait()
            with which.app_context():
                done.append(deliver_due(SweepResult(), name, utcnow()).delivered)

        threads = [
            threading.Thread(target=drain, args=(a, n)) for a, n in ((app, "one"), (second, "two"))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    ids = [r["headers"]["Tracker-Delivery"] for r in receiver.received]
    assert len(ids) == 40 and len(set(ids)) == 40 and sum(done) == 40
    assert all(r["signed"] for r in receiver.received)


def test_window_opened_and_lapsed_planned_once(app, clinic):
    """A window that opened and a patient who lapsed are each announced once per endpoint,
    however many sweeps (or schedulers) plan them."""
    from tracker.services.clinic import get_settings
    from tracker.status import clock_for

    _endpoint(app, "http://127.0.0.1:9/unused", events=["window.opened", "patient.lapsed"])
    with app.app_context():
        opened = maintenance_patient(date(2026, 12, 1))[1].id  # opened 2026-12-31, 4 days before
        lapsed = maintenance_patient(date(2026, 7, 2))[
            1
        ].id  # closed 2026-09-30, lapsed from 2026-12-30
        maintenance_patient(date(2026, 6, 1))  # lapsed from 2026-11-29: more than a week ago
        maintenance_patient(date(2026, 9, 1))  # lapses only from 2027-03-01
        db.session.commit()
        settings = get_settings()
        planned = [plan_date_events(db.session, clock_for(MONDAY, settings)) for _ in range(2)]
        db.session.commit()
        rows = db.session.execute(select(WebhookDelivery.event, WebhookDelivery.body)).all()
    assert planned == [2, 0]
    found = sorted((name, json.loads(body)["data"]["course_id"]) for name, body in rows)
    assert found == sorted([("window.opened", opened), ("patient.lapsed", lapsed)])
    lapsed_body = next(json.loads(b) for n, b in rows if n == "patient.lapsed")
    assert lapsed_body["data"]["window_closes"] == "2026-09-30"


def test_signature_check_and_replay_window():
    """The receiver's check: right secret and time pass; another secret, a changed body or a
    timestamp outside the window fail."""
    body, now = b'{"type": "appointment.booked"}', 1_800_000_000
    header = signature("whsec_a", now, body)
    assert verify("whsec_a", header, body, now + 10)
    assert not verify("whsec_b", header, body, now)
    assert not verify("whsec_a", header, body + b" ", now)
    assert not verify("whsec_a", header, body, now + 301)
    assert not verify("whsec_a", "t=oops,v1=00", body, now)


def test_admin_adds_endpoint_and_sends_a_test(app, client, login_as):
    """Admin adds an address with the form's defaults (every event), sees the secret once, sends
    a test that the receiver gets signed; the log shows it delivered."""
    login_as("admin")
    with Receiver() as receiver:
        from tracker.webhooks.forms import EVENT_LABELS

        response = client.post(
            "/admin/webhooks/", data={"url": receiver.url, "events": list(EVENT_LABELS)}
        )
        assert response.status_code == 201
        import re

        receiver.secret = re.search(
            r'id="new-secret"[^>]*value="(whsec_[^"]+)"', response.get_data(as_text=True)
        ).group(1)
        with app.app_context():
            endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
        assert client.post(f"/admin/webhooks/{endpoint_id}/test").status_code == 303
    assert len(receiver.received) == 1 and receiver.received[0]["signed"]
    assert receiver.received[0]["json"]["type"] == "webhook.test"
    page = client.get(f"/admin/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "delivered" in page and "Test event" in page


@pytest.mark.parametrize(
    "data, field_text",
    [
        ({"url": "ftp://example.org/x", "events": ["appointment.booked"]}, "https://"),
        ({"url": "https://example.org/x"}, "Choose at least one event."),
        ({"url": "", "events": ["appointment.booked"]}, "Enter the address."),
    ],
)
def test_bad_endpoint_form_saves_nothing(app, client, login_as, data, field_text):
    """A bad address or no event: the field's error, and nothing saved."""
    login_as("admin")
    response = client.post("/admin/webhooks/", data=data)
    assert response.status_code == 400 and field_text in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_run_sweep_plans_and_sends(app, clinic):
    """The scheduler's job plans date events and sends what is due, in one call."""
    with Receiver() as receiver:
        _, receiver.secret = _endpoint(app, receiver.url, events=["window.opened"])
        with app.app_context():
            maintenance_patient(clinic_today() - timedelta(days=31))  # its window opened yesterday
            db.session.commit()
            result = run_sweep()
    assert result.planned == 1 and result.delivered == 1
    assert (
        receiver.received[0]["json"]["type"] == "window.opened" and receiver.received[0]["signed"]
    )


def test_the_documented_signature_check_accepts_our_signatures():
    """The Python check printed in docs/api.md accepts a genuine signature and refuses a forged one."""
    import pathlib
    import re as regex
    import time

    docs = (pathlib.Path(__file__).parents[2] / "docs" / "api.md").read_text()
    code = regex.search(r"```python\n(.*?)```", docs, regex.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 (our own documentation)
    body, now = b'{"type": "window.opened"}', int(time.time())
    assert namespace["is_genuine"]("whsec_x", signature("whsec_x", now, body), body)
    assert not namespace["is_genuine"]("whsec_x", signature("whsec_y", now, body), body)
    assert not namespace["is_genuine"]("whsec_x", signature("whsec_x", now - 600, body), body)


def test_page_move_in_place_is_one_moved_event(app, client, clinic, api_token):
    """The schedule page's in-place move (services.appointments.move_appointment) is announced
    as one appointment.moved with where the visit was; no cancelled or booked event with it."""
    secret = api_token("frontdesk")
    with Receiver() as receiver:
        _, receiver.secret = _endpoint(app, receiver.url)
        first = _book(client, secret, clinic)
        with app.app_context():
            from tracker.models import Appointment, Chair

            visit = db.session.get(Appointment, first["id"])
            service.move_appointment(
                visit,
                chair=db.session.get(Chair, clinic["chairs"][2]),
                start_at=at(MONDAY + timedelta(days=11), 11),
                actor="test",
                reason="clinic",
                patient_agreed=True,
            )
            db.session.commit()
        result = _sweep(app)
    assert result.delivered == 2
    events = [r["json"]["type"] for r in receiver.received]
    assert events == ["appointment.booked", "appointment.moved"]
    moved = receiver.received[1]["json"]["data"]
    assert (moved["appointment_id"], moved["chair_id"], moved["previous_chair_id"]) == (
        first["id"],
        clinic["chairs"][2],
        clinic["chairs"][0],
    )
    assert "previous_appointment_id" not in moved
