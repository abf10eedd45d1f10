"""The worklist as a recall list: calls logged from a row, called patients sorted lower, the
"not contacted yet" filter, the call log on the patient page and the export's contact details."""

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import OUTREACH_OUTCOMES, AuditEvent, OutreachAttempt
from tracker.services import outreach
from tracker.services.clinic import ensure_settings

from .course_helpers import book, maintenance_course
from .test_worklist import ago, page_mrns, soon, today

ZONE = ZoneInfo("America/New_York")


@pytest.fixture
def recall(app):
    """Four unbooked due or overdue patients and one booked one; returns {mrn: patient id}."""
    with app.app_context():
        courses = [
            maintenance_course(
                ago(150),
                mrn="OVD-A",
                last_name="Abbott",
                phone="(704) 555-0101",
                email="abbott@example.org",
            ),
            maintenance_course(ago(100), mrn="OVD-B", last_name="Baker", phone="=1+2"),
            maintenance_course(ago(80), mrn="DUE-C", last_name="Cole"),
            maintenance_course(ago(40), mrn="DUE-D", last_name="Dunn"),
        ]
        booked = maintenance_course(ago(60), mrn="BKD-E", last_name="Evans")
        book(booked, soon(3))
        db.session.commit()
        return {c.patient.mrn: c.patient_id for c in [*courses, booked]}


def _call(client, patient_id, outcome="no_answer", note="", back="/worklist/"):
    return client.post(
        f"/worklist/{patient_id}/calls", data={"outcome": outcome, "note": note, "next": back}
    )


def _attempts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutreachAttempt))


def test_outcome_labels_cover_every_stored_outcome():
    """Every outcome the table accepts has a label in the clinic's words, in the same order."""
    assert tuple(outreach.OUTCOME_LABELS) == OUTREACH_OUTCOMES


def test_logging_a_call_sorts_the_patient_below_those_not_called(app, client, login_as, recall):
    """One POST from the row logs the call (audited), returns to the page, and the patient moves
    below the uncalled; the row shows its last contact and count; the filter hides them."""
    login_as("frontdesk")
    assert page_mrns(client.get("/worklist/").text) == ["OVD-A", "OVD-B", "DUE-C", "DUE-D", "BKD-E"]
    response = _call(
        client, recall["OVD-A"], "voicemail", "left the clinic number", back="/worklist/?page=1"
    )
    assert response.status_code == 303 and response.headers["Location"] == "/worklist/?page=1"
    assert "Call logged for Alex Abbott: Left a voicemail." in client.get("/worklist/?page=1").text
    _call(client, recall["OVD-A"], "will_call_back")
    body = client.get("/worklist/").text
    assert page_mrns(body) == ["OVD-B", "DUE-C", "DUE-D", "OVD-A", "BKD-E"]
    assert (
        "Spoke: will call back" in body
        and "2 calls" in body
        and "Called in the last 3 days 1" in body
    )
    assert page_mrns(client.get("/worklist/?contact=not_called").text) == [
        "OVD-B",
        "DUE-C",
        "DUE-D",
    ]
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.entity == "outreach_attempt")
            )
            == 2
        )
    detail = client.get(f"/patients/{recall['OVD-A']}").text
    assert "Calls" in detail and "Left a voicemail" in detail and "left the clinic number" in detail


