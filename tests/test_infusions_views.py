"""Recording and removing infusions through the patient pages: values, errors, roles, appointments."""
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Appointment, AppointmentType, AuditEvent, Chair, Course, Infusion
from tracker.services.clinic import get_settings
from tracker.services.infusions import record_infusion

from .factories import local_noon, make_course, make_patient

TODAY = date(2026, 11, 26)
GOOD = {"given_at": "2026-03-02T10:00", "outcome": "completed", "weight_kg": "72.5",
        "dose_mg_per_kg": "0.5", "duration_min": "40", "pain_before": "8", "pain_after": "3",
        "adverse_effects": "mild dizziness", "notes": "tolerated well"}


@pytest.fixture(autouse=True)
def frozen_today(freeze_clock):
    """The clinic's today is fixed for every test here (the clock stops at its noon)."""
    freeze_clock(local_noon(TODAY))


def _setup(app, *, days=(), series_planned=6, with_course=True):
    """A patient born 1980-05-17 with an open course holding infusions on `days`; (patient, course) ids."""
    with app.app_context():
        patient = make_patient()
        course_id = None
        if with_course:
            course = make_course(patient, series_planned=series_planned)
            for day in days:
                record_infusion(course, actor="test", settings=get_settings(), today=TODAY,
                                given_at=local_noon(day))
            course_id = course.id
        db.session.commit()
        return patient.id, course_id


def _infusion_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Infusion.id)))


def _appointment(app, patient_id, course_id, *, start=datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc),
                 status="arrived") -> int:
    with app.app_context():
        chair = db.session.scalar(select(Chair)) or Chair(name="Chair 1")
        kind = db.session.scalar(select(AppointmentType)) or AppointmentType(name="Booster", infusion_min=40)
        db.session.add_all([chair, kind])
        db.session.flush()
        appointment = Appointment(uid=f"test-{patient_id}-{start.isoformat()}", patient_id=patient_id,
                                  course_id=course_id, appointment_type_id=kind.id, chair_id=chair.id,
                                  start_at=start, end_at=start.replace(hour=start.hour + 2), status=status)
        db.session.add(appointment)
        db.session.commit()
        return appointment.id


def test_record_infusion_happy_path(app, client, login_as):
    """A clinician records a session: UTC instant, local date, total mg computed and shown, audited."""
    patient_id, _ = _setup(app)
    user = login_as("clinician")
    form = client.get(f"/patients/{patient_id}/infusions/new")
    assert form.status_code == 200 and 'name="given_at"' in form.text
    response = client.post(f"/patients/{patient_id}/infusions/new", data=GOOD)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert "Total dose 36.25 mg" in page and '= 36.25 mg</td>' in page
    with app.app_context():
        infusion = db.session.scalar(select(Infusion))
        assert infusion.given_at == datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
        assert infusion.given_on == date(2026, 3, 2)
        assert (infusion.total_mg, infusion.pain_before, infusion.pain_after) == (Decimal("36.25"), 8, 3)
        assert infusion.recorded_by_id == user.id and infusion.notes == "tolerated well"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity == "infusion"))
        assert (event.action, event.user_id) == ("create", user.id)


def test_late_evening_session_belongs_to_its_local_date(app, client, login_as):
    """A session at 23:30 clinic time counts on that local date, whatever its UTC date."""
    patient_id, _ = _setup(app)
    login_as("clinician")
    client.post(f"/patients/{patient_id}/infusions/new", data={**GOOD, "given_at": "2026-03-02T23:30"})
    with app.app_context():
        infusion = db.session.scalar(select(Infusion))
        assert infusion.given_on == date(2026, 3, 2)
        assert infusion.given_at.date() == date(2026, 3, 3)


