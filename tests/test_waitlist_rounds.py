"""A freed block whose offers all run out unaccepted passes to the next in line (once, while it
is still free and far enough ahead), through the outbox to a real SMTP server; a patient leaves
the waitlist from their own booking page with a POST (a GET changes nothing)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import (
    Appointment,
    AppointmentType,
    AuditEvent,
    Chair,
    Patient,
    WaitlistEntry,
    WaitlistOffer,
    utcnow,
)
from tracker.reminders import notices
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from .conftest import build_app
from .patient_link_fixtures import due_patient, open_clinic, visit
from .reminder_fixtures import SMTPServer
from .test_waitlist import _cancel_freed_visit, _offers, _token, _world

OFFER_SUBJECT = "An earlier time is free"


@pytest.fixture
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(tmp_path, smtp):
    """An app sending through the test's SMTP server."""
    app = build_app(tmp_path, **smtp.config())
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _freed(app) -> dict:
    """The waitlist world of test_waitlist.py with its visit cancelled: B, D and A hold
    one-hour offers."""
    ids = _world(app)
    with app.app_context():
        ids["freed_at"] = db.session.get(Appointment, ids["visit"]).start_at
        # Offers of one hour: the round runs out while the block (two days ahead at 10:00) is
        # still more than the minimum notice away, whatever the hour the test runs at.
        get_settings().waitlist_offer_hours = 1
        db.session.commit()
    _cancel_freed_visit(app, ids)
    ids["names"] = {name: pid for name, (pid, _) in ids["people"].items()}
    return ids


def _sweep_at(app, at):
    with app.app_context():
        return run_sweep(clock=Clock.for_settings(at, get_settings()))


def _after_round(app) -> object:
    """An instant just after every open offer ran out."""
    with app.app_context():
        return db.session.scalar(select(func.max(WaitlistOffer.expires_at))) + timedelta(minutes=1)


def _offer_mails(app, smtp, name_to_id, name) -> int:
    with app.app_context():
        address = db.session.get(Patient, name_to_id[name]).email
    return sum(
        1 for m in smtp.messages if m["To"] == address and m["Subject"].startswith(OFFER_SUBJECT)
    )


def test_an_expired_round_passes_the_block_to_the_next_in_line_once(mail_app, smtp):
    """B, D and A let their offers run out: the next sweep offers the block to C (E's days do not
    suit) and emails C once; more sweeps offer nothing new; once C's runs out too, nobody is left."""
    ids = _freed(mail_app)
    names = ids["names"]
    assert set(_offers(mail_app)) == {names["B"], names["D"], names["A"]}
    later = _after_round(mail_app)
    _sweep_at(mail_app, later)
    _sweep_at(mail_app, later + timedelta(minutes=5))
    offers = _offers(mail_app)
    assert set(offers) == {names["B"], names["D"], names["A"], names["C"]}
    with mail_app.app_context():
        assert db.session.scalar(select(func.count(WaitlistOffer.id))) == 4
    assert offers[names["C"]].start_at == ids["freed_at"]
    assert _offer_mails(mail_app, smtp, names, "C") == 1
    assert _offer_mails(mail_app, smtp, names, "E") == 0
    last = _after_round(mail_app)
    _sweep_at(mail_app, last)
    _sweep_at(mail_app, last + timedelta(minutes=5))
    with mail_app.app_context():
        assert db.session.scalar(select(func.count(WaitlistOffer.id))) == 4
    assert _offer_mails(mail_app, smtp, names, "C") == 1


