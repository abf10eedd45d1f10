"""The booking journey through the real app: slot finder, book, status actions, reschedule, complete."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Appointment, AppointmentStatusChange, AppointmentType, Chair, Course, Infusion, Patient, Reminder

from .factories import make_patient, make_user
from .schedule_fixtures import (  # noqa: F401
    MONDAY, ZONE, add_appointment, at, frozen_clock, maintenance_patient, series_patient, setup_clinic,
)


@pytest.fixture
def clinic(app, frozen_clock):
    """Three chairs, weekday hours 08-18, a maintenance patient whose window opens 2027-01-14."""
    with app.app_context():
        setup = setup_clinic()
        patient, course = maintenance_patient(date(2026, 12, 15))
        db.session.commit()
        return {"patient": patient.id, "course": course.id, "chairs": [c.id for c in setup["chairs"]],
                "maintenance": setup["maintenance"].id, "series": setup["series"].id}


def _appointments(app):
    with app.app_context():
        return db.session.scalars(select(Appointment).order_by(Appointment.id)).all()


def _chair(clinic, index):
    return db.session.get(Chair, clinic["chairs"][index])


def _type(clinic, name="maintenance"):
    return db.session.get(AppointmentType, clinic[name])


def _first_slot_value(html: str) -> str:
    return re.search(r'name="slot" id="slot-1" value="([^"]+)"', html).group(1)


def test_book_page_shows_window_and_every_start_of_the_first_free_day(client, login_as, clinic):
    """The slot finder names the window's dates and shows every free start of its first free day,
    morning and afternoon, with none chosen; the later day is one link away."""
    login_as("frontdesk")
    html = client.get(f"/schedule/book?patient_id={clinic['patient']}").get_data(as_text=True)
    assert "opens <strong>Thu 14 Jan 2027</strong>" in html and "closes <strong>Mon 15 Mar 2027</strong>" in html
    assert "(100 minute block) on Thu 14 Jan 2027" in html
    morning, _, afternoon = html.partition(">Afternoon</h2>")
    assert "08:00 to 09:40 · Chair 1" in morning and "11:45 to 13:25" in morning
    # 08:00 to 16:15 every 15 minutes: 34 starts, 16 before noon.
    assert html.count('name="slot" id="slot-') == 34 + 1
    assert "12:00 to 13:40" in afternoon and "16:15 to 17:55" in afternoon
    assert " checked" not in html.partition('class="book-form"')[2].partition("</fieldset>")[0]
    assert 'href="/schedule/book?patient_id=' in html and "day=2027-01-15" in html  # later day
    assert 'for="slot-1"' in html and 'for="slot-other"' in html  # every radio is labelled


def test_two_clicks_from_worklist_to_booked(client, login_as, clinic, app):
    """Opening the finder, choosing the first start and pressing Book books it: PRG to the page."""
    login_as("frontdesk")
    page = client.get(f"/schedule/book?patient_id={clinic['patient']}").get_data(as_text=True)
    response = client.post(f"/schedule/book?patient_id={clinic['patient']}", data={
        "appointment_type_id": clinic["maintenance"], "clinician_id": "", "slot": _first_slot_value(page)})
    assert response.status_code == 303
    [appointment] = _appointments(app)
    assert response.headers["Location"].endswith(f"/schedule/appointments/{appointment.id}")
    assert appointment.start_at == at(date(2027, 1, 14), 8) and appointment.status == "pending"
    assert appointment.course_id == clinic["course"]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Booked Thu 14 Jan 2027, 08:00 on Chair 1 (not yet confirmed)." in detail


def test_book_another_typed_time(client, login_as, clinic, app):
    """A wall-clock time typed by the front desk is read in the clinic's zone."""
    login_as("frontdesk")
    response = client.post(f"/schedule/book?patient_id={clinic['patient']}", data={
        "appointment_type_id": clinic["maintenance"], "slot": "other", "start_at": "2027-01-20T13:30",
        "chair_id": clinic["chairs"][1]})
    assert response.status_code == 303
    [appointment] = _appointments(app)
    assert appointment.start_at == at(date(2027, 1, 20), 13, 30) and appointment.chair_id == clinic["chairs"][1]


