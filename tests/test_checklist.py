"""The pre-visit checklist: default questions, answers from staff and from the patient's link,
refusals (a driver's phone that is not one, a question of another type), the audit, and the
state on the day sheet and the appointment page."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AppointmentType, AuditEvent, ChecklistAnswer, ChecklistItem, utcnow
from tracker.patient_links.tokens import make_token
from tracker.schedule.resources import save_appointment_type
from tracker.services import checklist
from tracker.services.clinic import clinic_zone
from tracker.services.errors import RuleError

from .factories import make_user
from .patient_link_fixtures import (
    assert_no_clinical_words,
    due_patient,
    open_clinic,
    snapshot,
    visit,
)


def _booked_visit(days: int = 3, status: str = "booked"):
    """A clinic whose maintenance type asks the default questions, and a visit of that type."""
    clinic = open_clinic()
    checklist.seed_defaults(clinic["maintenance"])
    checklist.seed_defaults(clinic["series"])
    patient, _ = due_patient()
    appointment = visit(
        patient, clinic["chairs"][0], clinic["maintenance"], utcnow() + timedelta(days=days), status
    )
    items = checklist.items_for(clinic["maintenance"].id)
    return clinic, patient, appointment, items


def _item(items, label):
    return next(item for item in items if item.label == label)


def _audits():
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "checklist_answer"))
    )


def test_defaults_are_the_four_neutral_questions_once(app_ctx):
    """A type gets fasting, driver (name and phone), medicine holds and no alcohol, in words with
    no drug or clinical name; seeding again adds nothing."""
    clinic = open_clinic()
    items = checklist.seed_defaults(clinic["maintenance"])
    assert [i.label for i in items] == ["Fasting", "Driver", "Medicine holds", "No alcohol"]
    assert [i.asks_driver for i in items] == [False, True, False, False]
    for item in items:
        assert_no_clinical_words(item.prompt)
    assert "24 hours" in items[3].prompt
    assert checklist.seed_defaults(clinic["maintenance"]) == []
    assert len(checklist.items_for(clinic["maintenance"].id)) == 4


def test_a_new_appointment_type_starts_with_the_defaults(app_ctx):
    """Adding a type on the admin page gives it the default questions (a new clinic too)."""
    admin = make_user(role="admin")
    kind = save_appointment_type(
        None,
        {
            "name": "Booster 1 h",
            "prep_min": 15,
            "infusion_min": 60,
            "recovery_min": 45,
            "for_series": False,
            "active": True,
            "bookable_online": False,
        },
        actor=admin,
    )
    assert [i.label for i in checklist.items_for(kind.id)][1] == "Driver"


def test_answers_are_stored_and_audited_with_who_gave_them(app_ctx):
    """The patient's answers are stored with "patient" and audited; the same answers again
    change nothing; a staff correction is audited with the staff member."""
    _, patient, appointment, items = _booked_visit()
    driver, fasting = _item(items, "Driver"), _item(items, "Fasting")
    given = {
        fasting.id: checklist.Answer(True),
        driver.id: checklist.Answer(True, "Sam Lee", "+1 (555) 010-2233"),
    }
    assert checklist.record_answers(appointment, given, actor="patient") == 2
    stored = checklist.answers_for(appointment.id)
    assert stored[driver.id].driver_name == "Sam Lee"
    assert stored[driver.id].driver_phone == "+1 (555) 010-2233"
    assert stored[driver.id].answered_by == "patient"
    audits = _audits()
    assert len(audits) == 2 and {a.actor for a in audits} == {"patient"}
    assert all(a.patient_id == patient.id for a in audits)
    assert checklist.record_answers(appointment, given, actor="patient") == 0
    staff = make_user(role="frontdesk", email="desk@example.test")
    assert (
        checklist.record_answers(appointment, {driver.id: checklist.Answer(False)}, actor=staff)
        == 1
    )
    row = checklist.answers_for(appointment.id)[driver.id]
    assert row.answer is False and row.driver_name is None and row.answered_by == staff.email
    last = _audits()[-1]
    assert last.actor == staff.email and last.action == "update"
    assert last.changes["before"]["answer"] is True and last.changes["after"]["answer"] is False


@pytest.mark.parametrize("phone", ["call me", "123", "555-0100 ext 12", "1" * 16, ""])
def test_a_driver_phone_of_the_wrong_shape_is_a_field_error(app_ctx, phone):
    """A yes on the driver item needs a phone number: a wrong shape is refused on its field."""
    _, _, appointment, items = _booked_visit()
    driver = _item(items, "Driver")
    with pytest.raises(RuleError) as refused:
        checklist.record_answers(
            appointment, {driver.id: checklist.Answer(True, "Sam Lee", phone)}, actor="patient"
        )
    assert refused.value.field == f"driver_phone_{driver.id}"


def test_a_driver_yes_needs_a_name(app_ctx):
    """A yes on the driver item without a name is refused on the name field."""
    _, _, appointment, items = _booked_visit()
    driver = _item(items, "Driver")
    with pytest.raises(RuleError) as refused:
        checklist.record_answers(
            appointment, {driver.id: checklist.Answer(True, " ", "555 010 2233")}, actor="patient"
        )
    assert refused.value.field == f"driver_name_{driver.id}"


def test_an_answer_for_another_types_question_is_refused(app_ctx):
    """A question of the series type (or a retired one) is not this visit's: nothing stored."""
    clinic, _, appointment, items = _booked_visit()
    other = checklist.items_for(clinic["series"].id)[0]
    fasting = _item(items, "Fasting")
    with pytest.raises(RuleError):
        checklist.record_answers(
            appointment,
            {fasting.id: checklist.Answer(True), other.id: checklist.Answer(True)},
            actor="patient",
        )
    retired = _item(items, "No alcohol")
    retired.active = False
    with pytest.raises(RuleError):
        checklist.record_answers(appointment, {retired.id: checklist.Answer(True)}, actor="patient")
    db.session.flush()
    assert db.session.scalar(select(db.func.count(ChecklistAnswer.id))) == 0


