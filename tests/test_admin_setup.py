"""Admin set-up: the first-run checklist says what is missing; past closed dates are refused."""

import re
from datetime import time, timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AppointmentType, Chair, ClosedDate, OpeningHours
from tracker.services.clinic import clinic_today, get_settings

from .factories import make_user


def _steps(body: str) -> dict[str, str]:
    """Each checklist step's title and whether it is done or still to do."""
    found = re.findall(r'<li class="(done|todo)">\s*<strong>([^<]+)</strong>', body)
    return {title: state for state, title in found}


def test_checklist_on_a_fresh_clinic_lists_every_missing_step(client, login_as, app):
    """A new clinic (no chairs, hours, types, address, mail or other staff) has every step to do
    except the phone test fixture's number; each step links to the page that does it."""
    with app.app_context():
        get_settings().phone = ""
        db.session.commit()
    login_as("admin")
    body = client.get("/admin/").get_data(as_text=True)
    assert _steps(body) == {
        "Chairs": "todo",
        "Opening hours": "todo",
        "Appointment types": "todo",
        "Clinic phone and address": "todo",
        "Mail": "todo",
        "Staff accounts": "todo",
    }
    assert "6 of 6 steps still to do." in body
    assert "The clinic phone number and address are not set" in body
    assert "Still to add: a front-desk account and a clinician account." in body
    assert 'href="/schedule/chairs"' in body and 'href="/admin/settings#phone"' in body


def test_checklist_turns_done_as_the_clinic_is_set_up(client, login_as, app):
    """With chairs, hours, a type, phone and address, mail and both kinds of staff, all is done."""
    app.config["MAIL_SERVER"] = "smtp.clinic.test"
    with app.app_context():
        db.session.add_all(
            [
                Chair(name="Chair 1", position=1),
                OpeningHours(weekday=0, opens=time(8), closes=time(17)),
                AppointmentType(name="Maintenance", infusion_min=40),
            ]
        )
        get_settings().address = "12 Elm Street"
        make_user(role="frontdesk")
        make_user(role="clinician")
        db.session.commit()
    login_as("admin")
    body = client.get("/admin/").get_data(as_text=True)
    assert set(_steps(body).values()) == {"done"} and "Everything is set up." in body


def test_past_closed_date_is_refused_today_is_not(client, login_as, app):
    """Closing yesterday is a field error and stores nothing; closing today works."""
    login_as("admin")
    with app.app_context():
        today = clinic_today()
    refused = client.post(
        "/schedule/closed-dates", data={"on": (today - timedelta(days=1)).isoformat()}
    )
    assert refused.status_code == 400
    assert "That date has passed: choose today or a later date." in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(ClosedDate)).all() == []
    assert client.post("/schedule/closed-dates", data={"on": today.isoformat()}).status_code == 303