@pytest.mark.parametrize("start_at, message", [
    ("2027-01-20T17:00", "outside opening hours"),
    ("2027-01-23T09:00", "closed on Saturdays"),
    ("2026-12-01T09:00", "in the past"),
    ("", "Enter the date and time"),
    ("not a time", "Not a valid datetime value"),
])
def test_refused_typed_times_save_nothing(client, login_as, clinic, app, start_at, message):
    """Bad or forbidden times get a clear error on the page (400) and nothing is saved."""
    login_as("frontdesk")
    response = client.post(f"/schedule/book?patient_id={clinic['patient']}", data={
        "appointment_type_id": clinic["maintenance"], "slot": "other", "start_at": start_at,
        "chair_id": clinic["chairs"][0]})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _appointments(app) == []


def test_taken_chair_refused_with_message(client, login_as, clinic, app):
    """Booking over another active block on the same chair is refused, the chair named."""
    with app.app_context():
        other = make_patient()
        add_appointment(other, _chair(clinic, 0), _type(clinic), at(date(2027, 1, 20), 9))
        db.session.commit()
    login_as("frontdesk")
    response = client.post(f"/schedule/book?patient_id={clinic['patient']}", data={
        "appointment_type_id": clinic["maintenance"], "slot": "other", "start_at": "2027-01-20T10:00",
        "chair_id": clinic["chairs"][0]})
    assert response.status_code == 400
    assert "That chair is already booked from 09:00 to 10:40." in response.get_data(as_text=True)
    assert len(_appointments(app)) == 1


def test_tampered_slot_is_refused(client, login_as, clinic, app):
    """A slot value that is not a chair and time gets a field error, not a 500."""
    login_as("frontdesk")
    for value in ("junk", "999|2027-01-20T13:00", "1|2027-13-40T99:00"):
        response = client.post(f"/schedule/book?patient_id={clinic['patient']}", data={
            "appointment_type_id": clinic["maintenance"], "slot": value})
        assert response.status_code == 400
        assert "no longer on offer" in response.get_data(as_text=True)
    assert _appointments(app) == []


def test_book_needs_a_real_patient(client, login_as, clinic):
    """A missing or unknown patient id is a 404, not a 500."""
    login_as("frontdesk")
    assert client.get("/schedule/book?patient_id=").status_code == 404
    assert client.get("/schedule/book?patient_id=abc").status_code == 404
    assert client.get("/schedule/book?patient_id=99999").status_code == 404


def test_search_form_changes_type_and_day(client, login_as, clinic):
    """Choosing the series type and a day shows that day's starts; junk input is ignored or
    said plainly, never a 500."""
    login_as("frontdesk")
    html = client.get(f"/schedule/book?patient_id={clinic['patient']}&appointment_type={clinic['series']}"
                      "&day=2027-02-01").get_data(as_text=True)
    assert "(300 minute block) on Mon 1 Feb 2027" in html and "08:00 to 13:00" in html
    assert "Earlier day: Fri 29 Jan 2027" in html and "Later day: Tue 2 Feb 2027" in html
    assert client.get(f"/schedule/book?patient_id={clinic['patient']}&appointment_type=x&clinician=y"
                      "&day=nonsense").status_code == 200


def test_full_window_is_said_plainly(client, login_as, app, frozen_clock):
    """When the window has no free slot left, the page says so and offers times after it."""
    with app.app_context():
        setup = setup_clinic(chairs=1)
        patient, _ = maintenance_patient(date(2026, 12, 14), min_days=21, max_days=21)  # window = Jan 4
        for hour in (8, 13):
            add_appointment(make_patient(), setup["chairs"][0], setup["series"], at(MONDAY, hour))
        db.session.commit()
        patient_id = patient.id
    login_as("frontdesk")
    html = client.get(f"/schedule/book?patient_id={patient_id}").get_data(as_text=True)
    assert "The window has no free slot left for Maintenance 40 min." in html
    assert "The earliest free times after it closes are shown." in html
    assert "on Tue 5 Jan 2027" in html and "08:00 to 09:40" in html


def test_series_patient_gets_next_day_proposals(client, login_as, app, frozen_clock):
    """During a series the finder starts the next day with the series type."""
    with app.app_context():
        setup_clinic()
        patient, _ = series_patient()
        db.session.commit()
        patient_id = patient.id
    login_as("frontdesk")
    html = client.get(f"/schedule/book?patient_id={patient_id}").get_data(as_text=True)
    assert "Series in progress: 0 of 6 sessions given" in html
    assert "on Tue 5 Jan 2027" in html and "08:00 to 13:00" in html


