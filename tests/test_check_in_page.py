"""The patient's check-in page: a GET changes nothing, a POST stores the answers as the patient's
outcome measures (incomplete when an item is missing), once a day; finished, expired and bad
links say what to do."""

from datetime import timedelta

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import AuditEvent, CheckInResponse, ClinicallyDue, OutcomeMeasure
from tracker.patient_links.tokens import make_token

from .check_in_fixtures import answers, check_in_patient, link


def counts():
    return (
        db.session.scalar(select(func.count(OutcomeMeasure.id))),
        db.session.scalar(select(func.count(CheckInResponse.id))),
        db.session.scalar(select(func.count(AuditEvent.id))),
        db.session.scalar(select(func.count(ClinicallyDue.id))),
    )


def test_get_changes_nothing_and_post_stores_the_patients_measures(app, client):
    """The page shows the first name and the questions; the POST stores one measure per
    instrument with source check_in_link, the response and a clinically-due entry for 10."""
    with app.app_context():
        patient, course = check_in_patient()
        url = link(app, patient, course)
        before = counts()
        page = client.get(url)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Hello Robin" in html and "Has your relief worn off?" in html
        assert "I need a visit" not in html  # scheduled maintenance: not offered
        assert counts() == before
        sent = client.post(url, data=answers(relief_worn_off="no"))
        assert sent.status_code == 303
        measures = db.session.scalars(
            select(OutcomeMeasure).order_by(OutcomeMeasure.instrument)
        ).all()
        assert [(m.instrument, m.source, m.complete, str(m.score)) for m in measures] == [
            ("pain_nrs", "check_in_link", True, "3.00"),
            ("phq9", "check_in_link", True, "10.00"),
        ]
        assert all(m.infusion_id == course.infusions[0].id for m in measures)
        entry = db.session.scalars(select(ClinicallyDue)).one()
        assert (entry.reason, entry.state) == ("phq9_threshold", "open")
        thanked = client.get(sent.headers["Location"]).get_data(as_text=True)
        assert "Thank you" in thanked and "<form" not in thanked


def test_a_missing_item_is_stored_incomplete_and_a_second_check_in_is_refused(app, client):
    """PHQ-9 with item 9 blank: incomplete, no score; the same day again: refused, nothing
    added."""
    with app.app_context():
        patient, course = check_in_patient()
        url = link(app, patient, course)
        data = answers(relief_worn_off="yes")
        del data["q2_9"]
        assert client.post(url, data=data).status_code == 303
        phq9 = db.session.scalars(
            select(OutcomeMeasure).where(OutcomeMeasure.instrument == "phq9")
        ).one()
        assert (phq9.complete, phq9.score, phq9.band, phq9.answers[-1]) == (False, None, None, None)
        entry = db.session.scalars(select(ClinicallyDue)).one()
        assert entry.reason == "relief_worn_off"
        before = counts()
        again = client.post(url, data=answers())
        assert again.status_code == 409
        assert "your answers are with us for today" in again.get_data(as_text=True)
        assert counts() == before


def test_bad_answers_are_field_errors_and_change_nothing(app, client):
    """An answer off the scale, or nothing answered at all: the page again, nothing stored."""
    with app.app_context():
        patient, course = check_in_patient()
        url = link(app, patient, course)
        before = counts()
        wrong = client.post(url, data=answers(q1_1="11"))
        assert wrong.status_code == 400
        assert "Choose one of the answers shown." in wrong.get_data(as_text=True)
        empty = client.post(url, data={})
        assert empty.status_code == 400
        assert "Please answer at least one question." in empty.get_data(as_text=True)
        assert counts() == before


def test_as_needed_patient_asks_for_a_visit(app, client):
    """An as-needed patient's "I need a visit" makes them clinically due."""
    with app.app_context():
        patient, course = check_in_patient(mode="as_needed")
        url = link(app, patient, course)
        assert "I need a visit" in client.get(url).get_data(as_text=True)
        unticked = client.post(url, data={"relief_worn_off": "no"})
        assert unticked.status_code == 303
        assert db.session.scalars(select(ClinicallyDue)).all() == []  # nothing asked
        earlier = db.session.scalars(select(CheckInResponse)).one()
        earlier.answered_on -= timedelta(days=1)  # answered yesterday: today's may be sent
        db.session.commit()
        assert client.post(url, data={"visit_requested": "y"}).status_code == 303
        entry = db.session.scalars(select(ClinicallyDue)).one()
        assert entry.reason == "visit_requested"
        response = db.session.scalars(
            select(CheckInResponse).where(CheckInResponse.id != earlier.id)
        ).one()
        assert response.visit_requested is True and earlier.visit_requested is False


def test_finished_expired_and_forged_links(app, client):
    """A discharged course's link says the check-in ended; an expired one what to do; a forged
    one does not work; none stores anything."""
    with app.app_context():
        patient, course = check_in_patient()
        url = link(app, patient, course)
        before = counts()
        app.config["PATIENT_LINK_MAX_AGE_DAYS"] = -1
        expired = client.get(url)
        assert expired.status_code == 400 and "This link has expired" in expired.get_data(
            as_text=True
        )
        assert "new link after your next visit" in expired.get_data(as_text=True)
        app.config["PATIENT_LINK_MAX_AGE_DAYS"] = 120
        course.state = "discharged"
        db.session.commit()
        for response in (client.get(url), client.post(url, data=answers())):
            assert "There is nothing to answer with this link" in response.get_data(as_text=True)
        assert client.get("/my/check-in/forged").status_code == 400
        with app.test_request_context():
            wrong_purpose = f"/my/check-in/{make_token('book', patient.id, course.id)}"
        assert client.get(wrong_purpose).status_code == 400
        assert counts() == before