def test_a_cancelled_visit_takes_no_answers(app_ctx):
    """Answers are for a visit still to come."""
    _, _, appointment, items = _booked_visit(status="cancelled")
    with pytest.raises(RuleError):
        checklist.record_answers(
            appointment, {items[0].id: checklist.Answer(True)}, actor="patient"
        )


def test_state_counts_yes_answers_and_flags_no_driver(app_ctx):
    """Unanswered: checklist 0 of 4; three yes: 3 of 4; driver no: "no driver"; a type without
    questions has no state."""
    clinic, patient, appointment, items = _booked_visit()
    bare = AppointmentType(name="Consult", prep_min=0, infusion_min=30, recovery_min=0)
    db.session.add(bare)
    db.session.flush()
    other = visit(patient, clinic["chairs"][1], bare, utcnow() + timedelta(days=4))
    states = checklist.states_for([appointment, other])
    assert states[appointment.id].summary == "checklist 0 of 4" and other.id not in states
    yes = {item.id: checklist.Answer(True, "Sam Lee", "555 010 2233") for item in items[:3]}
    checklist.record_answers(appointment, yes, actor="patient")
    assert checklist.states_for([appointment])[appointment.id].summary == "checklist 3 of 4"
    checklist.record_answers(
        appointment, {_item(items, "Driver").id: checklist.Answer(False)}, actor="patient"
    )
    state = checklist.states_for([appointment])[appointment.id]
    assert state.no_driver and state.summary == "no driver" and (state.yes, state.no) == (2, 1)


# ------------------------------------------------------------------------ the patient's page


def _patient_link(app):
    with app.app_context():
        _, patient, appointment, items = _booked_visit()
        db.session.commit()
        with app.test_request_context():
            token = make_token("manage", patient.id, appointment.id)
        return f"/my/visit/{token}/checklist", appointment.id, {i.label: i.id for i in items}


