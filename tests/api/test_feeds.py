"""Calendar feeds through the real app: a secret URL per staff member and per chair, neutral
events in the 60-back / 180-ahead range, conditional GET, rotation and revocation."""

import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Appointment, CalendarFeed, User
from tracker.services.clinic import clinic_today

from ..factories import make_patient, make_user
from ..schedule_fixtures import add_appointment, at, setup_clinic

CLINICAL_WORDS = ("infusion", "ketamine", "pain", "depression", "crps", "maintenance", "series")


@pytest.fixture
def clinic(app):
    """Chairs and types, a clinician, and appointments on chair 1 around today (real clock)."""
    with app.app_context():
        setup = setup_clinic()
        clinician = make_user(role="clinician")
        patient = make_patient(first_name="Zelda", last_name="Quartz")
        today = clinic_today()  # the feed counts its 60 and 180 days in clinic time
        made = {}
        for name, days in (("old", -61), ("back", -59), ("soon", 3), ("far", 179), ("beyond", 182)):
            made[name] = add_appointment(
                patient,
                setup["chairs"][0],
                setup["maintenance"],
                at(today + timedelta(days=days), 10),
                clinician=clinician,
            ).uid
        other = add_appointment(
            patient, setup["chairs"][1], setup["series"], at(today + timedelta(days=4), 10)
        )
        db.session.commit()
        return {
            "uids": made,
            "other": other.uid,
            "clinician": clinician.email,
            "chair": setup["chairs"][0].id,
            "clinician_id": clinician.id,
        }


def _login(client, email):
    from ..factories import DEFAULT_PASSWORD

    assert (
        client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD}).status_code
        == 302
    )


def _issued_url(response) -> str:
    html = response.get_data(as_text=True)
    return re.search(r'value="(http[^"]+\.ics)"', html).group(1)


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_staff_feed_has_their_sessions_in_range_with_neutral_titles(app, client, clinic):
    """A clinician's feed holds the sessions they supervise from 60 days back to 180 ahead,
    titled by chair only: no patient name, no type, no clinical word."""
    _login(client, clinic["clinician"])
    url = _issued_url(client.post("/feeds/staff/issue"))
    client.post("/logout")
    response = app.test_client().get(_path(url))  # no login: the secret is the key
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = [c for c in calendar.walk("VEVENT")]
    uids = {str(e["UID"]) for e in events}
    assert uids == {clinic["uids"][n] for n in ("back", "soon", "far")}
    text = response.get_data(as_text=True).lower()
    assert "zelda" not in text and "quartz" not in text
    assert not [w for w in CLINICAL_WORDS if w in text]
    assert {str(e["SUMMARY"]) for e in events} == {"Booked: Chair 1"}


def test_chair_feed_by_admin_and_conditional_get(app, client, clinic):
    """An admin makes a chair's feed; a second GET with its ETag is a 304; a change makes a new ETag."""
    with app.app_context():
        admin = make_user(role="admin")
        db.session.commit()
        email = admin.email
    _login(client, email)
    url = _path(_issued_url(client.post(f"/feeds/chairs/{clinic['chair']}/issue")))
    anonymous = app.test_client()
    first = anonymous.get(url)
    assert first.status_code == 200 and first.headers["ETag"]
    assert len(Calendar.from_ical(first.data).walk("VEVENT")) == 3
    again = anonymous.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    with app.app_context():
        appointment = db.session.scalar(
            select(Appointment).where(Appointment.uid == clinic["uids"]["soon"])
        )
        appointment.status, appointment.sequence = "cancelled", appointment.sequence + 1
        db.session.commit()
    changed = anonymous.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    cancelled = [
        e
        for e in Calendar.from_ical(changed.data).walk("VEVENT")
        if str(e["UID"]) == clinic["uids"]["soon"]
    ]
    assert str(cancelled[0]["STATUS"]) == "CANCELLED" and int(cancelled[0]["SEQUENCE"]) == 1


def test_rotate_and_revoke(app, client, clinic):
    """A new URL stops the old one at once; stopping needs the box ticked, then the URL is gone."""
    _login(client, clinic["clinician"])
    old = _path(_issued_url(client.post("/feeds/staff/issue")))
    new = _path(_issued_url(client.post("/feeds/staff/issue")))
    anonymous = app.test_client()
    assert anonymous.get(old).status_code == 404 and anonymous.get(new).status_code == 200
    client.post("/feeds/staff/revoke", data={})
    assert anonymous.get(new).status_code == 200
    client.post("/feeds/staff/revoke", data={"sure": "y"})
    assert anonymous.get(new).status_code == 404
    with app.app_context():
        assert (
            db.session.scalar(select(CalendarFeed).where(CalendarFeed.revoked_at.is_(None))) is None
        )


def test_deactivated_staff_feed_stops(app, client, clinic):
    """A deactivated staff member's feed answers 404."""
    _login(client, clinic["clinician"])
    url = _path(_issued_url(client.post("/feeds/staff/issue")))
    with app.app_context():
        db.session.get(User, clinic["clinician_id"]).active = False
        db.session.commit()
    assert app.test_client().get(url).status_code == 404


def test_only_admins_make_chair_feeds(app, client, clinic, login_as):
    """Front desk may make their own feed but not a chair's."""
    login_as("frontdesk")
    assert client.post(f"/feeds/chairs/{clinic['chair']}/issue").status_code == 403
    assert client.get("/feeds/").status_code == 200
    assert "Chairs" not in client.get("/feeds/").get_data(as_text=True)


def test_unknown_secret_is_404(client):
    """A made-up secret reveals nothing."""
    assert client.get("/feeds/not-a-secret.ics").status_code == 404


def test_stored_secret_is_a_hash(app, client, clinic):
    """The URL's secret is not in the database, only its SHA-256."""
    import hashlib

    _login(client, clinic["clinician"])
    secret = _issued_url(client.post("/feeds/staff/issue")).rsplit("/", 1)[1][: -len(".ics")]
    with app.app_context():
        stored = db.session.scalar(select(CalendarFeed.token_hash))
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
