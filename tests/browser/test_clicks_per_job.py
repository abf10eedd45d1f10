"""The jobs of UX.md, each done in Chromium the way a person does it, clicks counted against the
budget UX.md gives it: front desk, clinician and patient. The counts print at the end of the
run ("clicks per job")."""

import os
import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.patient_links.tokens import make_token
from tracker.services.clinic import clinic_today, clinic_zone

from ..factories import make_patient
from ..patient_link_fixtures import due_patient, open_clinic, visit
from .conftest import log_in
from .helpers import Clicks, add_appointment, complete_series, local_instant, set_up_clinic

SHOTS = os.environ.get("TRACKER_SHOTS")  # a folder for screenshots, when a person wants to look


def _shots(page, name: str) -> None:
    if SHOTS:
        for width in (1366, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})


def _search(page, text: str):
    """Type into the header search as a person would (typing is not a click)."""
    box = page.get_by_role("combobox", name="Find a patient")
    box.press_sequentially(text, delay=20)
    return page.get_by_role("listbox", name="Patients found").get_by_role("option")


def _free_start(page):
    """The first free start the slot finder shows (nothing is preselected)."""
    group = page.get_by_role("group", name=re.compile("^Free chair time"))
    expect(group.get_by_role("radio").first).to_be_visible()
    return group.get_by_role("radio").first


def test_front_desk_jobs_fit_their_clicks(journey, live_app, staff):
    """Find a caller, book a due patient from the worklist, book a caller who is not on it,
    move a visit to later the same day, cancel it with a reason, log a recall call."""
    with live_app.app_context():
        clinic = set_up_clinic()
        today = clinic_today()
        due = make_patient(first_name="Dana", last_name="Due", phone="(704) 555-0142")
        complete_series(due, today - timedelta(days=40))
        make_patient(first_name="Cal", last_name="Caller", phone="704-555-0177")
        recall = make_patient(first_name="Rae", last_name="Recall", phone="704 555 0188")
        complete_series(recall, today - timedelta(days=120))
        moving = make_patient(first_name="Mo", last_name="Mover")
        tomorrow = today + timedelta(days=1)
        add_appointment(
            moving, clinic["chairs"][0], clinic["maintenance"], local_instant(tomorrow, 9)
        )
        db.session.commit()
    page = journey.page
    log_in(page, *staff("frontdesk"))

    page.goto("/schedule/day")  # any page: the search is in the header
    clicks = Clicks(page, "find a caller by phone from any page", budget=1)
    options = _search(page, "7045550177")
    expect(options).to_have_count(1)
    clicks.click(options.first)
    expect(page.get_by_role("heading", name="Cal Caller", exact=True)).to_be_visible()
    clicks.done()

    page.goto("/worklist/")
    clicks = Clicks(page, "book a due patient from the worklist", budget=3)
    clicks.click(
        page.get_by_role("row")
        .filter(has_text="Due, Dana")
        .get_by_role("link", name=re.compile("^Book"))
    )
    expect(page.get_by_role("heading", name="Book an appointment for Dana Due")).to_be_visible()
    clicks.tick(_free_start(page))
    clicks.click(page.get_by_role("button", name="Book", exact=True))
    expect(page.get_by_role("status").get_by_text(re.compile(r"^Booked "))).to_be_visible()
    clicks.done()

    page.goto("/worklist/")
    clicks = Clicks(page, "book a caller who is not on the worklist", budget=4)
    expect(page.get_by_role("row").filter(has_text="Caller, Cal")).to_have_count(0)
    options = _search(page, "caller cal")
    expect(options).to_have_count(1)
    clicks.click(options.first)
    clicks.click(page.get_by_role("link", name="Book", exact=True))
    expect(page.get_by_role("heading", name="Book an appointment for Cal Caller")).to_be_visible()
    clicks.tick(_free_start(page))
    clicks.click(page.get_by_role("button", name="Book", exact=True))
    expect(page.get_by_role("status").get_by_text(re.compile(r"^Booked "))).to_be_visible()
    clicks.done()

    page.goto(f"/schedule/day?date={tomorrow.isoformat()}")
    page.get_by_role("link", name="Mo Mover", exact=True).click()
    expect(page.get_by_role("heading", name="Appointment: Mo Mover")).to_be_visible()
    clicks = Clicks(page, "move a visit to later the same day", budget=3)
    clicks.click(page.get_by_role("link", name="Move to another time"))
    clicks.tick(page.get_by_role("radio", name=re.compile(r"^15:00 to ")).first)
    clicks.click(page.get_by_role("button", name="Move to this time"))
    expect(
        page.get_by_role("status").get_by_text(re.compile(r"^Moved from .* to .*, 15:00 "))
    ).to_be_visible()
    clicks.done()

    clicks = Clicks(page, "cancel a visit with a reason", budget=3)
    clicks.choose(page.get_by_label("Reason for cancelling"), "Patient cancelled")
    clicks.click(page.get_by_role("button", name="Cancel appointment"))
    expect(
        page.get_by_role("status").get_by_text("Cancelled; the chair time is free again.")
    ).to_be_visible()
    clicks.done()

    page.goto("/worklist/")
    clicks = Clicks(page, "log a recall call and its outcome", budget=2)
    clicks.choose(page.get_by_label("Outcome of the call to Recall, Rae"), "Left a voicemail")
    with page.expect_navigation():
        clicks.click(page.get_by_role("button", name="Log call to Recall, Rae"))
    expect(page.locator(".flashes")).to_contain_text(
        "Call logged for Rae Recall: Left a voicemail."
    )
    clicks.done()
    journey.finish("clicks-front-desk")


