"""Staff status steps follow the clock: arrived on the visit's day only, no-show after the start,
entered in error with a reason; the appointment page offers only what the clock allows."""

from datetime import date, timedelta

import pytest

from tracker.extensions import db
from tracker.models import ClosedDate
from tracker.services import appointments as service
from tracker.services.errors import RuleError

from .factories import make_patient
from .schedule_fixtures import add_appointment, at, setup_clinic

VISIT_DAY = date(2027, 1, 6)


@pytest.fixture
def visit(app_ctx):
    """A confirmed 09:00 visit on Wednesday 6 January 2027."""
    clinic = setup_clinic()
    return add_appointment(
        make_patient(), clinic["chairs"][0], clinic["maintenance"], at(VISIT_DAY, 9)
    )


def test_arrived_only_on_the_visits_day(visit):
    """The day before (even at 23:59 clinic time) is refused; the day itself, before the start, is fine."""
    with pytest.raises(RuleError, match="only on the day of the visit"):
        service.mark(visit, "arrived", actor="test", now=at(VISIT_DAY - timedelta(days=1), 23, 59))
    assert "arrived" not in service.actions_now(visit, now=at(VISIT_DAY - timedelta(days=1), 12))
    assert "arrived" in service.actions_now(visit, now=at(VISIT_DAY, 8))
    service.mark(visit, "arrived", actor="test", now=at(VISIT_DAY, 8, 50))
    assert visit.status == "arrived"


def test_no_arrival_on_a_closed_day(visit):
    """A visit left on a day the clinic closed cannot be marked arrived: it is to be moved."""
    db.session.add(ClosedDate(on=VISIT_DAY, reason="Flood"))
    db.session.flush()
    with pytest.raises(RuleError, match="The clinic is closed that day"):
        service.mark(visit, "arrived", actor="test", now=at(VISIT_DAY, 9))
    assert visit.status == "booked"


def test_no_show_only_after_the_start(visit):
    """No-show is not offered before the start and refused if posted; after the start it is."""
    assert "noshow" not in service.actions_now(visit, now=at(VISIT_DAY, 8, 59))
    with pytest.raises(RuleError, match="only once the visit has started"):
        service.mark(visit, "noshow", actor="test", now=at(VISIT_DAY, 8, 59))
    assert "noshow" in service.actions_now(visit, now=at(VISIT_DAY, 9, 5))
    service.mark(visit, "noshow", actor="test", now=at(VISIT_DAY, 9, 5))
    assert visit.status == "noshow"


def test_entered_in_error_needs_a_reason(visit):
    """Without a reason nothing changes; with one the reason is kept in the history."""
    with pytest.raises(RuleError) as error:
        service.mark(visit, "entered-in-error", actor="test", now=at(VISIT_DAY, 8), reason="  ")
    assert error.value.field == "reason" and visit.status == "booked"
    service.mark(
        visit,
        "entered-in-error",
        actor="test",
        now=at(VISIT_DAY, 8),
        reason="Booked for the wrong patient",
    )
    assert (
        visit.status == "entered-in-error"
        and visit.history[-1].reason == "Booked for the wrong patient"
    )


def test_appointment_page_offers_in_words_and_confirms_in_error(app, client, login_as):
    """The page offers no arrival for a visit on another day; entered in error asks for a reason on
    its own page; the result is said in words."""
    with app.app_context():
        clinic = setup_clinic()
        far = add_appointment(
            make_patient(),
            clinic["chairs"][0],
            clinic["maintenance"],
            at(date(2030, 1, 7), 9),
        )
        db.session.commit()
        far_id = far.id
    login_as("frontdesk")
    page = client.get(f"/schedule/appointments/{far_id}").text
    assert "Mark arrived" not in page and "Mark no-show" not in page and "Entered in error…" in page
    confirm = client.get(f"/schedule/appointments/{far_id}/entered-in-error")
    assert confirm.status_code == 200 and "Why was this entered in error?" in confirm.text
    refused = client.post(f"/schedule/appointments/{far_id}/entered-in-error", data={"reason": ""})
    assert refused.status_code == 400 and "Say why this was entered in error." in refused.text
    done = client.post(
        f"/schedule/appointments/{far_id}/entered-in-error",
        data={"reason": "Duplicate booking"},
        follow_redirects=True,
    )
    assert (
        "Marked as entered in error; it is kept, struck through, and counts for nothing."
        in done.text
    )