@pytest.mark.parametrize("changes, field, message", [
    ({"given_at": "2026-11-27T09:00"}, "given_at", "cannot be in the future"),
    ({"given_at": "1980-05-16T09:00"}, "given_at", "date is before the patient"),
    ({"given_at": "2026-03-08T02:30"}, "given_at", "does not exist on this date"),
    ({"given_at": "yesterday"}, "given_at", "Not a valid datetime value"),
    ({"given_at": ""}, "given_at", "Enter the date and time."),
    ({"pain_before": "11"}, "pain_before", "between 0 and 10"),
    ({"pain_after": "-1"}, "pain_after", "between 0 and 10"),
    ({"dose_mg_per_kg": "-0.5"}, "dose_mg_per_kg", "at least 0"),
    ({"dose_mg_per_kg": "6"}, "dose_mg_per_kg", "above the clinic maximum"),
    ({"weight_kg": "0"}, "weight_kg", "between 0.5 and 400"),
    ({"duration_min": "2000"}, "duration_min", "between 0 and 1440"),
    ({"outcome": "exploded"}, "outcome", "Not a valid choice"),
    ({"dose_mg_per_kg": "NaN"}, "dose_mg_per_kg", "Enter a number."),
    ({"weight_kg": "Infinity"}, "weight_kg", "Enter a number."),
    ({"given_at": "9999-12-31T23:30"}, "given_at", "Check the year."),
])
def test_bad_input_is_refused_on_its_field(app, client, login_as, changes, field, message):
    """Each bad value comes back on its field with the typed values kept, and nothing is saved."""
    patient_id, _ = _setup(app)
    login_as("clinician")
    response = client.post(f"/patients/{patient_id}/infusions/new", data={**GOOD, **changes})
    assert response.status_code == 400
    assert re.search(rf'id="{field}-error"[^>]*>[^<]*{re.escape(message)}', response.text), response.text
    assert "tolerated well" in response.text  # the notes typed are kept
    assert _infusion_count(app) == 0


def test_every_problem_is_reported_at_once(app, client, login_as):
    """A form problem and a clinic-rule problem are reported together."""
    patient_id, _ = _setup(app)
    login_as("clinician")
    data = {**GOOD, "pain_before": "11", "dose_mg_per_kg": "9", "given_at": "2027-01-01T09:00"}
    body = client.post(f"/patients/{patient_id}/infusions/new", data=data).text
    for field in ("pain_before", "dose_mg_per_kg", "given_at"):
        assert f'id="{field}-error"' in body
    assert 'value="2027-01-01T09:00"' in body


