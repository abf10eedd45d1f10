"""The waitlist, ranked by the window: patients join from their booking page (or staff add
them), a freed chair block is offered by email to the best matches (window closing soonest,
then overdue, then longest waiting), the first to accept books it, the others see it taken,
offers expire, and staff see the waitlist and every offer. Two real concurrent accepts of one
block end with one booking."""

import re
import threading
import urllib.parse
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tracker.extensions import db
from tracker.models import Appointment, Reminder, WaitlistEntry, WaitlistOffer, utcnow
from tracker.patient_links.tokens import make_token
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import clinic_today, get_settings

from .conftest import build_app, login
from .factories import make_user
from .patient_link_fixtures import (
    assert_no_clinical_words,
    csrf_token,
    due_patient,
    local,
    open_clinic,
    visit,
)
from .reminder_fixtures import SMTPServer
from .test_patient_links_race import Browserless


@pytest.fixture
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(tmp_path, smtp):
    """An app sending through the test's SMTP server at any hour (the pages read the real clock)."""
    app = build_app(tmp_path, **smtp.config())
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _token(app, purpose, patient_id, target_id):
    with app.test_request_context():
        return make_token(purpose, patient_id, target_id)


def _world(app) -> dict:
    """A visit two days ahead that its patient will cancel, and four waitlisted patients: B and
    D (window closing in 5 days; D joined later), A (20 days), C (overdue), and E, whose days
    do not include the freed day."""
    with app.app_context():
        clinic = open_clinic(chairs=1)
        settings = get_settings()
        settings.send_hours_start, settings.send_hours_end = 0, 24
        settings.appointment_hours = 1
        freed_at = local(clinic_today() + timedelta(days=2), 10)
        holder, _ = due_patient(first_name="Xavi")
        booked = visit(holder, clinic["chairs"][0], clinic["maintenance"], freed_at, "booked")
        people = {}
        for name, days_since in (("B", 85), ("A", 70), ("C", 95), ("D", 85), ("E", 85)):
            patient, course = due_patient(days_since_anchor=days_since, first_name=name)
            people[name] = (patient.id, course.id)
        db.session.commit()
        weekday = str(freed_at.astimezone(clinic_zone_of()).weekday())
        ids = {"holder": holder.id, "visit": booked.id, "people": people, "weekday": weekday}
    client = app.test_client()
    for name in ("B", "A", "C", "D", "E"):
        patient_id, course_id = people[name]
        days = [d for d in "0123456" if d != weekday] if name == "E" else list("0123456")
        token = _token(app, "book", patient_id, course_id)
        answer = client.post(f"/my/book/{token}/waitlist", data={"weekdays": days})
        assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    return ids


def clinic_zone_of():
    from tracker.services.clinic import clinic_zone

    return clinic_zone()


def _cancel_freed_visit(app, ids) -> None:
    token = _token(app, "manage", ids["holder"], ids["visit"])
    answer = app.test_client().post(f"/my/visit/{token}/cancel", data={"reason": "cannot_come"})
    assert answer.status_code == 303


def _offers(app) -> dict:
    with app.app_context():
        return {
            offer.patient_id: offer
            for offer in db.session.scalars(select(WaitlistOffer).order_by(WaitlistOffer.id))
        }


def test_joining_needs_a_day_and_shows_on_the_page(app):
    """No day ticked: a field error and nothing saved; joined: the page says so."""
    with app.app_context():
        open_clinic()
        patient, course = due_patient()
        db.session.commit()
        token = _token(app, "book", patient.id, course.id)
    client = app.test_client()
    refused = client.post(f"/my/book/{token}/waitlist", data={})
    assert refused.status_code == 400
    assert "Choose at least one day that suits you." in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 0
    joined = client.post(f"/my/book/{token}/waitlist", data={"weekdays": ["1", "3"]})
    assert joined.status_code == 303
    page = client.get(joined.headers["Location"]).get_data(as_text=True)
    assert "we will email you if an earlier time frees up" in page
    assert "You are on the list for an earlier time." in page
    with app.app_context():
        (entry,) = db.session.scalars(select(WaitlistEntry)).all()
        assert (entry.weekdays, entry.added_by) == ("13", "patient")


