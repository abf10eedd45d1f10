"""Input beyond what the database holds: huge ids, long page numbers, far dates, numbers typed
with more precision than is kept. Each gets a 404 or a field error and changes nothing."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tracker.bounds import MAX_ID, record_id
from tracker.extensions import db
from tracker.form_fields import decimal_places
from tracker.models import ClosedDate, Infusion, Patient

from .factories import local_noon, make_course, make_patient

TODAY = date(2026, 11, 26)
ABOVE_INTEGER = str(2**31)  # PostgreSQL's integer ends one below
ABOVE_BIGINT = str(2**63)  # SQLite's integer ends one below
THIRTY_DIGITS = "9" * 30


@pytest.fixture(autouse=True)
def frozen_today(freeze_clock):
    """The clinic's today is fixed for every test here (the clock stops at its noon)."""
    freeze_clock(local_noon(TODAY))


def _patient_with_course(app) -> int:
    with app.app_context():
        patient = make_patient()
        make_course(patient)
        db.session.commit()
        return patient.id


@pytest.mark.parametrize("number", [ABOVE_INTEGER, ABOVE_BIGINT, THIRTY_DIGITS, "9" * 5000])
@pytest.mark.parametrize(
    "template",
    [
        "/patients/{n}",
        "/patients/{n}/edit",
        "/schedule/appointments/{n}",
        "/schedule/appointments/{n}.ics",
        "/admin/users/{n}",
        "/reminders/{n}/retry",
    ],
)
def test_ids_beyond_the_database_are_not_found(client, login_as, template, number):
    """An id no INTEGER column can hold matches no route: 404, on SQLite and PostgreSQL alike."""
    login_as("admin")
    url = template.format(n=number)
    response = client.post(url) if url.endswith("/retry") else client.get(url)
    assert response.status_code == 404


def test_the_largest_id_is_looked_up_normally(client, login_as):
    """2^31 - 1 still reaches the view, which finds no such patient (404 from the lookup)."""
    login_as("frontdesk")
    assert client.get(f"/patients/{MAX_ID}").status_code == 404
    assert record_id(str(MAX_ID)) == MAX_ID and record_id(ABOVE_INTEGER) is None


@pytest.mark.parametrize(
    "query",
    [
        f"/schedule/book?patient_id={ABOVE_BIGINT}",
        f"/schedule/book-series?patient_id={THIRTY_DIGITS}",
    ],
)
def test_ids_in_query_strings_beyond_the_database_are_not_found(client, login_as, query):
    """A huge patient id in the query string is no patient: 404."""
    login_as("frontdesk")
    assert client.get(query).status_code == 404


def test_an_appointment_id_beyond_the_database_on_the_infusion_form(app, client, login_as):
    """Recording an infusion against appointment 2^63: 404, not a database error."""
    patient_id = _patient_with_course(app)
    login_as("clinician")
    response = client.get(f"/patients/{patient_id}/infusions/new?appointment_id={ABOVE_BIGINT}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/patients/?page={p}",
        "/admin/users?page={p}",
        "/reminders/?page={p}",
        "/admin/audit?page={p}",
        "/worklist/?page={p}",
    ],
)
def test_page_numbers_of_thirty_digits_are_clamped(app, client, login_as, url):
    """A page number of 30 digits is clamped to MAX_PAGE: an empty page past the end, no 500
    (the offset would overflow SQLite's and PostgreSQL's integers)."""
    with app.app_context():
        make_patient(last_name="Zyx")
        db.session.commit()
    login_as("admin")
    response = client.get(url.format(p=THIRTY_DIGITS))
    assert response.status_code == 200
    if url.startswith("/patients/"):
        assert "Zyx" not in response.text and "Zyx" in client.get(url.format(p="1")).text


def test_closed_date_far_in_the_future_is_a_field_error(app, client, login_as):
    """9999-12-31 as a closed date: the date field says which years it takes; nothing saved."""
    login_as("admin")
    response = client.post("/schedule/closed-dates", data={"on": "9999-12-31", "reason": "x"})
    assert response.status_code == 400
    assert "Enter a date between 1900 and 2200." in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(ClosedDate.id))) == 0


@pytest.mark.parametrize(
    "dose, message",
    [
        ("1e-22", "Use at most 3 decimal places."),
        ("1e-999999", "Use at most 3 decimal places."),
        ("0.0005", "Use at most 3 decimal places."),
        ("1e999999", "The dose is above the clinic maximum"),
        ("9" * 60, "Enter a number."),
    ],
)
def test_a_dose_is_never_rounded_to_something_else(app, client, login_as, dose, message):
    """A dose with digits the record cannot keep is a field error, never 0.000 or a 500."""
    patient_id = _patient_with_course(app)
    login_as("clinician")
    response = client.post(
        f"/patients/{patient_id}/infusions/new",
        data={
            "given_at": "2026-11-20T10:00",
            "outcome": "completed",
            "weight_kg": "70",
            "dose_mg_per_kg": dose,
        },
    )
    assert response.status_code == 400 and message in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(Infusion.id))) == 0


def test_a_dose_with_trailing_zeros_is_kept_exactly(app, client, login_as):
    """0.5000 is 0.5: trailing zeros are no lost precision, and the value is stored as typed."""
    patient_id = _patient_with_course(app)
    login_as("clinician")
    response = client.post(
        f"/patients/{patient_id}/infusions/new",
        data={
            "given_at": "2026-11-20T10:00",
            "outcome": "completed",
            "weight_kg": "70.00",
            "dose_mg_per_kg": "0.5000",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Infusion.dose_mg_per_kg)) == Decimal("0.5")


@pytest.mark.parametrize(
    "text, places",
    [
        ("5.000", 0),
        ("0.125", 3),
        ("1e-22", 22),
        ("1.5e2", 0),
        ("0.000", 0),
        ("12.30", 1),
        ("1.0000000000000000000000000000001", 31),
    ],
)
def test_decimal_places_are_counted_exactly(text, places):
    """No context rounding in the count: 31 places stay 31 (28-digit precision would say 0)."""
    assert decimal_places(Decimal(text)) == places


def test_a_year_beyond_the_calendar_in_the_patient_form(app, client, login_as):
    """A date of birth in 9999 or year 1: field error, no patient saved."""
    login_as("frontdesk")
    for born in ("9999-12-31", "0001-01-01"):
        response = client.post(
            "/patients/new",
            data={"mrn": "B-1", "first_name": "Ann", "last_name": "Lee", "date_of_birth": born},
        )
        assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(Patient.id))) == 0