def test_early_booster_needs_a_reason(app, client, login_as):
    """A booster on day 20 is refused without a reason, then saved as early and re-anchors."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)], series_planned=1)
    login_as("clinician")
    booster = {**GOOD, "given_at": "2026-03-22T10:00"}
    refused = client.post(f"/patients/{patient_id}/infusions/new", data=booster)
    assert refused.status_code == 400
    assert re.search(r'id="early_reason-error"[^>]*>[^<]*reason for an early booster', refused.text)
    assert _infusion_count(app) == 1
    saved = client.post(f"/patients/{patient_id}/infusions/new", data={**booster, "early_reason": "flare"})
    assert saved.status_code == 303
    with app.app_context():
        course = db.session.get(Course, course_id)
        assert (course.window_opens, course.window_closes) == (date(2026, 4, 21), date(2026, 6, 20))
    assert "<strong>early</strong>: flare" in client.get(f"/patients/{patient_id}").text


def test_stopped_early_counts_when_marked(app, client, login_as):
    """A session stopped early counts toward the series only when the clinician says so."""
    patient_id, course_id = _setup(app, series_planned=2)
    login_as("clinician")
    client.post(f"/patients/{patient_id}/infusions/new", data={**GOOD, "outcome": "stopped_early"})
    client.post(f"/patients/{patient_id}/infusions/new",
                data={**GOOD, "given_at": "2026-03-04T10:00", "outcome": "stopped_early",
                      "counts_toward_series": "y"})
    with app.app_context():
        assert db.session.get(Course, course_id).qualifying_count == 1


def test_no_open_course_means_no_recording(app, client, login_as):
    """Without an open course the page says to open one and a POST saves nothing."""
    patient_id, _ = _setup(app, with_course=False)
    login_as("clinician")
    assert "open a course first" in client.get(f"/patients/{patient_id}/infusions/new").text
    response = client.post(f"/patients/{patient_id}/infusions/new", data=GOOD)
    assert response.status_code == 400 and _infusion_count(app) == 0


def test_appointment_prefills_and_links(app, client, login_as):
    """From an appointment the date and time are pre-filled in clinic time and the infusion is linked."""
    patient_id, course_id = _setup(app)
    appointment_id = _appointment(app, patient_id, course_id)
    login_as("clinician")
    url = f"/patients/{patient_id}/infusions/new?appointment_id={appointment_id}"
    form = client.get(url).text
    assert 'value="2026-11-20T10:00"' in form
    assert f'action="/patients/{patient_id}/infusions/new?appointment_id={appointment_id}"' in form
    assert client.post(url, data={**GOOD, "given_at": "2026-11-20T10:05"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Infusion.appointment_id)) == appointment_id
        assert db.session.get(Appointment, appointment_id).status == "fulfilled"
    again = client.post(url, data={**GOOD, "given_at": "2026-11-20T10:05"})
    assert again.status_code == 400 and "already recorded for that appointment" in again.text
    assert _infusion_count(app) == 1


def test_cancelled_appointment_is_refused(app, client, login_as):
    """An infusion cannot be recorded against a cancelled appointment."""
    patient_id, course_id = _setup(app)
    appointment_id = _appointment(app, patient_id, course_id, status="cancelled")
    login_as("clinician")
    response = client.post(f"/patients/{patient_id}/infusions/new?appointment_id={appointment_id}", data=GOOD)
    assert response.status_code == 400 and "appointment is cancelled" in response.text
    assert _infusion_count(app) == 0


def test_unconfirmed_appointment_is_refused_and_nothing_saved(app, client, login_as):
    """When the booking rules refuse to fulfil the appointment, the infusion is not saved either."""
    patient_id, course_id = _setup(app)
    appointment_id = _appointment(app, patient_id, course_id, status="pending")
    login_as("clinician")
    response = client.post(f"/patients/{patient_id}/infusions/new?appointment_id={appointment_id}", data=GOOD)
    assert response.status_code == 400 and 'class="form-errors"' in response.text
    assert "tolerated well" in response.text
    assert _infusion_count(app) == 0
    with app.app_context():
        assert db.session.get(Appointment, appointment_id).status == "pending"


def test_another_patients_appointment_is_404(app, client, login_as):
    """An appointment of another patient (or none at all) gives 404 and saves nothing."""
    patient_id, _ = _setup(app)
    other_id, other_course = _setup(app)
    appointment_id = _appointment(app, other_id, other_course)
    login_as("clinician")
    for query in (f"appointment_id={appointment_id}", "appointment_id=99999", "appointment_id=abc"):
        url = f"/patients/{patient_id}/infusions/new?{query}"
        assert client.get(url).status_code == 404
        assert client.post(url, data=GOOD).status_code == 404
    assert _infusion_count(app) == 0


def test_frontdesk_may_not_record_or_remove(app, client, login_as):
    """Front desk gets 403 on the infusion form, its POST and removal; nothing changes."""
    patient_id, _ = _setup(app, days=[date(2026, 3, 2)])
    login_as("frontdesk")
    assert client.get(f"/patients/{patient_id}/infusions/new").status_code == 403
    assert client.post(f"/patients/{patient_id}/infusions/new", data=GOOD).status_code == 403
    assert client.post(f"/patients/{patient_id}/infusions/1/entered-in-error",
                       data={"reason": "wrong patient"}).status_code == 403
    assert client.get(f"/patients/{patient_id}/infusions/1/entered-in-error").status_code == 403
    assert _infusion_count(app) == 1


def test_entered_in_error_keeps_the_row_and_reanchors(app, client, login_as):
    """The series' last infusion marked entered in error (confirmed with a reason) stays on record,
    struck out; the course returns to its series and the change is audited."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2), date(2026, 3, 4)], series_planned=2)
    user = login_as("clinician")
    with app.app_context():
        last_id = db.session.scalar(select(Infusion.id).where(Infusion.given_on == date(2026, 3, 4)))
        assert db.session.get(Course, course_id).state == "maintenance"
    url = f"/patients/{patient_id}/infusions/{last_id}/entered-in-error"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Why was this entered in error?" in confirm.text
    with app.app_context():
        assert db.session.get(Infusion, last_id).entered_in_error_at is None  # a GET changes nothing
    refused = client.post(url, data={"reason": ""})
    assert refused.status_code == 400 and "Say why this was entered in error." in refused.text
    response = client.post(url, data={"reason": "recorded twice"})
    assert response.status_code == 303
    with app.app_context():
        course = db.session.get(Course, course_id)
        assert (course.state, course.anchor_date, course.qualifying_count) == ("series_in_progress", None, 1)
        assert _infusion_count(app) == 2
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "entered_in_error"))
        assert (event.entity, event.entity_id, event.user_id) == ("infusion", last_id, user.id)
    page = client.get(f"/patients/{patient_id}").text
    assert 'class="in-error"' in page and "Entered in error: recorded twice" in page