def test_a_round_still_open_or_accepted_is_not_passed_on(mail_app, smtp):
    """Only one offer ran out (the others stand): nothing new. After B accepts, the block is
    booked: when the others run out nobody else is offered it."""
    ids = _freed(mail_app)
    names = ids["names"]
    with mail_app.app_context():
        offer = db.session.scalars(
            select(WaitlistOffer).where(WaitlistOffer.patient_id == names["B"])
        ).one()
        offer.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    _sweep_at(mail_app, utcnow())
    assert len(_offers(mail_app)) == 3
    d_offer = _offers(mail_app)[names["D"]]
    token = _token(mail_app, "offer", names["D"], d_offer.id)
    assert mail_app.test_client().post(f"/my/offer/{token}").status_code == 303
    _sweep_at(mail_app, _after_round(mail_app))
    assert len(_offers(mail_app)) == 3


def test_a_block_booked_meanwhile_is_not_offered_again(mail_app, smtp):
    """The round ran out, but staff have booked the chair at that time since: no new offer."""
    ids = _freed(mail_app)
    chair_id = _offers(mail_app)[ids["names"]["B"]].chair_id
    with mail_app.app_context():
        other, _ = due_patient(first_name="Walk")
        kind = db.session.scalars(
            select(AppointmentType).where(AppointmentType.bookable_online.is_(True))
        ).one()
        visit(other, db.session.get(Chair, chair_id), kind, ids["freed_at"], "booked")
        db.session.commit()
    _sweep_at(mail_app, _after_round(mail_app))
    assert len(_offers(mail_app)) == 3


def test_a_block_inside_the_minimum_notice_is_not_offered_again(mail_app, smtp):
    """The round ran out, but by now the block starts within the clinic's minimum notice."""
    ids = _freed(mail_app)
    with mail_app.app_context():
        notice = timedelta(hours=get_settings().online_min_notice_hours)
    too_soon = ids["freed_at"] - notice + timedelta(minutes=1)
    assert too_soon > _after_round(mail_app)
    _sweep_at(mail_app, too_soon)
    assert len(_offers(mail_app)) == 3


def _on_the_list(app) -> tuple[str, int]:
    """A patient with no visit on the waitlist; their booking page's path and id."""
    with app.app_context():
        open_clinic()
        patient, course = due_patient()
        db.session.commit()
        token = _token(app, "book", patient.id, course.id)
    client = app.test_client()
    assert client.post(f"/my/book/{token}/waitlist", data={"weekdays": ["1"]}).status_code == 303
    return f"/my/book/{token}", patient.id


def _entries(app):
    with app.app_context():
        return db.session.execute(
            select(WaitlistEntry.id, WaitlistEntry.ended_at, WaitlistEntry.end_reason)
        ).all()


def test_a_patient_leaves_the_waitlist_from_their_page(app):
    """The booking page offers "Take me off the list"; a GET of the page or of the action changes
    nothing; the POST ends the entry (kept), audited as the patient, and the page says so."""
    url, patient_id = _on_the_list(app)
    client = app.test_client()
    page = client.get(url).get_data(as_text=True)
    assert "Take me off the list" in page and f'action="{url}/waitlist/leave"' in page
    before = _entries(app)
    assert client.get(url + "/waitlist/leave").status_code == 405
    client.get(url)
    assert _entries(app) == before and before[0].ended_at is None
    left = client.post(url + "/waitlist/leave")
    assert left.status_code == 303
    page = client.get(left.headers["Location"]).get_data(as_text=True)
    assert "You are off the list" in page and "Take me off the list" not in page
    ((_, ended_at, reason),) = _entries(app)
    assert ended_at is not None and reason == "left by the patient"
    with app.app_context():
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "waitlist_left")
        ).all()
        assert (event.actor, event.patient_id) == ("patient", patient_id)
    again = client.post(url + "/waitlist/leave")
    assert again.status_code == 303 and "waitlist=left" not in again.headers["Location"]
    assert _entries(app) == [(before[0].id, ended_at, reason)]


