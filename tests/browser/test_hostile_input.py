"""Hostile text typed into a patient's name shows as text everywhere and never runs."""
from datetime import timedelta

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.services.clinic import clinic_today

from .conftest import log_in
from .helpers import complete_series, patient_by_mrn

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
SQL_LAST_NAME = "O'Brien'); DROP TABLE patients;--"


def assert_inert(page, journey):
    """No script of the name ran and its <img> was never fetched."""
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert [url for url in journey.requests if url.rstrip("/").endswith("/x")] == []


def test_script_in_a_name_is_shown_as_text(journey, staff, live_app):
    """A patient named with script and HTML shows literally on the patients list, the patient
    page and the worklist, and window.__pwned stays undefined."""
    page = journey.page
    email, password = staff("frontdesk")
    log_in(page, email, password)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="Add patient").click()
    page.get_by_label("MRN").fill("MRN-HOSTILE")
    page.get_by_label("First name").fill(HOSTILE)
    page.get_by_label("Last name").fill(SQL_LAST_NAME)
    page.get_by_label("Date of birth").fill("1975-02-03")
    page.get_by_label("Email", exact=True).fill("hostile@example.test")
    page.get_by_label("Consents to email reminders").check()
    page.get_by_role("button", name="Add patient").click()
    expect(page.get_by_role("status").get_by_text("Patient added.")).to_be_visible()
    assert page.get_by_role("heading", level=1).inner_text() == f"{HOSTILE} {SQL_LAST_NAME}"
    assert_inert(page, journey)
    journey.check("patient page (hostile name)")

    with live_app.app_context():
        complete_series(patient_by_mrn("MRN-HOSTILE"), clinic_today() - timedelta(days=40))
        db.session.commit()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_label("Name, MRN, date of birth, phone or email").fill("MRN-HOSTILE")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    row_link = page.get_by_role("link", name=f"{SQL_LAST_NAME}, {HOSTILE}")
    expect(row_link).to_be_visible()
    assert_inert(page, journey)
    journey.check("patients list (hostile name)")

    row_link.click()
    expect(page.get_by_role("heading", name=f"{HOSTILE} {SQL_LAST_NAME}")).to_be_visible()
    assert_inert(page, journey)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="MRN-HOSTILE")
    expect(row.get_by_role("link", name=f"{SQL_LAST_NAME}, {HOSTILE}", exact=True)).to_be_visible()
    expect(row.get_by_role("link", name=f"Book {SQL_LAST_NAME}, {HOSTILE}")).to_be_visible()
    assert_inert(page, journey)
    journey.check("worklist (hostile name)")
    journey.finish("hostile-input")