def test_calls_older_than_the_quiet_days_no_longer_sort_lower(app, client, login_as, recall):
    """A call before the quiet days (today and the two days before) leaves the patient in urgency
    order, one inside them sorts lower; with 0 quiet days nobody sorts lower."""
    with app.app_context():
        old = datetime.combine(
            today() - timedelta(days=2), datetime.min.time(), ZONE
        )  # quiet from here
        db.session.add(
            OutreachAttempt(
                patient_id=recall["OVD-A"],
                outcome="no_answer",
                note="",
                at=old.astimezone(UTC) - timedelta(minutes=1),
            )
        )
        db.session.add(
            OutreachAttempt(
                patient_id=recall["OVD-B"],
                outcome="no_answer",
                note="",
                at=old.astimezone(UTC) + timedelta(minutes=1),
            )
        )
        db.session.commit()
    login_as("frontdesk")
    assert page_mrns(client.get("/worklist/").text) == ["OVD-A", "DUE-C", "DUE-D", "OVD-B", "BKD-E"]
    with app.app_context():
        ensure_settings().recall_quiet_days = 0
        db.session.commit()
    assert page_mrns(client.get("/worklist/").text) == ["OVD-A", "OVD-B", "DUE-C", "DUE-D", "BKD-E"]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_pages_with_called_patients_follow_the_export_order(app, client, login_as, recall, size):
    """Page by page, the called block in between, everyone is listed once in the export's order."""
    login_as("frontdesk")
    _call(client, recall["DUE-C"])
    _call(client, recall["OVD-A"])
    order = [
        row["mrn"] for row in csv.DictReader(io.StringIO(client.get("/worklist/export.csv").text))
    ]
    assert order == ["OVD-B", "DUE-D", "OVD-A", "DUE-C", "BKD-E"]
    app.config["PAGE_SIZE"] = size
    seen = []
    for number in range(1, -(-len(order) // size) + 1):
        seen += page_mrns(client.get(f"/worklist/?page={number}").text)
    assert seen == order
    assert page_mrns(client.get("/worklist/?q=abbott").text) == ["OVD-A"]


def test_a_patient_discharged_meanwhile_is_refused(app, client, login_as, recall):
    """The call of a patient discharged since the list was shown is not logged, and says why."""
    login_as("frontdesk")
    with app.app_context():
        from tracker.models import Course

        course = db.session.scalar(select(Course).where(Course.patient_id == recall["DUE-D"]))
        course.state, course.closed_on = "discharged", today()
        db.session.commit()
    response = _call(client, recall["DUE-D"])
    assert response.status_code == 303 and _attempts(app) == 0
    assert (
        "was discharged since this list was shown, so the call was not logged"
        in client.get("/worklist/").text
    )


@pytest.mark.parametrize(
    "outcome, note, message",
    [
        ("", "", "Choose what happened on the call."),
        ("hung_up", "", "Choose what happened on the call."),
        ("no_answer", "x" * 501, "Field cannot be longer than 500 characters."),
        ("no_answer", "ring\x07ring", "control"),
    ],
)
def test_bad_calls_change_nothing(app, client, login_as, recall, outcome, note, message):
    """No outcome, an unknown one, a long note or control characters: a message, nothing stored."""
    login_as("frontdesk")
    response = _call(client, recall["OVD-A"], outcome, note, back="https://evil.example/")
    assert response.status_code == 303 and response.headers["Location"] == "/worklist/"
    assert _attempts(app) == 0 and message in client.get("/worklist/").text


def test_export_carries_contact_details_and_last_contact_formula_safe(client, login_as, recall):
    """Phone, email, date of birth and the last call in the CSV; a phone like =1+2 is defused."""
    login_as("frontdesk")
    _call(client, recall["OVD-A"], "declined")
    rows = {
        row["mrn"]: row
        for row in csv.DictReader(io.StringIO(client.get("/worklist/export.csv").text))
    }
    abbott = rows["OVD-A"]
    assert abbott["phone"] == "(704) 555-0101" and abbott["email"] == "abbott@example.org"
    assert abbott["date_of_birth"] == "1980-05-17" and abbott["last_contact_outcome"] == "declined"
    assert abbott["calls"] == "1" and abbott["last_contact"].startswith(today().isoformat())
    assert rows["OVD-B"]["phone"] == "'=1+2" and rows["OVD-B"]["last_contact"] == ""


def test_rows_show_phone_birth_date_and_days(client, login_as, recall):
    """Each row: phone to call, date of birth to tell look-alikes apart, days overdue or left."""
    login_as("frontdesk")
    body = client.get("/worklist/").text
    assert 'href="tel:(704) 555-0101"' in body and "born <time" in body
    assert "overdue by 60 days" in body and "left in the window" in body