def test_leaving_with_an_open_offer_passes_the_block_on(mail_app, smtp):
    """B leaves the list from their booking page while holding an offer: it runs out at once,
    and when the rest of the round has run out the block goes to C."""
    ids = _freed(mail_app)
    names = ids["names"]
    course_id = ids["people"]["B"][1]
    token = _token(mail_app, "book", names["B"], course_id)
    client = mail_app.test_client()
    assert client.post(f"/my/book/{token}/waitlist/leave").status_code == 303
    b_offer = _offers(mail_app)[names["B"]]
    token = _token(mail_app, "offer", names["B"], b_offer.id)
    assert "This offer has run out." in client.get(f"/my/offer/{token}").get_data(as_text=True)
    _sweep_at(mail_app, _after_round(mail_app))
    assert set(_offers(mail_app)) == {names["B"], names["D"], names["A"], names["C"]}


def test_accepting_moves_the_patients_later_visit_in_place(mail_app, smtp):
    """B already has a later visit (told by email): accepting the offer moves that visit to the
    offered time, the same appointment and UID with a higher SEQUENCE; the sweep sends one
    'new time' notice for it, and B's old time is offered to the waitlist."""
    ids = _freed(mail_app)
    names = ids["names"]
    with mail_app.app_context():
        b = db.session.get(Patient, names["B"])
        chair = db.session.get(Chair, _offers(mail_app)[names["B"]].chair_id)
        kind = db.session.scalars(
            select(AppointmentType).where(AppointmentType.bookable_online.is_(True))
        ).one()
        later_at = ids["freed_at"] + timedelta(days=3)
        later = visit(b, chair, kind, later_at, "booked")
        notices.visit_booked(later, now=utcnow(), settings=get_settings())
        db.session.commit()
        later_id, uid, sequence = later.id, later.uid, later.sequence or 0
    _sweep_at(mail_app, utcnow())
    token = _token(mail_app, "offer", names["B"], _offers(mail_app)[names["B"]].id)
    assert mail_app.test_client().post(f"/my/offer/{token}").status_code == 303
    with mail_app.app_context():
        mine = db.session.scalars(select(Appointment).where(Appointment.patient_id == names["B"]))
        (moved,) = mine.all()
        assert (moved.id, moved.uid, moved.status) == (later_id, uid, "booked")
        assert moved.start_at == ids["freed_at"] and moved.sequence == sequence + 1
        reoffered = db.session.scalars(
            select(WaitlistOffer.patient_id).where(WaitlistOffer.start_at == later_at)
        ).all()
        assert reoffered and names["B"] not in reoffered
    before = len(smtp.messages)
    _sweep_at(mail_app, utcnow())
    with mail_app.app_context():
        address = db.session.get(Patient, names["B"]).email
    (notice,) = [m for m in smtp.messages[before:] if m["To"] == address]
    assert notice["Subject"].startswith("New time for your visit")
    (part,) = [p for p in notice.walk() if p.get_content_type() == "text/calendar"]
    assert f"UID:{uid}" in part.get_content()


def test_a_patient_with_a_booked_visit_can_leave_the_waitlist_too(app):
    """Once booked, the booking link shows the visit and, while they are on the list, the same
    'Take me off the list' button, which works the same."""
    url, patient_id = _on_the_list(app)
    with app.app_context():
        chair = db.session.scalars(select(Chair).where(Chair.bookable_online.is_(True))).first()
        kind = db.session.scalars(
            select(AppointmentType).where(AppointmentType.bookable_online.is_(True))
        ).one()
        start = utcnow().replace(second=0, microsecond=0) + timedelta(days=5)
        visit(db.session.get(Patient, patient_id), chair, kind, start, "booked")
        db.session.commit()
    client = app.test_client()
    page = client.get(url).get_data(as_text=True)
    assert "your visit is booked" in page and "Take me off the list" in page
    left = client.post(url + "/waitlist/leave")
    assert left.status_code == 303
    page = client.get(left.headers["Location"]).get_data(as_text=True)
    assert "You are off the list" in page and "Take me off the list" not in page
    ((_, ended_at, reason),) = _entries(app)
    assert ended_at is not None and reason == "left by the patient"