def test_freed_block_goes_to_the_best_three_then_first_accept_wins(mail_app, smtp):
    """A cancel offers the time to B, D and A (closing soonest, then longest waiting); the sweep
    emails each once; B accepts and books; D is told it was taken; C and E get nothing."""
    ids = _world(mail_app)
    _cancel_freed_visit(mail_app, ids)
    people = {name: pid for name, (pid, _) in ids["people"].items()}
    offers = _offers(mail_app)
    assert set(offers) == {people["B"], people["D"], people["A"]}
    with mail_app.app_context():
        clock = Clock.for_settings(utcnow(), get_settings())
        run_sweep(clock=clock)
        run_sweep(clock=clock)
        sent = db.session.scalars(
            select(Reminder).where(Reminder.kind == "waitlist_offer", Reminder.status == "sent")
        ).all()
        assert len(sent) == 3
    mails = [m for m in smtp.messages if m["Subject"].startswith("An earlier time is free")]
    assert len(mails) == 3
    for message in mails:
        for part in ("plain", "html"):
            assert_no_clinical_words(message.get_body((part,)).get_content())
    links = {}
    for message in mails:
        text = message.get_body(("plain",)).get_content()
        links[message["To"]] = re.search(r"/my/offer/\S+", text).group(0)
    with mail_app.app_context():
        from tracker.models import Patient

        address = {name: db.session.get(Patient, pid).email for name, pid in people.items()}
    client = mail_app.test_client()
    page = client.get(links[address["B"]]).get_data(as_text=True)
    assert "B, an earlier time for your visit" in page and "Book this time" in page
    assert client.post(links[address["B"]]).status_code == 303
    assert "This time is booked for you." in client.get(links[address["B"]]).get_data(as_text=True)
    late = client.post(links[address["D"]])
    assert late.status_code == 409 and "already been taken" in late.get_data(as_text=True)
    assert "already been taken" in client.get(links[address["D"]]).get_data(as_text=True)
    with mail_app.app_context():
        booked = db.session.scalars(
            select(Appointment).where(Appointment.status.in_(("pending", "booked")))
        ).all()
        assert [a.patient_id for a in booked] == [people["B"]]
        entry = db.session.scalars(
            select(WaitlistEntry).where(WaitlistEntry.patient_id == people["B"])
        ).one()
        assert entry.ended_at is not None and entry.end_reason == "booked from an offer"
        kinds = db.session.scalars(
            select(Reminder.kind).where(Reminder.patient_id == people["B"])
        ).all()
        assert "visit_booked_online" in kinds


def test_an_expired_offer_books_nothing(mail_app, smtp):
    """After its hours the offer page says it ran out, and accepting it books nothing."""
    ids = _world(mail_app)
    _cancel_freed_visit(mail_app, ids)
    people = {name: pid for name, (pid, _) in ids["people"].items()}
    with mail_app.app_context():
        offer = db.session.scalars(
            select(WaitlistOffer).where(WaitlistOffer.patient_id == people["B"])
        ).one()
        offer.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        token = _token(mail_app, "offer", people["B"], offer.id)
    client = mail_app.test_client()
    assert "This offer has run out." in client.get(f"/my/offer/{token}").get_data(as_text=True)
    refused = client.post(f"/my/offer/{token}")
    assert refused.status_code == 409 and "This offer has run out." in refused.get_data(
        as_text=True
    )
    with mail_app.app_context():
        assert (
            db.session.scalar(
                select(func.count(Appointment.id)).where(Appointment.patient_id == people["B"])
            )
            == 0
        )
        clock = Clock.for_settings(utcnow(), get_settings())
        run_sweep(clock=clock)
        reasons = dict(
            db.session.execute(
                select(Reminder.waitlist_offer_id, Reminder.skip_reason).where(
                    Reminder.kind == "waitlist_offer"
                )
            ).all()
        )
        assert reasons[offer.id] == "offer expired"


