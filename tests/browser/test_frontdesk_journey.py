"""The front desk's journey in a real browser: a new patient, the worklist, book, move, cancel."""
import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tracker.extensions import db
from tracker.formatting import format_day
from tracker.models import Appointment
from tracker.services.clinic import clinic_today

from .conftest import log_in
from .helpers import complete_series, patient_by_mrn, set_up_clinic


def add_patient(page, journey):
    """Add Casey Nguyen with email consent through the patients pages."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    journey.check("patients list")
    page.get_by_role("link", name="Add patient").click()
    expect(page.get_by_role("heading", name="Add patient")).to_be_visible()
    journey.check("add patient")
    page.get_by_label("MRN").fill("MRN-FD-1")
    page.get_by_label("First name").fill("Casey")
    page.get_by_label("Last name").fill("Nguyen")
    page.get_by_label("Date of birth").fill("1984-07-09")
    page.get_by_label("Email", exact=True).fill("casey.nguyen@example.test")
    page.get_by_label("Phone").fill("555-0142")
    page.get_by_label("Consents to email reminders").check()
    page.get_by_role("button", name="Add patient").click()
    expect(page.get_by_role("status").get_by_text("Patient added.")).to_be_visible()
    expect(page.get_by_role("heading", name="Casey Nguyen")).to_be_visible()
    expect(page.get_by_role("definition").filter(has_text="Consent recorded")).to_be_visible()
    journey.check("patient page (new patient)")


def expect_status(page, words: str) -> None:
    """The appointment page's Status reads `words` (waiting for the page to show it)."""
    expect(page.get_by_role("definition").filter(has_text=re.compile(rf"^\s*{re.escape(words)}\b"))).to_be_visible()


SLOT_LABEL = re.compile(r"^(?P<start>\d\d:\d\d) to (?P<end>\d\d:\d\d) · (?P<chair>.+)$")
LEGEND_DAY = re.compile(r" on (?P<day>\w{3} \d{1,2} \w{3} \d{4})$")


def choose_slot(page, index: int) -> dict:
    """Choose the index-th free start of the day shown; its day, start, end and chair."""
    group = page.get_by_role("group", name=re.compile("^Free chair time"))
    proposals = group.get_by_role("radio")
    expect(proposals.nth(2)).to_be_attached()
    assert proposals.count() >= 3  # at least two starts besides "Another time"
    assert not any(proposals.nth(n).is_checked() for n in range(proposals.count()))  # none preselected
    slot = proposals.nth(index)
    slot.check()
    label = SLOT_LABEL.match(slot.evaluate("radio => radio.labels[0].innerText").strip())
    assert label, "a free start is labelled 'HH:MM to HH:MM · chair'"
    day = LEGEND_DAY.search(group.locator("legend").inner_text().strip())
    assert day, "the group's legend names the day"
    return {**label.groupdict(), **day.groupdict()}


def test_frontdesk_books_reschedules_and_cancels_from_worklist(journey, staff, live_app):
    """Front desk adds a patient with consent, finds them due on the worklist, books from there,
    sees the booking on the day sheet, reschedules it and cancels it with a reason."""
    page = journey.page
    with live_app.app_context():
        set_up_clinic()
        db.session.commit()
        today = clinic_today()
    email, password = staff("frontdesk")
    log_in(page, email, password)
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    add_patient(page, journey)

    # The clinician's part, through the services: the one-infusion series ended 40 days ago.
    with live_app.app_context():
        complete_series(patient_by_mrn("MRN-FD-1"), today - timedelta(days=40))
        db.session.commit()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    row = page.get_by_role("row").filter(has_text="Nguyen")
    expect(row).to_have_count(1)
    expect(row.get_by_text(re.compile("^due$", re.IGNORECASE)).first).to_be_visible()
    journey.check("worklist (patient due)")
    row.get_by_role("link", name=re.compile("^Book")).click()

    expect(page.get_by_role("heading", name="Book an appointment for Casey Nguyen")).to_be_visible()
    opens, closes = today - timedelta(days=10), today + timedelta(days=50)
    expect(page.get_by_text(f"Maintenance window: opens {format_day(opens)}, "
                            f"closes {format_day(closes)}.")).to_be_visible()
    journey.check("book (slot finder)")
    chosen = choose_slot(page, 1)
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_role("heading", name="Appointment: Casey Nguyen")).to_be_visible()
    expect(page.get_by_role("status").get_by_text(
        f"Booked {chosen['day']}, {chosen['start']} on {chosen['chair']} (not yet confirmed).")).to_be_visible()
    expect_status(page, "booked, not yet confirmed")
    journey.check("appointment (booked)")
    page.get_by_role("button", name="Confirm").click()
    expect_status(page, "confirmed")

    page.get_by_role("link", name="Day sheet for that day").click()
    sheet = page.get_by_role("table", name="Chairs as columns, clinic time as rows")
    block = sheet.get_by_role("cell").filter(has=page.get_by_role("link", name="Casey Nguyen", exact=True))
    expect(block.get_by_text(f"{chosen['start']}–{chosen['end']}")).to_be_visible()
    journey.check("day sheet (booked day)")

    block.get_by_role("link", name="Casey Nguyen", exact=True).click()
    page.get_by_role("link", name="Move to another time").click()
    expect(page.get_by_role("heading", name="Move Casey Nguyen's appointment")).to_be_visible()
    journey.check("move")
    moved_to = choose_slot(page, 2)
    page.get_by_label("Who asked for the change").select_option(label="The patient asked")
    page.get_by_role("button", name="Move to this time").click()
    expect(page.get_by_role("heading", name="Appointment: Casey Nguyen")).to_be_visible()
    expect(page.get_by_role("status").get_by_text(re.compile(r"^Moved from .* \(still confirmed\)\.$"))).to_be_visible()
    expect(page.get_by_role("definition").filter(
        has_text=f"{moved_to['day']}, {moved_to['start']} to {moved_to['end']}")).to_be_visible()
    expect(page.get_by_role("definition").filter(has_text=moved_to["chair"]).first).to_be_visible()
    expect_status(page, "confirmed")
    expect(page.get_by_role("cell", name=re.compile(f"^Moved from {chosen['day']}, {chosen['start']}"))).to_be_visible()
    journey.check("appointment (moved)")

    page.get_by_label("Reason for cancelling").select_option(label="Patient cancelled")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_role("status").get_by_text("Cancelled; the chair time is free again.")).to_be_visible()
    expect(page.get_by_role("definition").filter(has_text="(Patient cancelled)")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel appointment")).to_have_count(0)
    journey.check("appointment (cancelled)")
    journey.finish("frontdesk-journey")

    with live_app.app_context():
        statuses = db.session.execute(select(Appointment.status, Appointment.cancel_reason)
                                      .order_by(Appointment.id)).all()
        assert [tuple(s) for s in statuses] == [("cancelled", "patient")]  # moved in place, then cancelled