def test_book_series_page(client, login_as, app, frozen_clock):
    """A whole series in one step: N sessions on the chosen weekdays, then the week view."""
    with app.app_context():
        setup = setup_clinic()
        patient, _ = series_patient()
        db.session.commit()
        patient_id, series_id = patient.id, setup["series"].id
    login_as("frontdesk")
    assert client.get(f"/schedule/book-series?patient_id={patient_id}").status_code == 200
    response = client.post(f"/schedule/book-series?patient_id={patient_id}", data={
        "appointment_type_id": series_id, "first_day": "2027-01-05", "weekdays": ["0", "2", "4"],
        "wall_time": "09:00", "count": "6", "chair_id": "", "clinician_id": ""})
    assert response.status_code == 303 and "/schedule/week?date=2027-01-06" in response.headers["Location"]
    starts = [a.start_at.astimezone(ZONE).date() for a in _appointments(app)]
    assert starts == [date(2027, 1, d) for d in (6, 8, 11, 13, 15, 18)]
    with app.app_context():  # one booked notice for the whole series, on its first visit
        rows = db.session.execute(select(Reminder.kind, Reminder.appointment_id)).all()
        assert rows == [("visit_booked", _appointments(app)[0].id)]


def test_book_series_errors(client, login_as, app, frozen_clock):
    """No weekday, an unknown weekday, a bad count or a clash: field errors, nothing saved."""
    with app.app_context():
        setup = setup_clinic(chairs=1)
        patient, _ = series_patient()
        add_appointment(make_patient(), setup["chairs"][0], setup["series"], at(date(2027, 1, 11), 9))
        db.session.commit()
        patient_id, series_id = patient.id, setup["series"].id
    login_as("frontdesk")
    data = {"appointment_type_id": series_id, "first_day": "2027-01-05", "weekdays": ["0"],
            "wall_time": "09:00", "count": "2", "chair_id": "", "clinician_id": ""}
    for change, message in (({"weekdays": []}, "Choose at least one weekday."),
                            ({"weekdays": ["0", "7"]}, "is not a valid choice for this field"),
                            ({"weekdays": [""]}, "Choose at least one weekday."),
                            ({"count": "99"}, "Book between 1 and 30 sessions."),
                            ({}, "Mon 11 Jan 2027: That chair is already booked")):
        response = client.post(f"/schedule/book-series?patient_id={patient_id}", data={**data, **change})
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert len(_appointments(app)) == 1


def _status(client, appointment_id, action, reason=None):
    data = {"action": action}
    if reason is not None:
        data["reason"] = reason
    return client.post(f"/schedule/appointments/{appointment_id}/status", data=data)


def test_status_actions_from_the_appointment_page(client, login_as, clinic, app):
    """Confirm then cancel with a reason: each a POST with PRG, each kept in the history."""
    with app.app_context():
        appointment = add_appointment(db.session.get(Patient, clinic["patient"]),
                                      _chair(clinic, 0), _type(clinic), at(date(2027, 1, 20), 9),
                                      status="pending")
        db.session.commit()
        appointment_id = appointment.id
    user = login_as("frontdesk")
    page = client.get(f"/schedule/appointments/{appointment_id}").get_data(as_text=True)
    assert ">Confirm</button>" in page and "Reason for cancelling" in page
    assert _status(client, appointment_id, "confirm").status_code == 303
    response = _status(client, appointment_id, "cancel", "")
    assert response.status_code == 400 and "Choose why the appointment is cancelled." in response.get_data(as_text=True)
    assert _status(client, appointment_id, "cancel", "patient").status_code == 303
    with app.app_context():
        stored = db.session.get(Appointment, appointment_id)
        assert (stored.status, stored.cancel_reason, stored.sequence) == ("cancelled", "patient", 2)
        changes = db.session.execute(select(AppointmentStatusChange.to_status, AppointmentStatusChange.user_id)
                                     .where(AppointmentStatusChange.appointment_id == appointment_id)
                                     .order_by(AppointmentStatusChange.id)).all()
        assert changes[1:] == [("booked", user.id), ("cancelled", user.id)]
    page = client.get(f"/schedule/appointments/{appointment_id}").get_data(as_text=True)
    assert "Patient cancelled" in page and ">Confirm</button>" not in page


def test_forbidden_transition_refused_with_message(client, login_as, clinic, app):
    """Confirming a fulfilled appointment is refused with a message; the status stays."""
    with app.app_context():
        appointment = add_appointment(db.session.get(Patient, clinic["patient"]),
                                      _chair(clinic, 0), _type(clinic), at(date(2026, 12, 20), 9),
                                      status="fulfilled")
        db.session.commit()
        appointment_id = appointment.id
    login_as("frontdesk")
    response = _status(client, appointment_id, "confirm")
    assert response.status_code == 400
    assert "An appointment that is completed cannot be marked confirmed." in response.get_data(as_text=True)
    assert _status(client, appointment_id, "bogus").status_code == 303
    with app.app_context():
        assert db.session.get(Appointment, appointment_id).status == "fulfilled"


