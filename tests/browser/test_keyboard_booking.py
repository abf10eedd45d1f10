"""The whole booking journey with the keyboard alone: no mouse click anywhere."""
from datetime import timedelta

from playwright.sync_api import expect

from tracker.extensions import db
from tracker.services.clinic import clinic_today

from ..factories import make_patient, make_user
from .helpers import complete_series, is_focused, set_up_clinic, tab_to


def focus_ring_shown(page) -> bool:
    """The focused element draws a visible outline (the keyboard user can see where they are)."""
    return page.evaluate("""() => {
        const style = getComputedStyle(document.activeElement);
        return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
    }""")


def press_to_load(page, key="Enter"):
    """Press a key that follows a link or submits a form; wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def tab_and_press(page, locator, key="Enter", backwards=False):
    """Tab to the element, check its focus ring, press a key on it and wait for the next page."""
    tab_to(page, locator, backwards=backwards)
    assert focus_ring_shown(page)
    press_to_load(page, key)


def test_booking_with_keyboard_only(journey, live_app):
    """Log in, find the due patient on the worklist, book a free time and confirm it with Tab,
    Shift+Tab, arrow keys, Enter and Space only."""
    page = journey.page
    with live_app.app_context():
        today = clinic_today()
        set_up_clinic()
        user = make_user(role="frontdesk")
        patient = make_patient(first_name="Riley", last_name="Kowalski", mrn="MRN-KB-1")
        complete_series(patient, today - timedelta(days=45))
        complete_series(make_patient(first_name="Ines", last_name="Halvorsen"), today - timedelta(days=50))
        db.session.commit()
        email = user.email

    page.goto("/login")
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_role("link", name="Skip to main content"))
    tab_to(page, page.get_by_label("Email"))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_label("Password"))
    page.keyboard.type("correct horse battery staple")
    press_to_load(page)
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()

    # The skip link takes the focus past the navigation into the page.
    page.keyboard.press("Tab")
    assert is_focused(page.get_by_role("link", name="Skip to main content"))
    page.keyboard.press("Enter")
    assert is_focused(page.get_by_role("main"))

    # Narrow the worklist to the patient, then follow their Book link.
    tab_to(page, page.get_by_label("Name, MRN, birth date or phone"))
    page.keyboard.type("Kowalski")
    press_to_load(page)
    expect(page.get_by_role("row").filter(has_text="Halvorsen")).to_have_count(0)
    tab_and_press(page, page.get_by_role("link", name="Book Kowalski, Riley"))
    expect(page.get_by_role("heading", name="Book an appointment for Riley Kowalski")).to_be_visible()

    proposals = page.get_by_role("group", name="Free chair time for Maintenance 40 min (100 minute block)")
    radios = proposals.get_by_role("radio")
    assert not any(radios.nth(n).is_checked() for n in range(radios.count()))  # nothing chosen for them
    tab_to(page, radios.nth(0))  # Tab enters the group at its first time
    assert focus_ring_shown(page)
    page.keyboard.press("Space")
    expect(radios.nth(0)).to_be_checked()
    page.keyboard.press("ArrowDown")
    assert is_focused(radios.nth(1)) and radios.nth(1).is_checked()
    chosen = radios.nth(1).evaluate("radio => radio.labels[0].innerText")

    book = page.get_by_role("button", name="Book", exact=True)
    tab_to(page, book)
    tab_to(page, page.get_by_label("Note for the front desk"), backwards=True)
    page.keyboard.type("Prefers the chair by the window.")
    tab_and_press(page, book, key="Space")
    expect(page.get_by_role("heading", name="Appointment: Riley Kowalski")).to_be_visible()
    expect(page.get_by_role("status").get_by_text(f"on {chosen.rsplit(' · ', 1)[1]} (not yet confirmed).")).to_be_visible()
    expect(page.get_by_text("Prefers the chair by the window.")).to_be_visible()

    tab_and_press(page, page.get_by_role("button", name="Confirm"), key="Space")
    expect(page.get_by_role("status").get_by_text("Confirmed.", exact=True)).to_be_visible()
    journey.check("appointment confirmed by keyboard")
    journey.finish("keyboard-booking")
