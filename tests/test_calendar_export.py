"""The .ics export: RFC 5545 through icalendar, stable UID, growing SEQUENCE, no clinical words."""
from datetime import date, datetime, timezone

from icalendar import Calendar

from tracker.calendar_export import appointment_ics
from tracker.extensions import db
from tracker.models import Appointment
from tracker.services import appointments as service
from tracker.services.clinic import get_settings

from .factories import make_patient
from .schedule_fixtures import MONDAY, NOW, ZONE, add_appointment, at, frozen_clock, setup_clinic  # noqa: F401

CLINICAL_WORDS = ("infusion", "ketamine", "pain", "depression", "diagnosis", "crps", "series")


def _event(ics: bytes):
    calendar = Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def _clinic_settings():
    settings = get_settings()
    settings.display_name = "Riverside Appointments"
    settings.address = "12 Mill Lane, Springfield"
    settings.phone = "555-0199"
    return settings


def test_event_fields_in_the_clinic_zone(app_ctx):
    """UID, SEQUENCE, times with the clinic's TZID and VTIMEZONE, a neutral summary."""
    clinic = setup_clinic()
    settings = _clinic_settings()
    appointment = add_appointment(make_patient(), clinic["chairs"][0], clinic["series"],
                                  at(date(2026, 3, 8), 9), status="booked")
    calendar, event = _event(appointment_ics(appointment, settings))
    assert str(event["uid"]) == appointment.uid and int(event["sequence"]) == 0
    assert event.decoded("dtstart") == datetime(2026, 3, 8, 9, tzinfo=ZONE)
    assert event.decoded("dtend") == datetime(2026, 3, 8, 14, tzinfo=ZONE)
    assert event["dtstart"].params["TZID"] == "America/New_York"
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    assert str(event["summary"]) == "Appointment at Riverside Appointments"
    assert str(event["location"]) == "12 Mill Lane, Springfield"
    assert str(event["status"]) == "CONFIRMED"


def test_no_clinical_words(app_ctx):
    """Whatever the appointment type is called, the file holds no clinical words."""
    clinic = setup_clinic()
    clinic["series"].name = "Ketamine infusion series for CRPS pain"
    appointment = add_appointment(make_patient(), clinic["chairs"][0], clinic["series"],
                                  at(MONDAY, 9), status="cancelled")
    appointment.notes = "pain 8/10, depression screening"
    text = appointment_ics(appointment, _clinic_settings()).decode().lower()
    assert not [word for word in CLINICAL_WORDS if word in text]
    assert "alex" not in text and appointment.patient.last_name.lower() not in text


def test_uid_stable_sequence_grows_cancel_marks_cancelled(app_ctx, frozen_clock):
    """Each change bumps SEQUENCE under the same UID; a cancellation says STATUS:CANCELLED."""
    clinic = setup_clinic()
    appointment = service.book(make_patient(), appointment_type=clinic["maintenance"],
                               chair=clinic["chairs"][0], start_at=at(MONDAY, 9), actor="test", now=NOW)
    settings = get_settings()
    _, first = _event(appointment_ics(appointment, settings))
    assert str(first["status"]) == "TENTATIVE"
    service.change_status(appointment, "booked", actor="test")
    service.change_status(appointment, "cancelled", actor="test", reason="patient")
    _, last = _event(appointment_ics(appointment, settings))
    assert str(last["uid"]) == str(first["uid"])
    assert int(last["sequence"]) == 2 > int(first["sequence"])
    assert str(last["status"]) == "CANCELLED"


def test_ics_download(app, client, login_as, frozen_clock):
    """The .ics URL answers text/calendar as an attachment, readable by a calendar parser."""
    with app.app_context():
        clinic = setup_clinic()
        appointment = add_appointment(make_patient(), clinic["chairs"][0], clinic["maintenance"],
                                      at(MONDAY, 9))
        db.session.commit()
        appointment_id, uid = appointment.id, appointment.uid
    login_as("frontdesk")
    response = client.get(f"/schedule/appointments/{appointment_id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == f'attachment; filename="appointment-{appointment_id}.ics"'
    _, event = _event(response.data)
    assert str(event["uid"]) == uid
    assert client.get("/schedule/appointments/999999.ics").status_code == 404
    with app.app_context():
        assert db.session.get(Appointment, appointment_id).end_at.tzinfo == timezone.utc


def test_app_start_does_not_import_icalendar(tmp_path):
    """Starting the app leaves icalendar unimported (it loads with the first .ics file)."""
    import os
    import secrets
    import subprocess
    import sys

    env = dict(os.environ, TRACKER_SECRET_KEY=secrets.token_hex(32),
               DATABASE_URL=f"sqlite:///{tmp_path / 'start.sqlite3'}")
    code = ("import sys; from tracker import create_app; create_app(); "
            "import tracker.calendar_export; print('icalendar' in sys.modules)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