def test_status_change_is_a_post_only(client, login_as, clinic):
    """GET on the status URL changes nothing (405)."""
    login_as("frontdesk")
    assert client.get("/schedule/appointments/1/status").status_code == 405


def test_reschedule_page_moves_and_links(client, login_as, clinic, app):
    """Cancel and rebook proposes times; choosing one cancels the old appointment and links the
    new one."""
    with app.app_context():
        old = add_appointment(db.session.get(Patient, clinic["patient"]), _chair(clinic, 0),
                              _type(clinic), at(date(2027, 1, 20), 9), status="booked")
        db.session.commit()
        old_id = old.id
    login_as("frontdesk")
    page = client.get(f"/schedule/appointments/{old_id}/reschedule").get_data(as_text=True)
    assert "Cancel and book this time" in page
    response = client.post(f"/schedule/appointments/{old_id}/reschedule", data={
        "appointment_type_id": clinic["maintenance"], "slot": "other", "start_at": "2027-01-21T10:00",
        "chair_id": clinic["chairs"][2], "reason": "clinic"})
    assert response.status_code == 303
    old, new = _appointments(app)
    assert (old.status, old.cancel_reason) == ("cancelled", "clinic")
    assert new.rescheduled_from_id == old.id and new.start_at == at(date(2027, 1, 21), 10)
    page = client.get(f"/schedule/appointments/{old.id}").get_data(as_text=True)
    assert f"/schedule/appointments/{new.id}" in page


def test_complete_prefills_and_reanchors(client, login_as, app, frozen_clock):
    """The clinician's infusion form opens pre-filled; saving records it, re-anchors, fulfils."""
    with app.app_context():
        setup = setup_clinic()
        patient, course = maintenance_patient(date(2026, 11, 1))
        appointment = add_appointment(patient, setup["chairs"][0], setup["maintenance"],
                                      at(MONDAY, 9), status="arrived", course=course)
        db.session.commit()
        appointment_id, course_id = appointment.id, course.id
    login_as("clinician")
    page = client.get(f"/schedule/appointments/{appointment_id}/complete").get_data(as_text=True)
    assert 'value="2027-01-04T09:15"' in page and 'name="duration_min"' in page and 'value="40"' in page
    response = client.post(f"/schedule/appointments/{appointment_id}/complete", data={
        "given_at": "2027-01-04T09:15", "outcome": "completed", "weight_kg": "70",
        "dose_mg_per_kg": "0.5", "duration_min": "40", "pain_before": "7", "pain_after": "2"})
    assert response.status_code == 303
    with app.app_context():
        course = db.session.get(Course, course_id)
        assert course.anchor_date == MONDAY and course.window_opens == MONDAY + timedelta(days=30)
        assert db.session.get(Appointment, appointment_id).status == "fulfilled"
        assert db.session.scalar(select(Infusion.appointment_id).where(Infusion.given_on == MONDAY)) == appointment_id


def test_complete_errors_and_roles(client, login_as, app, frozen_clock):
    """Front desk cannot record sessions (403); bad values are field errors and change nothing."""
    with app.app_context():
        setup = setup_clinic()
        patient, course = maintenance_patient(date(2026, 11, 1))
        appointment = add_appointment(patient, setup["chairs"][0], setup["maintenance"],
                                      at(MONDAY, 9), status="booked", course=course)
        db.session.commit()
        appointment_id = appointment.id
    login_as("frontdesk")
    assert client.get(f"/schedule/appointments/{appointment_id}/complete").status_code == 403
    client.post("/logout")
    login_as("clinician")
    response = client.post(f"/schedule/appointments/{appointment_id}/complete", data={
        "given_at": "2027-01-05T09:15", "outcome": "completed", "pain_before": "11"})
    assert response.status_code == 400 and "Pain before" in response.get_data(as_text=True)
    response = client.post(f"/schedule/appointments/{appointment_id}/complete", data={
        "given_at": "2027-01-05T09:15", "outcome": "completed"})
    assert response.status_code == 400 and "cannot be in the future" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Appointment, appointment_id).status == "booked"
        assert db.session.scalar(select(func.count()).select_from(Infusion)) == 1  # the anchor one


