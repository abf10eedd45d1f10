"""Patient links: signed and purpose-bound, the booking page and its holds, and a GET that never
changes anything."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Appointment, AuditEvent, Patient, SlotHold
from tracker.patient_links.tokens import LinkProblem, make_token, read_token

from .patient_link_fixtures import (
    assert_no_clinical_words,
    due_patient,
    open_clinic,
    slot_values,
    snapshot,
)


@pytest.fixture
def world(app):
    """A clinic open every day and a patient whose window is open, with their book link."""
    with app.app_context():
        clinic = open_clinic()
        patient, course = due_patient()
        db.session.commit()
        with app.test_request_context():
            token = make_token("book", patient.id, course.id)
        return {
            "patient_id": patient.id,
            "course_id": course.id,
            "token": token,
            "chairs": [c.id for c in clinic["chairs"]],
            "staff_chair": clinic["staff_chair"].id,
        }


def test_token_round_trip_and_purpose(app):
    """A link names its patient and target; one made for booking is refused as a manage link."""
    with app.test_request_context():
        token = make_token("book", 7, 9)
        link = read_token("book", token)
        assert (link.patient_id, link.target_id) == (7, 9)
        with pytest.raises(LinkProblem):
            read_token("manage", token)
        with pytest.raises(LinkProblem):
            read_token("book", token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_token_carries_no_personal_data(app, world):
    """The signed payload holds ids only: no name, email or date of birth."""
    import base64

    payload = world["token"].split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert decoded == f'{{"p":{world["patient_id"]},"c":{world["course_id"]}}}'


def test_expired_link_says_what_to_do(app, world):
    """An expired link gets a page pointing at the resend form, not the times."""
    app.config["PATIENT_LINK_MAX_AGE_DAYS"] = -1
    response = app.test_client().get(f"/my/book/{world['token']}")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "This link has expired" in body and "/my/links" in body
    assert slot_values(body) == []


def test_tampered_link_changes_nothing(app, world):
    """An altered token is refused for GET and POST, and nothing is held or booked."""
    client = app.test_client()
    bad = world["token"][:-3] + ("AAA" if not world["token"].endswith("AAA") else "BBB")
    with app.app_context():
        before = snapshot()
    assert client.get(f"/my/book/{bad}").status_code == 400
    good_slot = slot_values(client.get(f"/my/book/{world['token']}").get_data(as_text=True))[0]
    assert client.post(f"/my/book/{bad}", data={"slot": good_slot}).status_code == 400
    with app.app_context():
        assert snapshot() == before


def test_booking_page_shows_first_name_and_clinic_only(app, world):
    """The page greets by first name, names the clinic, and holds no clinical word or surname."""
    body = app.test_client().get(f"/my/book/{world['token']}").get_data(as_text=True)
    with app.app_context():
        patient = db.session.get(Patient, world["patient_id"])
        last_name = patient.last_name
    assert "Hello Alex" in body and "Northside Clinic" in body
    assert last_name not in body
    assert_no_clinical_words(body)


def test_times_are_inside_the_window_on_bookable_chairs_after_the_notice(app, world):
    """Offered times start after the minimum notice, fall inside the window and the horizon, and
    use only the chairs marked bookable online."""
    from tracker import booking
    from tracker.models import Course, utcnow
    from tracker.services.clinic import clinic_zone

    body = app.test_client().get(f"/my/book/{world['token']}").get_data(as_text=True)
    values = slot_values(body)
    assert values
    with app.app_context():
        course = db.session.get(Course, world["course_id"])
        zone = clinic_zone()
        for value in values:
            chair, seconds = (int(part) for part in value.split("-"))
            start = booking.from_epoch(seconds)
            assert chair in world["chairs"] and chair != world["staff_chair"]
            assert start >= utcnow() + timedelta(hours=24) - timedelta(minutes=1)
            assert course.window_opens <= start.astimezone(zone).date() <= course.window_closes


def test_get_changes_nothing(app, world):
    """Opening the booking page and a held time's page (as a mail scanner would) writes nothing."""
    client = app.test_client()
    with app.app_context():
        before = snapshot()
    for _ in range(3):
        assert client.get(f"/my/book/{world['token']}").status_code == 200
    with app.app_context():
        assert snapshot() == before


def test_hold_then_book_creates_a_pending_visit_booked_online(app, world):
    """Choosing a time holds it; booking it makes a pending appointment audited as the patient,
    marked booked online, and the hold goes; reopening the link shows the visit."""
    client = app.test_client()
    slot = slot_values(client.get(f"/my/book/{world['token']}").get_data(as_text=True))[0]
    held = client.post(f"/my/book/{world['token']}", data={"slot": slot})
    assert held.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(db.func.count(SlotHold.id))) == 1
    booked = client.post(held.headers["Location"])
    assert booked.status_code == 303
    with app.app_context():
        appointment = db.session.scalars(select(Appointment)).one()
        assert appointment.status == "pending" and appointment.notes == "Booked online"
        assert appointment.created_by_id is None
        actors = db.session.scalars(
            select(AuditEvent.actor).where(AuditEvent.entity == "appointment")
        ).all()
        assert actors == ["patient"]
        assert db.session.scalar(select(db.func.count(SlotHold.id))) == 0
    again = client.get(f"/my/book/{world['token']}").get_data(as_text=True)
    assert "your visit is booked" in again and slot_values(again) == []


