"""The week calendar and the day sheet as booking surfaces: empty times open booking for that
chair and start, the patient chosen first; confirmed at booking; a series confirmed at once."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Appointment, ClosedDate

from .factories import make_patient
from .schedule_fixtures import (  # noqa: F401
    MONDAY,
    add_appointment,
    at,
    frozen_clock,
    series_patient,
    setup_clinic,
)

WEDNESDAY = MONDAY + timedelta(days=2)
pytestmark = pytest.mark.usefixtures("frozen_clock")


def _statuses(app):
    with app.app_context():
        return db.session.scalars(select(Appointment.status).order_by(Appointment.id)).all()


def test_week_grid_has_each_days_chairs_and_bookable_times(app, client, login_as):
    """Each open day has its chairs as columns on one time grid; an empty open time links to
    booking that chair and start; a block links to its appointment and to moving it; a closed
    weekday is one narrow column; Print is offered."""
    with app.app_context():
        clinic = setup_clinic(chairs=2)
        db.session.add(ClosedDate(on=MONDAY + timedelta(days=1), reason="Staff training"))
        visit = add_appointment(
            make_patient(first_name="Noa", last_name="Berg"),
            clinic["chairs"][1],
            clinic["maintenance"],
            at(WEDNESDAY, 9),
        )
        db.session.commit()
        visit_id, chair_id = visit.id, clinic["chairs"][0].id
    login_as("frontdesk")
    html = client.get("/schedule/week?date=2027-01-06").get_data(as_text=True)
    assert html.count('scope="colgroup" colspan="2"') == 4  # Mon, Wed-Fri (Tuesday closed by date)
    assert "closed: Staff training" in html and html.count('class="week-day-head closed-day"') == 3
    assert f'href="/schedule/book?chair={chair_id}&amp;start=2027-01-06T09:00"' in html
    assert "Book Chair 1, Wed 6 Jan 2027 at 09:00" in html
    assert (
        f'href="/schedule/appointments/{visit_id}"' in html
        and f'/appointments/{visit_id}/move"' in html
    )
    assert "start=2027-01-05T09:00" not in html  # the closed date offers nothing to book
    assert "data-print" in html and "js/schedule.js" in html


def test_day_sheet_offers_click_to_book_and_marks_now(app, client, login_as):
    """The day sheet links its empty open times to booking; past times and closed hours are not
    bookable; today carries the 'now' line in the row of the current time."""
    with app.app_context():
        clinic = setup_clinic(chairs=1)
        db.session.commit()
        chair_id = clinic["chairs"][0].id
    login_as("frontdesk")
    html = client.get("/schedule/day?date=2027-01-06").get_data(as_text=True)
    assert f"/schedule/book?chair={chair_id}&amp;start=2027-01-06T08:00" in html
    assert "start=2027-01-06T18:00" not in html  # closing time
    today = client.get("/schedule/day").get_data(as_text=True)  # the frozen clock: Mon 07:00
    assert 'class="now-row"' not in today  # 07:00 is before the first row (08:00)


def test_booking_from_an_empty_cell(app, client, login_as):
    """The cell opens a patient search; choosing the patient shows that day with the clicked chair
    and start chosen; Book saves it, confirmed when ticked."""
    with app.app_context():
        clinic = setup_clinic(chairs=2)
        patient = make_patient(first_name="Lena", last_name="Quist", mrn="MRN-CAL-1")
        make_patient(first_name="Other", last_name="Person")
        db.session.commit()
        chair_id, patient_id = clinic["chairs"][1].id, patient.id
    login_as("frontdesk")
    cell = f"chair={chair_id}&start=2027-01-06T10:00"
    page = client.get(f"/schedule/book?{cell}").get_data(as_text=True)
    assert "Book Chair 2, Wed 6 Jan 2027 at 10:00" in page and 'name="q"' in page
    page = client.get(f"/schedule/book?{cell}&q=quist").get_data(as_text=True)
    assert "Book Lena Quist" in page and "Other Person" not in page
    link = re.search(r'href="(/schedule/book\?patient_id=[^"]+)">Book Lena Quist', page).group(1)
    page = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    value = f"{chair_id}|{at(WEDNESDAY, 10).strftime('%Y-%m-%dT%H:%M')}"
    assert re.search(rf'value="{re.escape(value)}" checked', page)
    assert page.count(" checked") == 1
    response = client.post(
        f"/schedule/book?patient_id={patient_id}",
        data={
            "appointment_type_id": _maintenance_id(app),
            "slot": value,
            "confirmed": "y",
            "day": "2027-01-06",
        },
    )
    assert response.status_code == 303
    assert "(confirmed)" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _statuses(app) == ["booked"]
    assert (
        client.get("/schedule/book?chair=1&start=2027-01-06T10:00&q=%25%25%25").status_code == 200
    )


def test_a_cell_taken_meanwhile_is_refused_beside_the_days_times(app, client, login_as):
    """Someone booked the clicked chair time meanwhile: on opening it is offered as 'another time'
    with a notice; booking it anyway is refused on the page (400) and saves nothing."""
    with app.app_context():
        clinic = setup_clinic(chairs=1)
        patient = make_patient()
        add_appointment(
            make_patient(), clinic["chairs"][0], clinic["maintenance"], at(WEDNESDAY, 10)
        )
        db.session.commit()
        chair_id, patient_id = clinic["chairs"][0].id, patient.id
    login_as("frontdesk")
    page = client.get(
        f"/schedule/book?patient_id={patient_id}&chair={chair_id}&start=2027-01-06T10:00"
    )
    html = page.get_data(as_text=True)
    assert "Chair 1 at 10:00 is not free for this appointment type" in html
    assert 'id="slot-other" value="other" checked' in html and 'value="2027-01-06T10:00"' in html
    value = f"{chair_id}|{at(WEDNESDAY, 10).strftime('%Y-%m-%dT%H:%M')}"
    response = client.post(
        f"/schedule/book?patient_id={patient_id}",
        data={"appointment_type_id": _maintenance_id(app), "slot": value, "day": "2027-01-06"},
    )
    html = response.get_data(as_text=True)
    assert (
        response.status_code == 400 and "That chair is already booked from 10:00 to 11:40." in html
    )
    assert (
        "on Wed 6 Jan 2027" in html and "11:45 to 13:25" in html
    )  # the day's free starts beside it
    assert len(_statuses(app)) == 1


def test_series_form_boxes_are_not_each_required(app, client, login_as):
    """No weekday box carries `required` (the browser would demand all seven); 'at least one' is
    checked on the server and announced beside the group."""
    with app.app_context():
        setup_clinic()
        patient, _ = series_patient()
        db.session.commit()
        patient_id = patient.id
    login_as("frontdesk")
    html = client.get(f"/schedule/book-series?patient_id={patient_id}").get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*name="weekdays"[^>]*>', html)
    assert len(boxes) == 7 and not any("required" in box for box in boxes)
    assert sum("checked" in box for box in boxes) == 3
    response = client.post(
        f"/schedule/book-series?patient_id={patient_id}",
        data={
            "appointment_type_id": "2",
            "first_day": "2027-01-05",
            "wall_time": "09:00",
            "count": "2",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="weekdays-error" role="alert">Choose at least one weekday.' in html
    assert 'aria-describedby="weekdays-hint weekdays-error"' in html


def test_series_confirmed_at_booking_or_in_one_action(app, client, login_as):
    """A series booked as confirmed is confirmed throughout; an unconfirmed one is confirmed with
    one button on the patient page."""
    with app.app_context():
        clinic = setup_clinic()
        patient, _ = series_patient()
        db.session.commit()
        patient_id, series_id = patient.id, clinic["series"].id
    login_as("frontdesk")
    data = {
        "appointment_type_id": series_id,
        "first_day": "2027-01-05",
        "weekdays": ["1", "3"],
        "wall_time": "09:00",
        "count": "2",
    }
    response = client.post(
        f"/schedule/book-series?patient_id={patient_id}", data={**data, "confirmed": "y"}
    )
    assert response.status_code == 303 and _statuses(app) == ["booked", "booked"]
    client.post(
        f"/schedule/book-series?patient_id={patient_id}", data={**data, "first_day": "2027-01-11"}
    )
    assert _statuses(app) == ["booked", "booked", "pending", "pending"]
    page = client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "Confirm all unconfirmed appointments" in page
    response = client.post(
        f"/schedule/patients/{patient_id}/confirm-all", data={"next_url": f"/patients/{patient_id}"}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/patients/{patient_id}"
    )
    assert _statuses(app) == ["booked"] * 4
    assert "Confirmed 2 appointments." in client.get(f"/patients/{patient_id}").get_data(
        as_text=True
    )
    assert client.get(f"/schedule/patients/{patient_id}/confirm-all").status_code == 405
    response = client.post(
        f"/schedule/patients/{patient_id}/confirm-all", data={"next_url": "//evil.test/"}
    )
    assert response.headers["Location"].endswith(f"/patients/{patient_id}")


def _maintenance_id(app):
    with app.app_context():
        from tracker.models import AppointmentType

        return db.session.scalar(
            select(AppointmentType.id).where(AppointmentType.for_series.is_(False))
        )
