"""Admin pages for chairs, opening hours, closed dates, appointment types and capacity."""
from datetime import date, time

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import (
    Appointment, AppointmentType, AuditEvent, Chair, ClinicSettings, ClosedDate, OpeningHours, Reminder,
)

from .factories import make_patient
from .schedule_fixtures import MONDAY, add_appointment, at, frozen_clock, setup_clinic  # noqa: F401

ADMIN_PAGES = ("/schedule/chairs", "/schedule/hours", "/schedule/closed-dates",
               "/schedule/appointment-types", "/schedule/capacity")


def _all(app, model, order):
    with app.app_context():
        return db.session.scalars(select(model).order_by(order)).all()


@pytest.mark.parametrize("role", ["frontdesk", "clinician"])
def test_admin_pages_refuse_other_roles(client, login_as, role):
    """Only admins reach the resource pages, on GET and POST."""
    login_as(role)
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 403
        assert client.post(url, data={}).status_code == 403


def test_admin_pages_render(client, login_as):
    """Each resource page renders for an admin with labelled controls."""
    login_as("admin")
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<label" in response.get_data(as_text=True)


def test_chairs_add_rename_deactivate(app, client, login_as):
    """Add a chair, refuse a duplicate name, rename it, take it out of use and back."""
    login_as("admin")
    assert client.post("/schedule/chairs", data={"new-name": "Chair A", "new-position": "1"}).status_code == 303
    response = client.post("/schedule/chairs", data={"new-name": "chair a"})
    assert response.status_code == 400 and "already exists" in response.get_data(as_text=True)
    response = client.post("/schedule/chairs", data={"new-name": ""})
    assert response.status_code == 400 and "Enter a name." in response.get_data(as_text=True)
    [chair] = _all(app, Chair, Chair.id)
    assert client.post(f"/schedule/chairs/{chair.id}", data={
        f"chair{chair.id}-name": "Window chair", f"chair{chair.id}-position": "2"}).status_code == 303
    assert client.post(f"/schedule/chairs/{chair.id}/active", data={"active": "0"}).status_code == 303
    [chair] = _all(app, Chair, Chair.id)
    assert (chair.name, chair.position, chair.active) == ("Window chair", 2, False)
    client.post(f"/schedule/chairs/{chair.id}/active", data={"active": "1"})
    assert _all(app, Chair, Chair.id)[0].active
    assert client.post("/schedule/chairs/9999", data={}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.entity == "chair"))


def test_chair_rename_keeps_names_unique(app, client, login_as):
    """Renaming a chair to another chair's name is refused on its row; keeping its own name is not."""
    login_as("admin")
    for name in ("Chair A", "Chair B"):
        assert client.post("/schedule/chairs", data={"new-name": name}).status_code == 303
    first, second = _all(app, Chair, Chair.id)
    response = client.post(f"/schedule/chairs/{second.id}", data={f"chair{second.id}-name": "chair a"})
    assert response.status_code == 400 and "A chair with this name already exists." in response.get_data(as_text=True)
    assert client.post(f"/schedule/chairs/{first.id}", data={
        f"chair{first.id}-name": " Chair A ", f"chair{first.id}-position": "5"}).status_code == 303
    assert [(c.name, c.position) for c in _all(app, Chair, Chair.id)] == [("Chair A", 5), ("Chair B", 0)]
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "chair")
                                     .order_by(AuditEvent.id)).all()
    assert actions == ["create", "create", "update"]


def test_opening_hours_per_weekday(app, client, login_as):
    """Hours are saved per weekday; an unticked day is closed; closing before opening is refused."""
    login_as("admin")
    data = {}
    for day in range(7):
        data[f"days-{day}-opens"] = "08:30"
        data[f"days-{day}-closes"] = "17:00"
        if day < 5:
            data[f"days-{day}-open"] = "y"
    assert client.post("/schedule/hours", data=data).status_code == 303
    rows = _all(app, OpeningHours, OpeningHours.weekday)
    assert [(r.weekday, r.opens, r.closes) for r in rows] == [(d, time(8, 30), time(17)) for d in range(5)]
    response = client.post("/schedule/hours", data={**data, "days-0-closes": "07:00"})
    assert response.status_code == 400 and "Closing must be after opening." in response.get_data(as_text=True)
    response = client.post("/schedule/hours", data={**data, "days-1-opens": ""})
    assert response.status_code == 400 and "Enter the opening time." in response.get_data(as_text=True)
    assert _all(app, OpeningHours, OpeningHours.weekday)[0].closes == time(17)
    page = client.get("/schedule/hours").get_data(as_text=True)
    assert '<input checked id="days-4-open"' in page and '<input id="days-5-open"' in page