def test_patient_page_get_changes_nothing_and_post_saves(app, client):
    """The link's page lists the questions (no clinical word); a GET stores nothing; the POST
    from the page saves and comes back saying so; the manage page links to it."""
    url, appointment_id, ids = _patient_link(app)
    with app.app_context():
        before = snapshot()
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Save my answers" in html
    assert "An adult will take me home after my visit." in html
    assert_no_clinical_words(html)
    with app.app_context():
        assert snapshot() == before
        assert db.session.scalar(select(db.func.count(ChecklistAnswer.id))) == 0
    assert "Before your visit: answer a few short questions" in client.get(
        url.removesuffix("/checklist")
    ).get_data(as_text=True)
    form = {
        f"answer_{ids['Fasting']}": "yes",
        f"answer_{ids['Driver']}": "yes",
        f"driver_name_{ids['Driver']}": "Sam Lee",
        f"driver_phone_{ids['Driver']}": "555 010 2233",
        f"answer_{ids['No alcohol']}": "no",
    }
    saved = client.post(url, data=form)
    assert saved.status_code == 303 and saved.headers["Location"].endswith("?saved=1")
    again = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "your answers are saved" in again and 'value="Sam Lee"' in again
    assert_no_clinical_words(again)
    with app.app_context():
        rows = db.session.scalars(
            select(ChecklistAnswer).where(ChecklistAnswer.appointment_id == appointment_id)
        ).all()
        assert len(rows) == 3 and {r.answered_by for r in rows} == {"patient"}
        assert {a.actor for a in _audits()} == {"patient"}


def test_patient_page_refuses_a_bad_phone_and_a_foreign_question(app, client):
    """A driver's phone of the wrong shape is an error on that field (400, nothing saved); an
    answer naming a question this visit does not ask is refused (400, nothing saved)."""
    url, _, ids = _patient_link(app)
    bad = client.post(
        url,
        data={
            f"answer_{ids['Fasting']}": "yes",
            f"answer_{ids['Driver']}": "yes",
            f"driver_name_{ids['Driver']}": "Sam Lee",
            f"driver_phone_{ids['Driver']}": "not a number",
        },
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert f'id="driver_phone_{ids["Driver"]}-error"' in html and "Enter a phone number" in html
    with app.app_context():
        series = db.session.scalars(
            select(AppointmentType).where(AppointmentType.name == "Series 4 h")
        ).one()
        foreign = checklist.items_for(series.id)[0].id
    refused = client.post(url, data={f"answer_{ids['Fasting']}": "yes", f"answer_{foreign}": "yes"})
    assert refused.status_code == 400
    assert "nothing was saved" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(ChecklistAnswer.id))) == 0
        assert _audits() == []


def test_patient_page_of_a_cancelled_visit_takes_no_answers(app, client):
    """Once the visit is cancelled the page says so and a POST saves nothing."""
    url, appointment_id, ids = _patient_link(app)
    with app.app_context():
        from tracker.models import Appointment

        db.session.get(Appointment, appointment_id).status = "cancelled"
        db.session.commit()
    assert "can no longer be changed online" in client.get(url).get_data(as_text=True)
    assert client.post(url, data={f"answer_{ids['Fasting']}": "yes"}).status_code == 409
    with app.app_context():
        assert db.session.scalar(select(db.func.count(ChecklistAnswer.id))) == 0


# ------------------------------------------------------------------------ staff pages


def _local_day(app, appointment_id):
    with app.app_context():
        from tracker.models import Appointment

        start = db.session.get(Appointment, appointment_id).start_at
        return start.astimezone(clinic_zone()).date().isoformat()


