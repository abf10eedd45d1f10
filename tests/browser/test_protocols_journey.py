"""Protocols in a real browser: an admin edits a protocol's phases (a gap is refused on the
field, the fix is saved); a clinician sees a missed-dose proposal and confirms it."""

import os
from datetime import timedelta

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.services import protocols as protocol_service
from tracker.services.clinic import clinic_today, get_settings
from tracker.services.courses import open_course
from tracker.services.infusions import record_infusion

from ..factories import local_noon, make_patient
from .conftest import log_in

SHOTS = os.environ.get("TRACKER_SHOTS")  # a folder for screenshots, when a person wants to look


def _shots(page, name: str) -> None:
    """The page at 1366 and 390 pixels wide, when a folder is given."""
    if not SHOTS:
        return
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_admin_edits_protocol_phases_and_a_gap_is_refused(journey, staff):
    """From the admin page to the esketamine protocol: week 6 after weeks 1-4 is refused on that
    phase's field with the reason; week 5 is saved and listed."""
    email, password = staff("admin")
    page = journey.page
    log_in(page, email, password)
    page.goto("/admin/")
    page.get_by_role("link", name="Protocols and phases").click()
    expect(page.get_by_role("heading", name="Protocols and phases")).to_be_visible()
    expect(page.get_by_role("heading", name="Esketamine, TRD (label)")).to_be_visible()
    journey.check("protocols list")
    _shots(page, "protocols-list")
    page.get_by_role("link", name="Edit Esketamine, TRD (label)").click()
    phase = page.get_by_role("group", name="Phase 2")
    phase.get_by_label("From").fill("6")
    page.get_by_role("button", name="Save protocol").click()
    expect(
        page.get_by_role("group", name="Phase 2").get_by_text(
            "Starts at 6, which leaves a gap after the phase before: start at 5."
        )
    ).to_be_visible()
    journey.check("protocol refused")
    _shots(page, "protocol-refused")
    page.get_by_role("group", name="Phase 2").get_by_label("From").fill("5")
    page.get_by_role("group", name="Phase 2").get_by_label("Max days").fill("8")
    page.get_by_role("button", name="Save protocol").click()
    expect(page.get_by_role("status").get_by_text("Protocol saved.")).to_be_visible()
    section = page.get_by_role("region", name="Esketamine, TRD (label)")
    expect(
        section.get_by_role("cell", name="Every 7–8 days after the last session")
    ).to_be_visible()
    journey.finish("protocols-saved")


def _missed_dose_patient(app) -> int:
    """An esketamine patient in the weekly phase whose last session was 10 days ago."""
    with app.app_context():
        protocol_service.ensure_templates()
        esketamine = next(
            p for p in protocol_service.active_protocols() if p.name == "Esketamine, TRD (label)"
        )
        today = clinic_today()
        first = today - timedelta(days=38)
        patient = make_patient(first_name="Noor", last_name="Haddad", mrn="MRN-ESK-1")
        course = open_course(
            patient,
            get_settings(),
            actor="test",
            opened_on=first,
            indication="TRD",
            protocol=esketamine,
        )
        for offset in (0, 3, 7, 10, 14, 17, 21, 24, 28):
            record_infusion(
                course,
                actor="test",
                settings=get_settings(),
                today=today,
                given_at=local_noon(first + timedelta(days=offset)),
                require_early_reason=False,
            )
        db.session.commit()
        return patient.id


def test_clinician_confirms_a_missed_dose_proposal(journey, staff, live_app):
    """The patient page says the weekly phase's 7 days have passed and proposes twice weekly;
    the clinician confirms and the page shows the earlier phase, with no proposal left."""
    patient_id = _missed_dose_patient(live_app)
    email, password = staff("clinician")
    page = journey.page
    log_in(page, email, password)
    page.goto(f"/patients/{patient_id}")
    proposal = page.get_by_role("status").filter(has_text="Missed dose")
    expect(
        proposal.get_by_role("heading", name="Missed dose: return to “Twice weekly”?")
    ).to_be_visible()
    expect(
        proposal.get_by_text(
            "10 days since the last session, past this phase’s maximum of 7 days.", exact=False
        )
    ).to_be_visible()
    expect(page.get_by_text("Weekly (2 of 3", exact=False)).to_be_visible()
    journey.check("patient page with a missed-dose proposal")
    _shots(page, "missed-dose-proposal")
    proposal.get_by_role("button", name="Return to “Twice weekly”").click()
    expect(
        page.get_by_role("status").get_by_text(
            "Back to the earlier phase: the window follows its rule."
        )
    ).to_be_visible()
    expect(page.get_by_text("Twice weekly (1 of 3", exact=False)).to_be_visible()
    expect(
        page.get_by_role("heading", name="Missed dose: return to “Twice weekly”?")
    ).to_have_count(0)
    journey.check("patient page after the return")
    journey.finish("missed-dose-confirmed")
