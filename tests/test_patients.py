"""The patients list (search, pagination) and adding / editing patients with consent and audit."""
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import AuditEvent, Patient

from .factories import local_noon, make_patient

TODAY = date(2026, 11, 26)


@pytest.fixture(autouse=True)
def frozen_today(freeze_clock):
    """The clinic's today is fixed for every test here (the clock stops at its noon)."""
    freeze_clock(local_noon(TODAY))


def _patients(app, *specs):
    """Create patients from keyword dicts; return their ids."""
    with app.app_context():
        ids = [make_patient(**spec).id for spec in specs]
        db.session.commit()
    return ids


def _listed_ids(body: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/patients/(\d+)"', body)]


def _count_patients(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Patient.id)))


VALID = {"mrn": "A-1001", "first_name": "Dana", "last_name": "Okafor", "date_of_birth": "1971-09-30",
         "email": "dana@example.org", "phone": "555-0199", "email_consent": "y"}


def test_list_needs_login(client):
    """An anonymous visitor is sent to the login page, not shown patients."""
    response = client.get("/patients/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_search_by_name(app, client, login_as):
    """Name search matches the start of first or last names, every typed word, any case."""
    maria, mario, john = _patients(app, dict(first_name="Maria", last_name="Lopez"),
                                   dict(first_name="Mario", last_name="Lopes"),
                                   dict(first_name="John", last_name="Smith"))
    login_as("frontdesk")
    assert set(_listed_ids(client.get("/patients/?q=lop").text)) == {maria, mario}
    assert _listed_ids(client.get("/patients/?q=maria+LOPEZ").text) == [maria]
    assert _listed_ids(client.get("/patients/?q=smith").text) == [john]
    assert _listed_ids(client.get("/patients/?q=%25").text) == []  # a typed % is no wildcard


def test_search_by_mrn(app, client, login_as):
    """An MRN finds its patient exactly, and its beginning finds every MRN that starts so."""
    first, second, _ = _patients(app, dict(mrn="K-20001"), dict(mrn="K-20002"), dict(mrn="Z-99999"))
    login_as("frontdesk")
    assert _listed_ids(client.get("/patients/?q=K-20002").text) == [second]
    assert set(_listed_ids(client.get("/patients/?q=k-2000").text)) == {first, second}


def test_search_by_date_of_birth(app, client, login_as):
    """A date typed YYYY-MM-DD finds the patients born that day."""
    born, _ = _patients(app, dict(date_of_birth=date(1975, 2, 14)), dict(date_of_birth=date(1975, 2, 15)))
    login_as("frontdesk")
    assert _listed_ids(client.get("/patients/?q=1975-02-14").text) == [born]


def test_search_with_impossible_date_says_so(app, client, login_as):
    """A date that does not exist gets a message on the search box, not an error page."""
    _patients(app, {})
    login_as("frontdesk")
    response = client.get("/patients/?q=1975-02-30")
    assert response.status_code == 200
    assert "not a valid date" in response.text and _listed_ids(response.text) == []


def test_list_is_paginated(app, client, login_as):
    """Fifty-five patients come as 50 on page one and 5 on page two, in name order."""
    ids = _patients(app, *[dict(last_name=f"Name{n:03d}") for n in range(55)])
    login_as("frontdesk")
    first = client.get("/patients/")
    assert _listed_ids(first.text) == ids[:50]
    assert "Page 1 of 2" in first.text
    second = client.get("/patients/?page=2")
    assert _listed_ids(second.text) == ids[50:]
    assert client.get("/patients/?page=nonsense").status_code == 200


def test_add_patient_records_consent_and_audit(app, client, login_as):
    """A new patient is saved with the consent time, and an audit event names who added it."""
    user = login_as("frontdesk")
    response = client.post("/patients/new", data=VALID)
    assert response.status_code == 303
    with app.app_context():
        patient = db.session.scalar(select(Patient).where(Patient.mrn == "A-1001"))
        assert response.headers["Location"].endswith(f"/patients/{patient.id}")
        assert patient.date_of_birth == date(1971, 9, 30)
        assert patient.email_consent and patient.consent_recorded_at is not None and patient.may_email
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.patient_id == patient.id))
        assert (event.action, event.entity, event.user_id) == ("create", "patient", user.id)
        assert event.changes["after"]["mrn"] == "A-1001"


@pytest.mark.parametrize("changes, field, message", [
    ({"mrn": "TAKEN-1"}, "mrn", "Another patient already has this MRN."),
    ({"date_of_birth": "2026-11-27"}, "date_of_birth", "The date of birth cannot be in the future."),
    ({"date_of_birth": "1971-02-30"}, "date_of_birth", "Not a valid date value."),
    ({"email": "dana at example"}, "email", "Enter an email address like name@example.org."),
    ({"first_name": ""}, "first_name", "Enter the first name."),
    ({"email": "", "email_consent": "y"}, "email", "Enter an email address to record consent"),
])
def test_add_patient_field_errors(app, client, login_as, changes, field, message):
    """Each bad field is reported on that field, the typed values stay, and nothing is saved."""
    _patients(app, dict(mrn="TAKEN-1"))
    login_as("frontdesk")
    response = client.post("/patients/new", data={**VALID, **changes})
    assert response.status_code == 400
    body = response.text
    assert re.search(rf'id="{field}-error"[^>]*>[^<]*{re.escape(message)}', body), body
    assert 'value="Okafor"' in body  # what was typed is kept
    assert _count_patients(app) == 1