def test_patient_appointments_partial(app, client, login_as, clinic):
    """The patient page's partial lists the patient's appointments with links, in one query."""
    from flask import render_template
    from flask_login import login_user
    from sqlalchemy import event

    with app.app_context():
        patient = db.session.get(Patient, clinic["patient"])
        for day in (20, 21, 22):
            add_appointment(patient, _chair(clinic, 0), _type(clinic), at(date(2027, 1, day), 9))
        db.session.commit()
    user = login_as("frontdesk")
    statements = []
    with app.test_request_context("/"):
        login_user(db.session.get(type(user), user.id))
        patient = db.session.get(Patient, clinic["patient"])
        render_template("schedule/_patient_appointments.html", patient=patient)  # settings loaded
        def note(conn, cursor, statement, *rest):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", note)
        html = render_template("schedule/_patient_appointments.html", patient=patient)
        event.remove(db.engine, "before_cursor_execute", note)
    assert "Wed 20 Jan 2027, 09:00" in html and "Maintenance 40 min" in html and "/schedule/appointments/" in html
    assert html.count("/schedule/appointments/") == 3
    assert f"/schedule/book?patient_id={clinic['patient']}" in html
    assert len(statements) == 1


@pytest.mark.parametrize("data", [
    {"slot": "other", "start_at": "9999-12-31T23:30"},
    {"slot": "other", "start_at": "0001-01-01T00:10"},
    {"slot": "1|9999-12-31T23:59"},
    {"slot": "other", "start_at": "2027-03-14T02:30"},  # the clocks skip this time
    {"appointment_type_id": ""},
    {"appointment_type_id": "999"},
])
def test_absurd_booking_input_is_a_clear_error(client, login_as, clinic, app, data):
    """Extreme years, a skipped DST time, a missing or unknown type: 400 with a message, never 500."""
    login_as("frontdesk")
    form = {"appointment_type_id": clinic["maintenance"], "chair_id": clinic["chairs"][0], **data}
    response = client.post(f"/schedule/book?patient_id={clinic['patient']}", data=form)
    assert response.status_code == 400
    assert 'role="alert"' in response.get_data(as_text=True)
    assert _appointments(app) == []


def test_absurd_search_and_series_input(client, login_as, app, frozen_clock):
    """A far-away earliest day or series start is refused on its field, never a 500."""
    with app.app_context():
        setup = setup_clinic()
        patient, _ = series_patient()
        db.session.commit()
        patient_id, series_id = patient.id, setup["series"].id
    login_as("frontdesk")
    response = client.get(f"/schedule/book?patient_id={patient_id}&day=9999-12-01")
    assert response.status_code == 200 and "Choose a day from today to three years ahead (YYYY-MM-DD)." in response.get_data(as_text=True)
    for first_day, message in (("9999-12-27", "within the next year"), ("0001-01-01", "in the past")):
        response = client.post(f"/schedule/book-series?patient_id={patient_id}", data={
            "appointment_type_id": series_id, "first_day": first_day, "weekdays": ["0"],
            "wall_time": "09:00", "count": "3"})
        assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_proposal_taken_meanwhile_and_capacity_shown_on_the_list(client, login_as, clinic, app):
    """A proposal booked by someone else a moment ago, or over the clinician's capacity, is
    refused with its reason next to the free times."""
    from tracker.models import ClinicSettings

    with app.app_context():
        doctor = make_user("clinician")
        db.session.get(ClinicSettings, 1).max_concurrent_per_clinician = 1
        add_appointment(make_patient(), _chair(clinic, 0), _type(clinic), at(date(2027, 1, 14), 8),
                        clinician=doctor)
        db.session.commit()
        doctor_id = doctor.id
    login_as("frontdesk")
    url = f"/schedule/book?patient_id={clinic['patient']}"
    slot = f"{clinic['chairs'][0]}|{at(date(2027, 1, 14), 8).strftime('%Y-%m-%dT%H:%M')}"
    response = client.post(url, data={"appointment_type_id": clinic["maintenance"], "slot": slot})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'id="slot-error" role="alert">That chair is already booked from 08:00 to 09:40.', html)
    slot = f"{clinic['chairs'][1]}|{at(date(2027, 1, 14), 8).strftime('%Y-%m-%dT%H:%M')}"
    response = client.post(url, data={"appointment_type_id": clinic["maintenance"], "slot": slot,
                                      "clinician_id": doctor_id})
    assert response.status_code == 400
    assert re.search(r'id="slot-error" role="alert">The supervising clinician already runs 1 infusions',
                     response.get_data(as_text=True))
    assert len(_appointments(app)) == 1
