"""The pre-visit checklist in Chromium: the day-before reminder links to the questions, the
patient answers them on the page (no script needed), and the front desk sees the state on the
day sheet and the answers on the appointment page; a "no driver" answer taken by phone offers
a reschedule. Pages are checked by axe and photographed at 1366 and 390 px."""

import os
import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.models import Patient, Reminder, utcnow
from tracker.reminders.messages import appointment_message
from tracker.services import checklist
from tracker.services.clinic import clinic_zone, get_settings

from ..patient_link_fixtures import assert_no_clinical_words, due_patient, open_clinic, visit
from .conftest import log_in
from .helpers import horizontal_overflow

SHOTS = Path(os.environ.get("TRACKER_SHOTS_DIR", "/tmp/shots-checklist"))
SIZES = {"wide": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def shoot(page, name: str) -> None:
    """Screenshots at a desktop and a phone size; the page fits at 390 px."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert horizontal_overflow(page) <= 2, f"{name} is wider than 390 px"
    page.set_viewport_size(SIZES["wide"])


def test_patient_answers_from_the_reminder_and_the_front_desk_sees_it(
    live_app, live_server, page, journey, staff, playwright_browser
):
    """Reminder link -> the questions -> a wrong phone refused on its field -> saved; the day
    sheet says "checklist 4 of 4"; a phone answer "no driver" turns it to "no driver" with a
    Reschedule link to the move page."""
    with live_app.app_context():
        clinic = open_clinic()
        checklist.seed_defaults(clinic["maintenance"])
        patient, _ = due_patient(first_name="Robin")
        start = utcnow() + timedelta(days=1)
        appointment = visit(patient, clinic["chairs"][0], clinic["maintenance"], start, "booked")
        db.session.commit()
        message = appointment_message(
            Reminder(kind="appointment"),
            patient=db.session.get(Patient, patient.id),
            appointment=appointment,
            settings=get_settings(),
        )
        day = start.astimezone(clinic_zone()).date().isoformat()
        appointment_id = appointment.id
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/my/visit/\S+/checklist", text).group(0)

    page.goto(link.removesuffix("/checklist"))
    shoot(page, "patient-manage")
    page.get_by_role("link", name="Before your visit: answer a few short questions").click()
    journey.check("checklist page")
    assert_no_clinical_words(page.content())
    shoot(page, "patient-checklist")
    page.get_by_role("group", name=re.compile("nothing to eat")).get_by_label("Yes").check()
    driver = page.get_by_role("group", name=re.compile("take me home"))
    driver.get_by_label("Yes").check()
    driver.get_by_label("Their name").fill("Sam Lee")
    driver.get_by_label("Their phone").fill("call my sister")
    page.get_by_role("group", name=re.compile("paused the medicines")).get_by_label("Yes").check()
    page.get_by_role("group", name=re.compile("no alcohol")).get_by_label("Yes").check()
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_text("Enter a phone number").first).to_be_visible()
    journey.check("checklist field error")
    shoot(page, "patient-checklist-error")
    driver.get_by_label("Their phone").fill("+1 555 010 2233")
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_text("your answers are saved")).to_be_visible()
    expect(page.get_by_label("Their phone")).to_have_value("+1 555 010 2233")
    shoot(page, "patient-checklist-saved")

    email, password = staff("frontdesk")
    desk = playwright_browser.new_context(base_url=live_server.url).new_page()
    log_in(desk, email, password)
    desk.goto(f"/schedule/day?date={day}")
    block = desk.locator("td.block", has_text="Robin")
    assert "checklist 4 of 4" in block.inner_text()
    shoot(desk, "day-sheet-checklist")
    block.get_by_role("link", name=re.compile("Robin")).first.click()
    expect(
        desk.get_by_role("heading", name=re.compile("Pre-visit checklist: checklist 4 of 4"))
    ).to_be_visible()
    assert "Sam Lee" in desk.content() and "the patient, online" in desk.content()
    desk.get_by_role("link", name="Record answers taken by phone").click()
    shoot(desk, "staff-checklist")
    desk.get_by_role("group", name=re.compile("take me home")).get_by_label("No").check()
    desk.get_by_role("button", name="Save answers").click()
    expect(desk.get_by_text("Checklist answers saved.")).to_be_visible()
    expect(desk.get_by_role("link", name="reschedule this visit")).to_be_visible()
    shoot(desk, "appointment-no-driver")
    desk.goto(f"/schedule/day?date={day}")
    block = desk.locator("td.block", has_text="Robin")
    assert "no driver" in block.inner_text()
    shoot(desk, "day-sheet-no-driver")
    block.get_by_role("link", name=re.compile("Reschedule Robin")).click()
    assert desk.url.endswith(f"/schedule/appointments/{appointment_id}/move")
    desk.context.close()
    journey.finish("checklist")


def test_admin_edits_the_questions(live_app, page, journey, staff):
    """The admin page lists each type's questions; one is reworded and saved."""
    with live_app.app_context():
        clinic = open_clinic()
        checklist.seed_defaults(clinic["maintenance"])
        db.session.commit()
    email, password = staff("admin")
    log_in(page, email, password)
    page.goto("/schedule/checklist-items")
    journey.check("checklist items")
    shoot(page, "admin-checklist-items")
    form = page.locator("form.checklist-item-form", has_text="No alcohol").first
    form.get_by_label("Question the patient answers").fill(
        "I will have no alcohol for 48 hours before my visit."
    )
    form.get_by_role("button", name="Save No alcohol (Maintenance 40 min)").click()
    expect(page.get_by_text("Question saved.")).to_be_visible()
    assert (
        page.get_by_label("Question the patient answers")
        .nth(3)
        .input_value()
        .endswith("48 hours before my visit.")
    )