def test_closed_dates_add_warn_and_remove(app, client, login_as, frozen_clock):
    """A closed date is added (warning about bookings that day), refused twice, and removed."""
    with app.app_context():
        clinic = setup_clinic()
        add_appointment(make_patient(), clinic["chairs"][0], clinic["maintenance"], at(MONDAY, 9))
        db.session.commit()
    login_as("admin")
    response = client.post("/schedule/closed-dates", data={"on": "2027-01-04", "reason": "Flood"},
                           follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "1 visit is still booked that day" in body and ">Reschedule</a>" in body
    response = client.post("/schedule/closed-dates", data={"on": "2027-01-04"})
    assert response.status_code == 400 and "already closed" in response.get_data(as_text=True)
    assert client.post("/schedule/closed-dates", data={"on": "soon"}).status_code == 400
    [closed] = _all(app, ClosedDate, ClosedDate.on)
    assert (closed.on, closed.reason) == (date(2027, 1, 4), "Flood")
    assert client.post(f"/schedule/closed-dates/{closed.id}/delete").status_code == 303
    assert _all(app, ClosedDate, ClosedDate.on) == []


def test_closing_a_booked_day_cancels_and_tells_the_patients(app, client, login_as, frozen_clock):
    """After closing a day, its visits are listed; cancelling them with 'email' ticked plans one
    cancellation per patient who may be emailed; the day sheet says the day is closed."""
    with app.app_context():
        clinic = setup_clinic()
        told = make_patient()
        first = add_appointment(told, clinic["chairs"][0], clinic["maintenance"], at(MONDAY, 9))
        add_appointment(make_patient(email_consent=False), clinic["chairs"][1], clinic["maintenance"], at(MONDAY, 9))
        db.session.commit()
        first_id = first.id
    login_as("admin")
    closed = client.post("/schedule/closed-dates", data={"on": "2027-01-04", "reason": "Flood"})
    assert closed.status_code == 303 and "/schedule/closed-dates/" in closed.headers["Location"]
    listing = client.get(closed.headers["Location"]).get_data(as_text=True)
    assert "2 visits are still booked that day" in listing and listing.count(">Reschedule</a>") == 2
    assert 'name="notify" type="checkbox" value="y" checked' in listing or 'checked id="notify"' in listing
    day_id = closed.headers["Location"].rsplit("/", 1)[1]
    sheet = client.get("/schedule/day?date=2027-01-04").get_data(as_text=True)
    assert "<strong>Closed</strong>: Flood." in sheet and f"/schedule/closed-dates/{day_id}" in sheet
    done = client.post(f"/schedule/closed-dates/{day_id}/cancel-visits", data={"notify": "y"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Cancelled 2 visits. A cancellation email goes to 1 of them." in done
    assert "No visits are booked that day." in done
    with app.app_context():
        rows = db.session.scalars(select(Reminder)).all()
        assert [(r.kind, r.appointment_id) for r in rows] == [("visit_cancelled", first_id)]
        statuses = db.session.scalars(select(Appointment.cancel_reason)).all()
        assert statuses == ["clinic", "clinic"]


def test_appointment_types_add_and_edit(app, client, login_as):
    """Types carry prep, infusion and recovery minutes; bad minutes are field errors."""
    login_as("admin")
    data = {"new-name": "Maintenance 40 min", "new-prep_min": "15", "new-infusion_min": "40",
            "new-recovery_min": "45", "new-active": "y"}
    assert client.post("/schedule/appointment-types", data=data).status_code == 303
    response = client.post("/schedule/appointment-types", data={**data, "new-name": "Other", "new-infusion_min": "0"})
    assert response.status_code == 400 and "Number must be between 1 and 720." in response.get_data(as_text=True)
    [kind] = _all(app, AppointmentType, AppointmentType.id)
    assert kind.block_minutes == 100 and kind.active
    prefix = f"type{kind.id}-"
    assert client.post(f"/schedule/appointment-types/{kind.id}", data={
        prefix + "name": "Series 4 h", prefix + "prep_min": "15", prefix + "infusion_min": "240",
        prefix + "recovery_min": "45", prefix + "for_series": "y"}).status_code == 303
    [kind] = _all(app, AppointmentType, AppointmentType.id)
    assert (kind.name, kind.block_minutes, kind.for_series, kind.active) == ("Series 4 h", 300, True, False)


def test_capacity_setting(app, client, login_as):
    """The max concurrent infusions per clinician is a setting the admin changes."""
    login_as("admin")
    assert client.post("/schedule/capacity", data={"max_concurrent_per_clinician": "4",
                                                   "slot_step_min": "30"}).status_code == 303
    with app.app_context():
        settings = db.session.get(ClinicSettings, 1)
        assert (settings.max_concurrent_per_clinician, settings.slot_step_min) == (4, 30)
    response = client.post("/schedule/capacity", data={"max_concurrent_per_clinician": "0",
                                                       "slot_step_min": "30"})
    assert response.status_code == 400 and "Number must be between 1 and 50." in response.get_data(as_text=True)