def test_front_desk_records_phone_answers_and_sees_the_state(app, client, login_as):
    """The front desk records answers taken by phone; the day sheet shows "checklist 3 of 4",
    then "no driver" with a reschedule link; the appointment page lists each answer."""
    _, appointment_id, ids = _patient_link(app)
    user = login_as("frontdesk")
    url = f"/schedule/appointments/{appointment_id}/checklist"
    page = client.get(url)
    assert page.status_code == 200 and "Save answers" in page.get_data(as_text=True)
    form = {f"answer_{ids[label]}": "yes" for label in ("Fasting", "Medicine holds", "No alcohol")}
    done = client.post(url, data=form)
    assert done.status_code == 303
    day = client.get(f"/schedule/day?date={_local_day(app, appointment_id)}").get_data(as_text=True)
    assert "checklist 3 of 4" in day and "no driver" not in day
    client.post(url, data={f"answer_{ids['Driver']}": "no"})
    day = client.get(f"/schedule/day?date={_local_day(app, appointment_id)}").get_data(as_text=True)
    assert "no driver" in day
    assert f'class="block-reschedule" href="/schedule/appointments/{appointment_id}/move"' in day
    page = client.get(f"/schedule/appointments/{appointment_id}").get_data(as_text=True)
    assert "Pre-visit checklist:" in page and "reschedule this visit" in page
    assert user.email in page
    with app.app_context():
        assert {a.actor for a in _audits()} == {user.email}


def test_staff_page_bad_phone_is_a_field_error(app, client, login_as):
    """The staff form refuses a driver's phone of the wrong shape on the field (400)."""
    _, appointment_id, ids = _patient_link(app)
    login_as("clinician")
    response = client.post(
        f"/schedule/appointments/{appointment_id}/checklist",
        data={
            f"answer_{ids['Driver']}": "yes",
            f"driver_name_{ids['Driver']}": "Sam Lee",
            f"driver_phone_{ids['Driver']}": "12",
        },
    )
    assert response.status_code == 400
    assert f'id="driver_phone_{ids["Driver"]}-error"' in response.get_data(as_text=True)


def test_admin_adds_and_changes_questions(app, client, login_as):
    """The admin page adds a question to a type and changes one; the front desk may not."""
    with app.app_context():
        clinic = open_clinic()
        checklist.seed_defaults(clinic["maintenance"])
        db.session.commit()
        type_id = clinic["maintenance"].id
        first = checklist.items_for(type_id)[0].id
    login_as("frontdesk")
    assert client.get("/schedule/checklist-items").status_code == 403
    client.post("/logout")
    login_as("admin")
    page = client.get("/schedule/checklist-items").get_data(as_text=True)
    assert "Maintenance 40 min" in page and "Medicine holds" in page
    added = client.post(
        "/schedule/checklist-items",
        data={
            "new-appointment_type_id": type_id,
            "new-label": "Clothes",
            "new-prompt": "I will wear loose, warm clothes.",
            "new-position": 5,
            "new-active": "y",
        },
    )
    assert added.status_code == 303
    empty = client.post(
        "/schedule/checklist-items",
        data={
            "new-appointment_type_id": type_id,
            "new-label": "",
            "new-prompt": "x",
            "new-position": 6,
        },
    )
    assert empty.status_code == 400
    changed = client.post(
        f"/schedule/checklist-items/{first}",
        data={
            f"item{first}-label": "Fasting",
            f"item{first}-prompt": "Nothing to eat for 8 hours.",
            f"item{first}-position": 1,
        },
    )
    assert changed.status_code == 303
    with app.app_context():
        labels = [i.label for i in checklist.items_for(type_id)]
        assert labels == ["Driver", "Medicine holds", "No alcohol", "Clothes"]  # Fasting retired
        assert db.session.get(ChecklistItem, first).prompt == "Nothing to eat for 8 hours."


def test_an_answer_other_than_yes_or_no_is_a_field_error(app, client):
    """A posted answer that is neither yes nor no is refused on its question; nothing saved."""
    url, _, ids = _patient_link(app)
    response = client.post(url, data={f"answer_{ids['Fasting']}": "maybe"})
    assert response.status_code == 400 and "Choose yes or no." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(ChecklistAnswer.id))) == 0
