"""The day sheet and the week view: layout, highlighting, navigation, print, bounded queries."""
import re
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event

from tracker.extensions import db
from tracker.models import ClosedDate

from .factories import make_patient, make_user
from .schedule_fixtures import MONDAY, add_appointment, at, frozen_clock, setup_clinic  # noqa: F401


@contextmanager
def count_queries(app):
    """Count the SQL statements the app sends while the block runs."""
    with app.app_context():
        engine = db.engine
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _fill_day(app, chairs: int, per_chair: int, clinician_email=None):
    """`chairs` chairs, each booked back to back from 08:00 with `per_chair` maintenance blocks."""
    with app.app_context():
        clinic = setup_clinic(chairs=chairs)
        doctor = make_user("clinician", email=clinician_email) if clinician_email else None
        for chair in clinic["chairs"]:
            for n in range(per_chair):
                minutes = 8 * 60 + n * 100
                add_appointment(make_patient(), chair, clinic["maintenance"],
                                at(MONDAY, minutes // 60, minutes % 60), clinician=doctor)
        db.session.commit()


def test_day_sheet_grid_chairs_as_columns(app, client, login_as, frozen_clock):
    """Chairs are columns, wall-clock times rows; a block shows patient, type and status."""
    with app.app_context():
        clinic = setup_clinic(chairs=2)
        patient = make_patient(first_name="Dana", last_name="Okafor")
        add_appointment(patient, clinic["chairs"][1], clinic["series"], at(MONDAY, 9), status="pending")
        db.session.commit()
    login_as("frontdesk")
    html = client.get("/schedule/day?date=2027-01-04").get_data(as_text=True)
    assert re.search(r'<th scope="col">Chair 1</th>\s*<th scope="col">Chair 2</th>', html)
    assert '<th scope="row" class="time-col">08:00</th>' in html and '<th scope="row" class="time-col">17:45</th>' in html
    block = re.search(r'<td rowspan="(\d+)" class="block appt-pending">(.*?)</td>', html, re.S)
    assert block.group(1) == "20"  # 5 hours in 15-minute rows
    assert "Dana Okafor" in block.group(2) and "Series 4 h" in block.group(2)
    assert "09:00–14:00" in block.group(2) and "booked, not yet confirmed" in block.group(2)


def test_day_sheet_navigation_and_print_stylesheet(app, client, login_as, frozen_clock):
    """Previous/next day links, a date picker, and the schedule stylesheet with print rules."""
    with app.app_context():
        setup_clinic()
        db.session.commit()
    login_as("frontdesk")
    html = client.get("/schedule/day?date=2027-01-04").get_data(as_text=True)
    assert 'href="/schedule/day?date=2027-01-03"' in html and 'href="/schedule/day?date=2027-01-05"' in html
    assert '<label for="sheet-date">Date</label>' in html
    assert "css/schedule.css" in html
    response = client.get("/static/css/schedule.css")
    css = response.get_data(as_text=True)
    response.close()
    assert "@media print" in css and "@page" in css


def test_day_sheet_defaults_to_today_and_rejects_junk(app, client, login_as, frozen_clock):
    """No date means today; a bad date says so and shows today, never a 500."""
    with app.app_context():
        setup_clinic()
        db.session.commit()
    login_as("clinician")
    assert "Mon 4 Jan 2027" in client.get("/schedule/day").get_data(as_text=True)
    for junk in ("2027-02-30", "yesterday", "0001-01-01", "9999-12-31"):
        response = client.get(f"/schedule/day?date={junk}")
        assert response.status_code == 400 and "showing today" in response.get_data(as_text=True)


def test_clinician_sees_own_sessions_highlighted(app, client, login_as, frozen_clock):
    """The logged-in clinician's own sessions carry the highlight and the words 'Your session'."""
    doctor = login_as("clinician")
    with app.app_context():
        clinic = setup_clinic()
        other = make_user("clinician")
        add_appointment(make_patient(), clinic["chairs"][0], clinic["maintenance"], at(MONDAY, 9),
                        clinician=db.session.get(type(other), doctor.id))
        add_appointment(make_patient(), clinic["chairs"][1], clinic["maintenance"], at(MONDAY, 9),
                        clinician=other)
        db.session.commit()
    html = client.get("/schedule/day?date=2027-01-04").get_data(as_text=True)
    assert html.count("block appt-booked mine") == 1 and html.count("Your session</strong>") == 1


def test_closed_day_and_cancelled_list(app, client, login_as, frozen_clock):
    """A closed date says so; cancelled appointments are listed under the grid, not in it."""
    with app.app_context():
        clinic = setup_clinic()
        db.session.add(ClosedDate(on=date(2027, 1, 5), reason="Staff training"))
        add_appointment(make_patient(last_name="Cancelledone"), clinic["chairs"][0],
                        clinic["maintenance"], at(MONDAY, 9), status="cancelled")
        add_appointment(make_patient(), clinic["chairs"][0], clinic["maintenance"], at(MONDAY, 9))
        db.session.commit()
    login_as("frontdesk")
    assert "<strong>Closed</strong>: Staff training." in client.get("/schedule/day?date=2027-01-05").get_data(as_text=True)
    html = client.get("/schedule/day?date=2027-01-04").get_data(as_text=True)
    grid, _, below = html.partition("<h2>Cancelled</h2>")
    assert "Cancelledone" in below and "Cancelledone" not in grid


def test_day_sheet_queries_are_bounded(app, client, login_as, frozen_clock):
    """12 chairs with a full day render in the same handful of queries as one appointment."""
    _fill_day(app, chairs=12, per_chair=6)
    login_as("frontdesk")
    client.get("/schedule/day?date=2027-01-05")  # warm up the session and settings
    with count_queries(app) as full:
        response = client.get("/schedule/day?date=2027-01-04")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="block appt-booked') == 72
    with count_queries(app) as empty:
        client.get("/schedule/day?date=2027-01-05")
    assert len(full) <= 10 and len(full) == len(empty), (len(full), len(empty))


def test_week_view_lists_each_day(app, client, login_as, frozen_clock):
    """The week runs Monday to Sunday with each day's appointments and links to the day sheets."""
    _fill_day(app, chairs=12, per_chair=6)
    login_as("frontdesk")
    html = client.get("/schedule/week?date=2027-01-06").get_data(as_text=True)
    assert "Week of Mon 4 Jan 2027" in html
    assert 'href="/schedule/day?date=2027-01-04">Mon 4 Jan 2027' in html
    assert html.count("Maintenance 40 min") == 72
    assert 'href="/schedule/week?date=2026-12-28"' in html and 'href="/schedule/week?date=2027-01-11"' in html
    with count_queries(app) as full:
        client.get("/schedule/week?date=2027-01-06")
    with count_queries(app) as empty:
        client.get("/schedule/week?date=2027-01-13")
    assert len(full) <= 10 and len(full) == len(empty), (len(full), len(empty))


@pytest.mark.parametrize("role", ["frontdesk", "clinician", "admin"])
def test_every_role_sees_the_schedule(app, client, login_as, frozen_clock, role):
    """Any logged-in staff member can read the day sheet and the week."""
    login_as(role)
    assert client.get("/schedule/day").status_code == 200
    assert client.get("/schedule/week").status_code == 200


def test_schedule_needs_login(client):
    """Anonymous visitors are sent to the login page."""
    assert "/login" in client.get("/schedule/day").headers["Location"]
    assert "/login" in client.get("/schedule/book?patient_id=1").headers["Location"]