def test_add_patient_reports_every_problem_at_once(app, client, login_as):
    """A duplicate MRN and a future date of birth are both reported in one answer."""
    _patients(app, dict(mrn="TAKEN-1"))
    login_as("clinician")
    response = client.post("/patients/new", data={**VALID, "mrn": "TAKEN-1", "date_of_birth": "2030-01-01"})
    assert response.status_code == 400
    assert 'id="mrn-error"' in response.text and 'id="date_of_birth-error"' in response.text
    assert "Please correct the 2 fields" in response.text


def test_edit_patient_audits_changed_fields(app, client, login_as):
    """Editing keeps an audit event with only the changed values, before and after."""
    (patient_id,) = _patients(app, dict(mrn="E-1", first_name="Sam", last_name="Lee",
                                        email="sam@example.org", phone="555-0101"))
    user = login_as("frontdesk")
    page = client.get(f"/patients/{patient_id}/edit")
    assert 'value="Lee"' in page.text and 'checked' in page.text
    data = {"mrn": "E-1", "first_name": "Sam", "last_name": "Lee-Park", "date_of_birth": "1980-05-17",
            "email": "sam@example.org", "phone": "555-0102", "email_consent": "y"}
    assert client.post(f"/patients/{patient_id}/edit", data=data).status_code == 303
    with app.app_context():
        assert db.session.get(Patient, patient_id).last_name == "Lee-Park"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.patient_id == patient_id,
                                                           AuditEvent.action == "update"))
        assert event.user_id == user.id
        assert event.changes == {"before": {"last_name": "Lee", "phone": "555-0101"},
                                 "after": {"last_name": "Lee-Park", "phone": "555-0102"}}


def test_edit_refuses_duplicate_mrn_and_changes_nothing(app, client, login_as):
    """Taking another patient's MRN is refused on the MRN field; nothing changes, nothing audited."""
    patient_id, _ = _patients(app, dict(mrn="OWN-1"), dict(mrn="OTHER-1"))
    login_as("clinician")
    data = {"mrn": "OTHER-1", "first_name": "Alex", "last_name": "Changed", "date_of_birth": "1980-05-17"}
    response = client.post(f"/patients/{patient_id}/edit", data=data)
    assert response.status_code == 400 and "Another patient already has this MRN." in response.text
    with app.app_context():
        patient = db.session.get(Patient, patient_id)
        assert (patient.mrn, patient.last_name != "Changed") == ("OWN-1", True)
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


def test_consent_and_opt_out_are_timed(app, client, login_as):
    """Consent and opt-out are recorded with their times; a fresh consent ends the opt-out."""
    (patient_id,) = _patients(app, dict(email_consent=False))
    login_as("frontdesk")
    base = {"mrn": "C-1", "first_name": "Kim", "last_name": "Ng", "date_of_birth": "1990-01-01",
            "email": "kim@example.org"}

    def state():
        with app.app_context():
            p = db.session.get(Patient, patient_id)
            return p.email_consent, p.consent_recorded_at, p.email_opt_out_at, p.may_email

    client.post(f"/patients/{patient_id}/edit", data={**base, "email_consent": "y"})
    consent, consent_at, opt_out_at, may_email = state()
    assert consent and consent_at is not None and opt_out_at is None and may_email

    both = client.post(f"/patients/{patient_id}/edit", data={**base, "email_consent": "y", "email_opt_out": "y"})
    assert both.status_code == 400 and "Tick one, not both" in both.text
    assert state()[2] is None  # refused: nothing saved
    client.post(f"/patients/{patient_id}/edit", data={**base, "email_opt_out": "y"})
    _, _, opt_out_at, may_email = state()
    assert opt_out_at is not None and not may_email
    assert "Opted out" in client.get(f"/patients/{patient_id}").text

    client.post(f"/patients/{patient_id}/edit", data={**base, "email_consent": "y"})
    consent, new_consent_at, opt_out_at, may_email = state()
    assert opt_out_at is None and may_email and new_consent_at >= consent_at
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.changes).where(AuditEvent.patient_id == patient_id)
                                     .order_by(AuditEvent.id)).all()
    assert "email_opt_out_at" in actions[1]["after"]


def test_edit_unknown_patient_is_404(client, login_as):
    """Editing a patient that does not exist is a 404 page."""
    login_as("frontdesk")
    assert client.get("/patients/9999/edit").status_code == 404
    assert client.post("/patients/9999/edit", data=VALID).status_code == 404


def test_possible_duplicate_warns_then_adds_anyway(app, client, login_as):
    """The same name and date of birth: nothing saved, a link to the record on file; a deliberate
    'add anyway' adds the new patient."""
    (existing,) = _patients(app, dict(first_name="Dana", last_name="Okafor", date_of_birth=date(1971, 9, 30),
                                      email="other@example.org", phone="555-0111"))
    login_as("frontdesk")
    warned = client.post("/patients/new", data=VALID)
    assert warned.status_code == 200 and "This may be a patient already on file" in warned.text
    assert f'href="/patients/{existing}"' in warned.text and "Add anyway" in warned.text
    assert _count_patients(app) == 1
    added = client.post("/patients/new", data={**VALID, "add_anyway": "y"})
    assert added.status_code == 303 and _count_patients(app) == 2


def test_phone_shape_is_a_field_error(client, login_as, app):
    """A phone that is not a number is refused on its field; nothing is saved."""
    login_as("frontdesk")
    response = client.post("/patients/new", data={**VALID, "phone": "ring reception"})
    assert response.status_code == 400 and "Enter a phone number of 7 to 15 digits" in response.text
    assert _count_patients(app) == 0