def test_staff_see_the_waitlist_and_every_offer_and_add_a_patient(mail_app, smtp):
    """The waitlist page lists who waits (with their days) and each offer with its outcome; a
    worklist button adds a patient, and the waitlist page takes one off (kept, ended)."""
    ids = _world(mail_app)
    _cancel_freed_visit(mail_app, ids)
    with mail_app.app_context():
        desk = make_user(role="frontdesk")
        extra, _ = due_patient(days_since_anchor=95, first_name="Quinn", last_name="Latecomer")
        db.session.commit()
        extra_id = extra.id
        db.session.refresh(desk)
        db.session.expunge(desk)
    client = mail_app.test_client()
    login(client, desk)
    page = client.get("/worklist/waitlist").get_data(as_text=True)
    assert page.count("Open") >= 3 and "Waiting for an earlier time" in page
    assert "Mon, Tue, Wed, Thu, Fri, Sat, Sun" in page
    added = client.post(f"/worklist/{extra_id}/waitlist", data={"next": "/worklist/"})
    assert added.status_code == 303
    assert "Latecomer, Quinn" in client.get("/worklist/waitlist").get_data(as_text=True)
    assert client.post("/worklist/999999/waitlist", data={}).status_code == 404  # no such patient
    listed = client.get("/worklist/").get_data(as_text=True)
    quinn = listed[listed.index("Latecomer, Quinn") :].split("</tr>")[0]
    xavi = listed[listed.index("Xavi") :].split("</tr>")[0]
    assert "On the waitlist" in quinn and "Add to waitlist" in xavi
    with mail_app.app_context():
        entry_id = db.session.scalar(
            select(WaitlistEntry.id).where(WaitlistEntry.patient_id == extra_id)
        )
    removed = client.post(f"/worklist/waitlist/{entry_id}/remove", data={})
    assert removed.status_code == 303
    assert "Latecomer, Quinn" not in client.get("/worklist/waitlist").get_data(as_text=True)
    again = client.post(f"/worklist/waitlist/{entry_id}/remove", data={})
    assert again.status_code == 303  # refused: already off, said on the page it goes back to
    with mail_app.app_context():
        entry = db.session.get(WaitlistEntry, entry_id)
        assert entry.ended_at is not None and entry.end_reason == "removed by staff"


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The app with CSRF on, served for real by a threaded server; accepting is slowed a little
    after its checks, so two accepts overlap."""
    from tracker.services import waitlist

    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    real_state = waitlist.offer_state

    def state_then_wait(*args, **kwargs):
        found = real_state(*args, **kwargs)
        threading.Event().wait(0.2)
        return found

    monkeypatch.setattr(waitlist, "offer_state", state_then_wait)
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


@pytest.mark.slow
def test_two_concurrent_accepts_book_once(served):
    """Two offered patients press "Book this time" at the same moment: one booking; the other
    is told the time was taken."""
    app, base = served
    with app.app_context():
        clinic = open_clinic(chairs=1)
        freed_at = local(clinic_today() + timedelta(days=2), 10)
        offers = []
        for name in ("B", "D"):
            patient, course = due_patient(days_since_anchor=85, first_name=name)
            entry = WaitlistEntry(patient_id=patient.id, course_id=course.id, added_by="patient")
            db.session.add(entry)
            db.session.flush()
            offer = WaitlistOffer(
                entry_id=entry.id,
                patient_id=patient.id,
                chair_id=clinic["chairs"][0].id,
                appointment_type_id=clinic["maintenance"].id,
                start_at=freed_at,
                expires_at=utcnow() + timedelta(hours=12),
            )
            db.session.add(offer)
            db.session.flush()
            offers.append((patient.id, offer.id))
        db.session.commit()
        tokens = [_token(app, "offer", pid, oid) for pid, oid in offers]
    clients = [Browserless(base) for _ in tokens]
    pages = [c.get(f"/my/offer/{t}") for c, t in zip(clients, tokens, strict=True)]
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def accept(index: int) -> None:
        fields = {"csrf_token": csrf_token(pages[index])}
        barrier.wait(timeout=10)
        answers[index] = clients[index].post(f"/my/offer/{tokens[index]}", fields)

    threads = [threading.Thread(target=accept, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(answer[0] for answer in answers)
    assert codes == [303, 409], codes
    loser = next(answer for answer in answers if answer[0] == 409)
    assert "already been taken" in loser[2]
    with app.app_context():
        assert db.session.scalar(select(func.count(Appointment.id))) == 1
        accepted = db.session.scalars(
            select(WaitlistOffer).where(WaitlistOffer.accepted_at.is_not(None))
        ).all()
        assert len(accepted) == 1
    assert urllib.parse.urlsplit(
        next(answer for answer in answers if answer[0] == 303)[1]
    ).path.startswith("/my/offer/")


def test_a_staff_cancel_also_offers_the_freed_time(mail_app, smtp):
    """The front desk cancels a visit from its page: the same three best matches are offered it."""
    ids = _world(mail_app)
    with mail_app.app_context():
        desk = make_user(role="frontdesk")
        db.session.commit()
        db.session.refresh(desk)
        db.session.expunge(desk)
    client = mail_app.test_client()
    login(client, desk)
    answer = client.post(
        f"/schedule/appointments/{ids['visit']}/status",
        data={"action": "cancel", "reason": "clinic"},
    )
    assert answer.status_code == 303
    people = {name: pid for name, (pid, _) in ids["people"].items()}
    assert set(_offers(mail_app)) == {people["B"], people["D"], people["A"]}


def test_a_move_from_the_manage_link_offers_the_old_time(mail_app, smtp):
    """The patient moves their visit online: the time they left is offered to the waitlist."""
    from .patient_link_fixtures import slot_values

    ids = _world(mail_app)
    with mail_app.app_context():
        left = db.session.get(Appointment, ids["visit"]).start_at
    token = _token(mail_app, "manage", ids["holder"], ids["visit"])
    client = mail_app.test_client()
    slot = slot_values(client.get(f"/my/visit/{token}/move").get_data(as_text=True))[-1]
    assert client.post(f"/my/visit/{token}/move", data={"slot": slot}).status_code == 303
    people = {name: pid for name, (pid, _) in ids["people"].items()}
    offers = _offers(mail_app)
    assert set(offers) == {people["B"], people["D"], people["A"]}
    with mail_app.app_context():
        moved = db.session.get(Appointment, ids["visit"])
        assert moved.start_at != left and moved.status == "booked"
    assert {o.start_at for o in offers.values()} == {left}


def test_an_offer_made_at_night_stands_from_its_email(mail_app, smtp):
    """A time freed outside the send hours is emailed at their next start, and the offer's hours
    count from then."""
    ids = _world(mail_app)
    with mail_app.app_context():
        settings = get_settings()
        hour = utcnow().astimezone(clinic_zone_of()).hour
        settings.send_hours_start, settings.send_hours_end = (
            (hour + 1, 24) if hour < 23 else (0, 23)
        )
        db.session.commit()
    _cancel_freed_visit(mail_app, ids)
    with mail_app.app_context():
        rows = db.session.scalars(select(Reminder).where(Reminder.kind == "waitlist_offer")).all()
        assert len(rows) == 3
        for row in rows:
            offer = db.session.get(WaitlistOffer, row.waitlist_offer_id)
            assert row.due_at > utcnow()
            assert offer.expires_at == row.due_at + timedelta(hours=12)