def test_remove_checks_the_patient(app, client, login_as):
    """An infusion id of another patient, or none, is a 404 and nothing is removed."""
    patient_id, _ = _setup(app)
    _, _ = _setup(app, days=[date(2026, 3, 2)])
    login_as("clinician")
    assert client.post(f"/patients/{patient_id}/infusions/1/entered-in-error",
                       data={"reason": "x"}).status_code == 404
    assert client.post(f"/patients/{patient_id}/infusions/999/entered-in-error",
                       data={"reason": "x"}).status_code == 404
    assert _infusion_count(app) == 1


def test_infusion_of_a_closed_course_stays(app, client, login_as):
    """An infusion of a discharged course is history: removal is refused with a message."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)])
    with app.app_context():
        db.session.get(Course, course_id).state = "discharged"
        db.session.commit()
    login_as("clinician")
    response = client.post(f"/patients/{patient_id}/infusions/1/entered-in-error", data={"reason": "x"})
    assert response.status_code == 400 and "closed course and cannot be changed" in response.text
    with app.app_context():
        assert db.session.get(Infusion, 1).entered_in_error_at is None


def test_session_form_carries_forward_and_shows_the_new_window(app, client, login_as):
    """The form opens with the last session's weight and dose; saving says which window the course
    now has, and warns (without refusing) when the dose is far from the last."""
    patient_id, _ = _setup(app, series_planned=1)
    login_as("clinician")
    assert client.post(f"/patients/{patient_id}/infusions/new", data=GOOD).status_code == 303
    form = client.get(f"/patients/{patient_id}/infusions/new").text
    assert re.search(r'id="weight_kg"[^>]*value="72.50"', form)
    assert re.search(r'id="dose_mg_per_kg"[^>]*value="0.500"', form)
    assert 'data-last-dose="0.5"' in form and 'data-warn-percent="25"' in form
    assert 'src="/static/js/session-form.js"' in form and "<script>" not in form
    booster = {**GOOD, "given_at": "2026-04-10T10:00", "dose_mg_per_kg": "0.8"}
    response = client.post(f"/patients/{patient_id}/infusions/new", data=booster, follow_redirects=True)
    assert "Next window: Sun 10 May 2026 to Thu 9 Jul 2026 (last maintenance infusion Fri 10 Apr 2026)." in response.text
    assert "Check the dose: 0.800 mg/kg differs from the last (0.500 mg/kg) by 60%" in response.text
    assert _infusion_count(app) == 2


def test_a_hold_past_its_resume_date_ends_when_a_session_is_recorded(app, client, login_as):
    """On hold until a day still to come: recording is refused. Once the resume date has come
    the form works, and saving the session takes the course off hold (audited as a resume)."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)], series_planned=1)
    with app.app_context():
        course = db.session.get(Course, course_id)
        course.state_before_hold, course.state, course.hold_reason = "maintenance", "on_hold", "trip"
        course.resume_on = TODAY + timedelta(days=1)
        db.session.commit()
    login_as("clinician")
    session = {**GOOD, "given_at": "2026-11-26T10:00"}
    refused = client.post(f"/patients/{patient_id}/infusions/new", data=session)
    assert refused.status_code == 400 and "The course is on hold" in refused.text
    assert _infusion_count(app) == 1
    with app.app_context():
        db.session.get(Course, course_id).resume_on = TODAY
        db.session.commit()
    assert client.post(f"/patients/{patient_id}/infusions/new", data=session).status_code == 303
    with app.app_context():
        course = db.session.get(Course, course_id)
        assert (course.state, course.resume_on, course.anchor_date) == (
            "maintenance", None, date(2026, 11, 26))
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "course"))
        assert "resume" in list(actions)
    assert _infusion_count(app) == 2
