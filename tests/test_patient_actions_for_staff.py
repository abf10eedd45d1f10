"""Staff see what patients did from their links: counts in the daily digest (no names, no MRN),
a mark on the visit on the day sheet, and each action once, in words, on the patient page."""

from datetime import timedelta

from sqlalchemy import select

from tracker import booking
from tracker.extensions import db
from tracker.models import Appointment, utcnow
from tracker.patient_links.tokens import make_token
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import clinic_zone, get_settings

from .conftest import login
from .factories import make_user
from .patient_link_fixtures import due_patient, open_clinic, slot_values
from .test_reminders_privacy import every_part_as_text, written_messages


def _every_action(app) -> dict:
    """One patient books online, confirms, asks to be called, moves and cancels; another
    patient's visit is confirmed and they ask to be called. Returns ids and the desk user."""
    with app.app_context():
        open_clinic()
        patient, course = due_patient(first_name="Robin", last_name="Zimmerwald")
        db.session.commit()
        with app.test_request_context():
            book_token = make_token("book", patient.id, course.id)
        desk = make_user(role="frontdesk")
        db.session.commit()
        db.session.refresh(desk)
        db.session.expunge(desk)
        ids = {"patient": patient.id, "mrn": patient.mrn, "desk": desk}
    client = app.test_client()
    slot = slot_values(client.get(f"/my/book/{book_token}").get_data(as_text=True))[-1]
    held = client.post(f"/my/book/{book_token}", data={"slot": slot})
    assert client.post(held.headers["Location"]).status_code == 303
    with app.app_context():
        first = db.session.scalars(select(Appointment)).one()
        with app.test_request_context():
            token = make_token("manage", first.patient_id, first.id)
        ids["first"] = first.id
    url = f"/my/visit/{token}"
    assert client.post(url + "/confirm").status_code == 303
    assert client.post(url + "/call").status_code == 303
    move_to = slot_values(client.get(url + "/move").get_data(as_text=True))[-2]
    assert client.post(url + "/move", data={"slot": move_to}).status_code == 303
    with app.app_context():
        moved = db.session.scalars(select(Appointment)).one()  # moved in place: the same visit
        assert moved.id == ids["first"]
        ids["moved"] = moved.id
        ids["day"] = booking.wall(moved.start_at, clinic_zone()).date()
    return {**ids, "client": client, "url": url}


def test_digest_counts_patient_actions_and_names_nobody(app):
    """The next digest counts each kind of patient action once, with the worklist link only."""
    done = _every_action(app)
    client, url = done["client"], done["url"]
    assert client.post(url + "/cancel", data={"reason": "cannot_come"}).status_code == 303
    with app.app_context():
        settings = get_settings()
        zone = clinic_zone()
        local_now = utcnow().astimezone(zone)
        day = local_now.date() + timedelta(days=1 if local_now.hour >= settings.digest_hour else 0)
        clock = Clock.for_settings(
            Clock.for_settings(utcnow(), settings).at_local(day, settings.digest_hour)
            + timedelta(minutes=1),
            settings,
        )
        run_sweep(clock=clock)
        digests = [m for m in written_messages(app) if m["To"] == done["desk"].email]
        (message,) = digests
        text = every_part_as_text(message)
        plain = message.get_body(("plain",)).get_content()
        # The next day's digest counts none of them again.
        later = Clock.for_settings(clock.now + timedelta(days=1), settings)
        run_sweep(clock=later)
    assert "From patients' own links since yesterday's digest: 5." in plain
    for line in (
        "Booked online: 1",
        "Confirmed: 1",
        "Moved: 1",
        "Cancelled: 1",
        "Asked to be called: 1",
    ):
        assert line in plain
    assert "/worklist/" in plain
    assert "Robin" not in text and "Zimmerwald" not in text and done["mrn"] not in text
    with app.app_context():
        digests = [m for m in written_messages(app) if m["To"] == done["desk"].email]
    (second,) = [m for m in digests if m["Subject"] != message["Subject"]]
    assert "From patients' own links" not in second.get_body(("plain",)).get_content()


def test_day_sheet_and_patient_page_show_the_patients_actions(app):
    """The moved visit is marked on the day sheet; the patient page lists each action once."""
    done = _every_action(app)
    desk = app.test_client()
    login(desk, done["desk"])
    sheet = desk.get(f"/schedule/day?date={done['day'].isoformat()}").get_data(as_text=True)
    assert "Booked online" in sheet and "Moved online" in sheet
    done["client"].post(done["url"] + "/call")
    sheet = desk.get(f"/schedule/day?date={done['day'].isoformat()}").get_data(as_text=True)
    assert "Asked to be called" in sheet
    page = desk.get(f"/patients/{done['patient']}").get_data(as_text=True)
    for label in (
        "Booked a visit online",
        "Confirmed a visit online",
        "Moved a visit online",
        "Asked to be called",
    ):
        assert label in page
    assert page.count("Moved a visit online") == 1
    assert "Changed a visit online" not in page and "Acted online" not in page
