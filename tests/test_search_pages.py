"""The search pages: the results page without JavaScript, the type-ahead's JSON, role rules."""

from datetime import date

import pytest

from tracker.extensions import db
from tracker.services.clinic import ensure_settings

from .factories import local_noon, make_course, make_patient

TODAY = date(2026, 11, 26)


@pytest.fixture(autouse=True)
def frozen_today(freeze_clock):
    """The clinic's today is fixed for every test here (the clock stops at its noon)."""
    freeze_clock(local_noon(TODAY))


@pytest.fixture
def callers(app):
    """Twelve Does (one with a course and a phone) and one Smith; returns Jane Doe's id."""
    with app.app_context():
        jane = make_patient(
            mrn="A-100",
            first_name="Jane",
            last_name="Doe",
            date_of_birth=date(1980, 4, 12),
            phone="(704) 555-0101",
        )
        make_course(
            jane,
            indication="CRPS",
            state="maintenance",
            qualifying_count=6,
            last_qualifying_on=date(2026, 10, 2),
            anchor_date=date(2026, 10, 2),
            window_opens=date(2026, 11, 1),
            window_closes=date(2027, 1, 30),
        )
        for n in range(11):
            make_patient(mrn=f"D-{n:03d}", first_name=f"Kim{n:02d}", last_name="Doe", phone=None)
        make_patient(mrn="S-1", first_name="Ann", last_name="Smith")
        db.session.commit()
        return jane.id


def test_suggest_gives_ten_with_contact_details_and_nothing_clinical(client, login_as, callers):
    """At most ten results, saying there are more; name, birth date, MRN and phone, no indication."""
    login_as("frontdesk")
    answer = client.get("/search/suggest?q=doe").get_json()
    assert len(answer["results"]) == 10 and answer["more"] is True
    assert answer["results"][0] == {
        "id": callers,
        "name": "Doe, Jane",
        "mrn": "A-100",
        "born": "Sat 12 Apr 1980",
        "phone": "(704) 555-0101",
        "url": f"/patients/{callers}",
    }
    assert answer["all_url"] == "/search/?q=doe"
    phone = client.get("/search/suggest?q=7045550101")
    assert [r["mrn"] for r in phone.get_json()["results"]] == ["A-100"]
    assert "CRPS" not in phone.text and phone.headers["Cache-Control"] == "no-store"


def test_results_page_is_a_plain_form(client, login_as, callers):
    """Without JavaScript the header's form lands on a page listing every match with its contacts."""
    login_as("clinician")
    body = client.get("/search/?q=04%2F12%2F1980").text
    assert f'href="/patients/{callers}">Doe, Jane</a>' in body and "(704) 555-0101" in body
    assert "1 patient found" in body and "Smith" not in body
    assert 'action="/search/"' in body and 'data-suggest-url="/search/suggest"' in body


def test_date_order_setting_reads_typed_dates(app, client, login_as, callers):
    """With day-first dates 12/04/1980 is 12 April; the hint shows the clinic's order."""
    with app.app_context():
        ensure_settings().date_order = "DMY"
        db.session.commit()
    login_as("frontdesk")
    body = client.get("/search/?q=12/04/1980").text
    assert "1 patient found" in body and "as 12/04/1980 or 1980-04-12" in body


@pytest.mark.parametrize(
    "text", ["%", "!!!", "x" * 10_000, "04/12", "31/31/1980", "<script>alert(1)</script>"]
)
def test_bad_queries_answer_sensibly(client, login_as, callers, text):
    """Wildcards, punctuation, 10,000 characters, partial dates, markup: 200, nothing or a hint."""
    login_as("frontdesk")
    page = client.get("/search/", query_string={"q": text})
    answer = client.get("/search/suggest", query_string={"q": text})
    assert page.status_code == 200 and answer.status_code == 200
    assert answer.get_json()["results"] == [] and "<script>alert" not in page.text
    if text[0].isdigit():
        assert (
            "date of birth" in answer.get_json()["problem"] and 'aria-invalid="true"' in page.text
        )


def test_patients_list_worklist_and_reminders_share_the_search(client, login_as, callers):
    """The patients list and the worklist find by phone and birth date too: the header's search."""
    login_as("frontdesk")
    assert f'href="/patients/{callers}"' in client.get("/patients/?q=704.555.0101").text
    assert f'href="/patients/{callers}"' in client.get("/patients/?q=1980-04-12").text
    assert "Smith" not in client.get("/patients/?q=doe+jane").text
    worklist = client.get("/worklist/?q=%28704%29+555-0101").text
    assert f'href="/patients/{callers}"' in worklist and "1 patient" in worklist
    assert "No patient needs action" in client.get("/worklist/?q=555-9999").text