def test_confirmed_at_once_when_the_clinic_says_so(app, world):
    """With 'booked online are confirmed' on, the new visit is confirmed."""
    with app.app_context():
        from tracker.services.clinic import get_settings

        get_settings().online_bookings_confirmed = True
        db.session.commit()
    client = app.test_client()
    slot = slot_values(client.get(f"/my/book/{world['token']}").get_data(as_text=True))[0]
    client.post(client.post(f"/my/book/{world['token']}", data={"slot": slot}).headers["Location"])
    with app.app_context():
        assert db.session.scalars(select(Appointment.status)).one() == "booked"


def test_held_time_is_not_offered_to_another_patient_and_expires(app, world):
    """A held time is left out of another patient's list and refused to them; once the hold
    runs out, it is offered again and the first patient's booking is refused."""
    from tracker.models import utcnow

    with app.app_context():
        other, other_course = due_patient()
        db.session.commit()
        with app.test_request_context():
            other_token = make_token("book", other.id, other_course.id)
    first, second = app.test_client(), app.test_client()
    slot = slot_values(first.get(f"/my/book/{world['token']}").get_data(as_text=True))[0]
    held = first.post(f"/my/book/{world['token']}", data={"slot": slot})
    assert held.status_code == 303
    assert slot not in slot_values(second.get(f"/my/book/{other_token}").get_data(as_text=True))
    refused = second.post(f"/my/book/{other_token}", data={"slot": slot})
    assert refused.status_code == 409 and "just been taken" in refused.get_data(as_text=True)
    with app.app_context():
        db.session.execute(db.update(SlotHold).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert slot in slot_values(second.get(f"/my/book/{other_token}").get_data(as_text=True))
    late = first.post(held.headers["Location"])
    assert late.status_code == 409 and "run out" in late.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Appointment.id))) == 0


def test_bad_slot_values_get_a_clear_answer(app, world):
    """A forged or nonsense time is refused on the page (never a 500) and nothing is held."""
    client = app.test_client()
    for value in (
        "",
        "abc",
        "1-",
        f"{world['staff_chair']}-1796409000",
        "999999-1796409000",
        "1-99",
    ):
        response = client.post(f"/my/book/{world['token']}", data={"slot": value})
        assert response.status_code in (400, 409), value
    with app.app_context():
        assert db.session.scalar(select(db.func.count(SlotHold.id))) == 0


def test_closed_course_link_stops_working(app, world):
    """Once the course is discharged the book link offers nothing and says to call."""
    from tracker.models import Course

    with app.app_context():
        db.session.get(Course, world["course_id"]).state = "discharged"
        db.session.commit()
    body = app.test_client().get(f"/my/book/{world['token']}").get_data(as_text=True)
    assert "nothing to book" in body and slot_values(body) == []


def test_patient_pages_need_no_staff_session_and_keep_the_csp(app, world):
    """Anonymous visitors reach the page; the CSP header is the app's strict one; no script."""
    from tracker.security import CSP

    response = app.test_client().get(f"/my/book/{world['token']}")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP
    assert "<script" not in response.get_data(as_text=True)


def test_page_rate_limit_per_source(app, world):
    """Past the per-minute limit one source gets 429 and a page asking it to wait."""
    app.config["PATIENT_PAGE_LIMIT_PER_MINUTE"] = 3
    client = app.test_client()
    codes = [client.get(f"/my/book/{world['token']}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert "Please wait a moment" in client.get("/my/links").get_data(as_text=True)


def test_links_in_window_reminder_point_at_the_booking_page(app, world):
    """The window reminder's text and HTML carry the book link for this patient and course."""
    from tracker.models import Course, Reminder
    from tracker.reminders.messages import window_message
    from tracker.services.clinic import get_settings

    with app.app_context():
        patient = db.session.get(Patient, world["patient_id"])
        course = db.session.get(Course, world["course_id"])
        message = window_message(
            Reminder(kind="window_closing"), patient=patient, course=course, settings=get_settings()
        )
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        with app.test_request_context():
            link = read_token("book", text.split("/my/book/")[1].split()[0])
    assert (link.patient_id, link.target_id) == (world["patient_id"], world["course_id"])
    assert "/my/book/" in html
    assert_no_clinical_words(text)
    assert_no_clinical_words(html)