def test_recording_a_session_from_the_day_sheet_fits_its_clicks(journey, live_app, staff):
    """A clinician opens today's day sheet, records the session of a confirmed visit: 2 clicks
    besides the readings (the weight and dose are carried forward from the last session)."""
    with live_app.app_context():
        clinic = set_up_clinic()
        today = clinic_today()
        patient = make_patient(first_name="Sol", last_name="Session")
        complete_series(patient, today - timedelta(days=40))
        zone = clinic_zone()
        midnight = datetime.combine(today, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        start = max(midnight, datetime.now(UTC) - timedelta(minutes=110)).replace(
            second=0, microsecond=0
        )
        start -= timedelta(minutes=start.minute % 5)
        add_appointment(patient, clinic["chairs"][0], clinic["maintenance"], start)
        db.session.commit()
    page = journey.page
    log_in(page, *staff("clinician"))
    page.goto("/schedule/day")
    _shots(page, "day-sheet-record-session")
    clicks = Clicks(page, "record a session from the day sheet (besides the readings)", budget=2)
    clicks.click(page.get_by_role("link", name=re.compile("^Record the session of Sol Session")))
    expect(page.get_by_role("heading", name="Record the session: Sol Session")).to_be_visible()
    page.get_by_label("Pain before (0-10)").fill("6")
    page.get_by_label("Pain after (0-10)").fill("2")
    clicks.click(page.get_by_role("button", name="Save the session"))
    expect(
        page.get_by_role("status").get_by_text(re.compile(r"^Infusion recorded\."))
    ).to_be_visible()
    clicks.done()
    journey.finish("clicks-record-session")


def test_patient_jobs_from_their_emails_fit_their_clicks(journey, live_app):
    """A patient books from the reminder's link, confirms a visit and cancels another from the
    visit's link; following the link in the email is the first click of each."""
    with live_app.app_context():
        clinic = open_clinic()
        booker, course = due_patient(first_name="Bea")
        keeper, _ = due_patient(first_name="Kit")
        leaver, _ = due_patient(first_name="Lou")
        soon = (datetime.now(UTC) + timedelta(days=4)).replace(minute=0, second=0, microsecond=0)
        kept = visit(keeper, clinic["chairs"][0], clinic["maintenance"], soon)
        left = visit(leaver, clinic["chairs"][1], clinic["maintenance"], soon)
        db.session.commit()
        with live_app.test_request_context():
            book_link = f"/my/book/{make_token('book', booker.id, course.id)}"
            keep_link = f"/my/visit/{make_token('manage', keeper.id, kept.id)}"
            leave_link = f"/my/visit/{make_token('manage', leaver.id, left.id)}"
    page = journey.page

    clicks = Clicks(page, "a patient books from a reminder email", budget=3)
    clicks.follow(book_link)
    expect(page.get_by_role("heading", name="Hello Bea, book your next visit")).to_be_visible()
    clicks.click(page.get_by_role("button").filter(has_text=re.compile(r"^\d\d:\d\d$")).first)
    expect(page.get_by_role("heading", name="Bea, book this time?")).to_be_visible()
    clicks.click(page.get_by_role("button", name="Book this time"))
    expect(page.get_by_role("heading", name="Bea, your visit is booked")).to_be_visible()
    clicks.done()

    clicks = Clicks(page, "a patient confirms from a reminder email", budget=2)
    clicks.follow(keep_link)
    clicks.click(page.get_by_role("button", name="Confirm my visit"))
    expect(page.get_by_role("status").filter(has_text="your visit is confirmed")).to_be_visible()
    clicks.done()

    clicks = Clicks(page, "a patient cancels from a reminder email, with a reason", budget=2)
    clicks.follow(leave_link)
    expect(page.get_by_role("heading", name="Hello Lou, your visit")).to_be_visible()
    journey.check("manage: the reasons to cancel")
    clicks.click(page.get_by_role("button", name="Cancel my visit: I cannot come at that time"))
    expect(page.get_by_text("This visit is cancelled.")).to_be_visible()
    clicks.done()
    journey.finish("clicks-patient")
