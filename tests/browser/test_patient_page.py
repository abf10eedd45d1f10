"""The patient page: who and the main actions first, sections one jump away, course actions
behind a disclosure, the sessions table fitting 1366 px, and the front desk's view."""

from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.services import infusions as infusion_service
from tracker.services.clinic import clinic_today, get_settings
from tracker.services.courses import open_course_for

from ..factories import make_patient, make_user
from .conftest import log_in
from .helpers import add_appointment, complete_series, local_instant, set_up_clinic

WIDE, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}
SESSION_DAYS_AGO = (250, 210, 170, 130, 40, 5)  # a long gap between the fourth and fifth


def _patient(live_app) -> tuple[int, str, str]:
    """A patient in maintenance with six sessions (long notes among them) and an appointment."""
    with live_app.app_context():
        today = clinic_today()
        clinic = set_up_clinic()
        nurse, desk = make_user(role="clinician"), make_user(role="frontdesk")
        patient = make_patient(first_name="Noor", last_name="Haddad", phone="+1 555 0142")
        complete_series(patient, today - timedelta(days=SESSION_DAYS_AGO[0]))
        course = open_course_for(patient.id)
        for n, days_ago in enumerate(SESSION_DAYS_AGO[1:]):
            infusion_service.record_infusion(
                course,
                actor="system",
                settings=get_settings(),
                today=today,
                given_at=local_instant(today - timedelta(days=days_ago), 10),
                weight_kg=Decimal("71.5"),
                dose_mg_per_kg=Decimal("0.75"),
                duration_min=45,
                pain_before=8 - n,
                pain_after=3,
                adverse_effects="mild nausea" if n % 2 else "",
                notes="Tolerated well; asked about moving to afternoons. " * (3 if n == 2 else 1),
            )
        add_appointment(
            patient,
            clinic["chairs"][0],
            clinic["maintenance"],
            local_instant(today + timedelta(days=5), 11),
        )
        db.session.commit()
        return patient.id, nurse.email, desk.email


def test_clinician_sees_actions_first_and_everything_fits(
    journey, live_app, playwright_browser, live_server
):
    """At 1366 px the name, identity and Book / Record session sit in the first screen; the section
    links jump to each part; course actions open from a disclosure; the sessions table needs no
    sideways scroll; the pain chart places points by date. Also checked at 390 px."""
    patient_id, nurse, _ = _patient(live_app)
    page = journey.page
    page.set_viewport_size(WIDE)
    log_in(page, nurse)
    page.goto(f"/patients/{patient_id}")
    expect(page.get_by_role("heading", name="Noor Haddad", exact=True)).to_be_visible()
    for name in ("Book", "Record session", "Edit patient"):
        box = page.get_by_role("link", name=name, exact=True).bounding_box()
        assert box and box["y"] + box["height"] < 300, name  # in the first screen, near the top
    sections = page.get_by_role("navigation", name="Sections of this page")
    for name in ("Overview", "Sessions", "Appointments", "Messages", "History"):
        expect(sections.get_by_role("link", name=name)).to_be_visible()
    summary = page.get_by_text("Course actions: interval, mode, hold, discharge")
    discharge = page.get_by_role("link", name="Discharge…")
    expect(summary).to_be_visible()
    expect(discharge).to_be_hidden()
    journey.check("patient page (clinician)")
    page.screenshot(path="/tmp/clarity-patient-1366.png", full_page=True)
    summary.click()
    expect(discharge).to_be_visible()
    journey.check("patient page (course actions open)")
    wrap = page.locator("#sessions .table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), (
        "the sessions table scrolls sideways at 1366 px"
    )
    xs = [float(c.get_attribute("cx")) for c in page.locator("svg.chart circle").all()]
    gaps = [b - a for a, b in pairwise(xs)]
    days = [a - b for a, b in pairwise(SESSION_DAYS_AGO)]
    assert [
        round(gap / gaps[0] * days[0]) for gap in gaps
    ] == days  # spaced by date, not by session
    sections.get_by_role("link", name="Appointments").click()
    expect(page.get_by_role("heading", name="Appointments")).to_be_visible()

    phone = playwright_browser.new_context(base_url=live_server.url, viewport=PHONE)
    try:
        small = phone.new_page()
        log_in(small, nurse)
        small.goto(f"/patients/{patient_id}")
        box = small.get_by_role("link", name="Book", exact=True).bounding_box()
        assert box and box["y"] + box["height"] < PHONE["height"]
        assert small.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"] + 1
        small.screenshot(path="/tmp/clarity-patient-390.png", full_page=True)
    finally:
        phone.close()
    journey.finish("patient-page-clinician")


def test_front_desk_page_has_no_clinical_columns(journey, live_app):
    """The front desk sees the sessions (date, outcome, kind) and the Book action, but no dose,
    vitals, notes or pain chart, and no Record session."""
    patient_id, _, desk = _patient(live_app)
    page = journey.page
    page.set_viewport_size(WIDE)
    log_in(page, desk)
    page.goto(f"/patients/{patient_id}")
    sessions = page.get_by_role(
        "table", name="Every session of this patient, newest first (clinic time)"
    )
    assert sessions.get_by_role("columnheader").all_inner_texts() == ["Date", "Outcome", "Kind"]
    expect(page.get_by_role("link", name="Book", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Record session")).to_have_count(0)
    body = page.content()
    assert (
        "mg/kg" not in body
        and "Tolerated" not in body
        and "nausea" not in body
        and 'svg class="chart"' not in body
    )
    journey.check("patient page (front desk)")
    page.screenshot(path="/tmp/clarity-patient-frontdesk-1366.png", full_page=True)
    journey.finish("patient-page-frontdesk")
