"""Course actions on the patient page: open, interval, mode, series, hold, discharge, restart; roles."""
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import AuditEvent, ClinicSettings, Course
from tracker.services.clinic import get_settings
from tracker.services.infusions import record_infusion

from .conftest import build_app, login
from .factories import DEFAULT_PASSWORD, local_noon, make_course, make_patient, make_user

TODAY = date(2026, 5, 1)


@pytest.fixture(autouse=True)
def frozen_today(freeze_clock):
    """The clinic's today is fixed for every test here (the clock stops at its noon)."""
    freeze_clock(local_noon(TODAY))


def _setup(app, *, days=(), series_planned=1, with_course=True, **course_kw):
    """A patient with an open course holding infusions at noon on `days`; (patient, course) ids."""
    with app.app_context():
        patient = make_patient()
        course_id = None
        if with_course:
            course = make_course(patient, series_planned=series_planned, **course_kw)
            for day in days:
                record_infusion(course, actor="test", settings=get_settings(), today=TODAY,
                                given_at=local_noon(day))
            course_id = course.id
        db.session.commit()
        return patient.id, course_id


def _course(app, course_id) -> Course:
    with app.app_context():
        course = db.session.get(Course, course_id)
        db.session.expunge(course)
        return course


def _action(client, patient_id, course_id, action, **data):
    return client.post(f"/patients/{patient_id}/courses/{course_id}/{action}", data=data)


def _error(body: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}-error"[^>]*>([^<]*)<', body)
    return match.group(1) if match else ""


def test_open_course_takes_clinic_defaults(app, client, login_as):
    """Empty numbers take the clinic's defaults; the course is audited."""
    with app.app_context():
        settings = db.session.get(ClinicSettings, 1)
        settings.default_min_days, settings.default_max_days, settings.default_series_planned = 45, 120, 10
        db.session.commit()
    patient_id, _ = _setup(app, with_course=False)
    user = login_as("clinician")
    assert 'name="open-max_days" type="number" value="120"' in client.get(f"/patients/{patient_id}").text
    response = client.post(f"/patients/{patient_id}/courses",
                           data={"open-indication": "Fibromyalgia", "open-mode": "scheduled"})
    assert response.status_code == 303
    with app.app_context():
        course = db.session.scalar(select(Course))
        assert (course.min_days, course.max_days, course.series_planned) == (45, 120, 10)
        assert (course.indication, course.state, course.opened_on) == ("Fibromyalgia", "series_in_progress", TODAY)
        assert db.session.scalar(select(AuditEvent.user_id).where(AuditEvent.entity == "course")) == user.id


def test_open_course_errors(app, client, login_as):
    """A second open course and a closing day before the opening day are refused on their fields."""
    patient_id, _ = _setup(app)
    login_as("clinician")
    body = client.post(f"/patients/{patient_id}/courses", data={"open-indication": "CRPS"}).text
    assert "already has an open course" in body
    other_id, _ = _setup(app, with_course=False)
    response = client.post(f"/patients/{other_id}/courses",
                           data={"open-indication": "CRPS", "open-min_days": "60", "open-max_days": "30"})
    assert response.status_code == 400
    assert _error(response.text, "open-max_days") == "Maximum days must not be less than minimum days."
    assert 'name="open-min_days" type="number" value="60"' in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(Course.id))) == 1


def test_interval_moves_the_window(app, client, login_as):
    """A new interval moves the window at once and is audited with before and after."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)])
    login_as("clinician")
    assert _action(client, patient_id, course_id, "interval",
                   **{"interval-min_days": "21", "interval-max_days": "60"}).status_code == 303
    course = _course(app, course_id)
    assert (course.window_opens, course.window_closes) == (date(2026, 3, 23), date(2026, 5, 1))
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update"))
        assert event.changes == {"before": {"min_days": 30, "max_days": 90},
                                 "after": {"min_days": 21, "max_days": 60}}


@pytest.mark.parametrize("data, field_id, message", [
    ({"interval-min_days": "60", "interval-max_days": "30"}, "interval-max_days", "Maximum days must not be less"),
    ({"interval-min_days": "-1", "interval-max_days": "30"}, "interval-min_days", "between 0 and 3650"),
    ({"interval-min_days": "", "interval-max_days": "30"}, "interval-min_days", "Enter the minimum days."),
])
def test_bad_interval_changes_nothing(app, client, login_as, data, field_id, message):
    """A bad interval re-renders the patient page with the error on the field; nothing changes."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)])
    login_as("clinician")
    response = _action(client, patient_id, course_id, "interval", **data)
    assert response.status_code == 400
    assert message in _error(response.text, field_id)
    assert "Nothing was changed" in response.text
    course = _course(app, course_id)
    assert (course.min_days, course.max_days) == (30, 90)


def test_mode_as_needed(app, client, login_as):
    """Switching to as needed removes the window from the page."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)])
    login_as("clinician")
    assert _action(client, patient_id, course_id, "mode", **{"mode-mode": "as_needed"}).status_code == 303
    assert _course(app, course_id).mode == "as_needed"
    assert "As needed: no maintenance window" in client.get(f"/patients/{patient_id}").text
    refused = _action(client, patient_id, course_id, "mode", **{"mode-mode": "sometimes"})
    assert refused.status_code == 400 and "Not a valid choice" in _error(refused.text, "mode-mode")


def test_series_planned_only_while_the_series_runs(app, client, login_as):
    """The series size can change while it runs; reaching it completes the series."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2), date(2026, 3, 4)], series_planned=6)
    login_as("clinician")
    assert _action(client, patient_id, course_id, "series_planned", **{"series-series_planned": "2"}).status_code == 303
    course = _course(app, course_id)
    assert (course.state, course.anchor_date) == ("maintenance", date(2026, 3, 4))
    refused = _action(client, patient_id, course_id, "series_planned", **{"series-series_planned": "3"})
    assert refused.status_code == 400 and "already complete" in refused.text


def test_end_series_early(app, client, login_as):
    """Ending the series early anchors on the last qualifying infusion; without one it is refused."""
    patient_id, course_id = _setup(app, series_planned=6)
    login_as("clinician")
    refused = _action(client, patient_id, course_id, "end_series")
    assert refused.status_code == 400 and "at least one qualifying infusion" in refused.text
    with app.app_context():
        record_infusion(db.session.get(Course, course_id), actor="test", settings=get_settings(),
                        today=TODAY, given_at=local_noon(date(2026, 3, 2)))
        db.session.commit()
    assert _action(client, patient_id, course_id, "end_series").status_code == 303
    course = _course(app, course_id)
    assert (course.state, course.series_ended_early, course.window_opens) == ("maintenance", True, date(2026, 4, 1))


def test_hold_and_resume(app, client, login_as):
    """Hold needs a reason; on hold the status is on_hold; resume goes back to maintenance."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)])
    login_as("clinician")
    refused = _action(client, patient_id, course_id, "hold", **{"hold-reason": "  "})
    assert refused.status_code == 400 and _error(refused.text, "hold-reason")
    assert _course(app, course_id).state == "maintenance"
    assert _action(client, patient_id, course_id, "hold", **{"hold-reason": "travelling"}).status_code == 303
    assert (_course(app, course_id).state, _course(app, course_id).hold_reason) == ("on_hold", "travelling")
    assert "Record infusion" not in client.get(f"/patients/{patient_id}").text
    assert _action(client, patient_id, course_id, "resume").status_code == 303
    assert _course(app, course_id).state == "maintenance"
    again = _action(client, patient_id, course_id, "resume")
    assert again.status_code == 400 and "not on hold" in again.text


def test_discharge_closes_the_course(app, client, login_as):
    """Discharge closes the course with its reason; the page lists it as earlier and offers a new one."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)])
    login_as("clinician")
    confirm = client.get(f"/patients/{patient_id}/courses/{course_id}/discharge")
    assert confirm.status_code == 200 and "Reason for discharge" in confirm.text
    assert _course(app, course_id).state == "maintenance"  # the confirmation page changes nothing
    refused = _action(client, patient_id, course_id, "discharge", **{"discharge-reason": ""})
    assert refused.status_code == 400 and _error(refused.text, "discharge-reason")
    assert _action(client, patient_id, course_id, "discharge", **{"discharge-reason": "pain resolved"}).status_code == 303
    course = _course(app, course_id)
    assert (course.state, course.closed_on, course.discharge_reason) == ("discharged", TODAY, "pain resolved")
    body = client.get(f"/patients/{patient_id}").text
    assert "Earlier courses" in body and "pain resolved" in body and "Open course" in body
    closed = _action(client, patient_id, course_id, "hold", **{"hold-reason": "x"})
    assert closed.status_code == 400 and "This course is closed." in closed.text


def test_restart_an_interrupted_series(app, client, login_as):
    """Restarting closes the interrupted course and opens a new series with the same settings."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)], series_planned=6, min_days=21)
    login_as("clinician")
    assert "Series interrupted" in client.get(f"/patients/{patient_id}").text
    assert _action(client, patient_id, course_id, "restart").status_code == 303
    with app.app_context():
        courses = db.session.scalars(select(Course).order_by(Course.id)).all()
        assert [c.state for c in courses] == ["discharged", "series_in_progress"]
        assert (courses[1].series_planned, courses[1].min_days, courses[1].opened_on) == (6, 21, TODAY)


def test_unknown_action_or_other_patients_course_is_404(app, client, login_as):
    """An unknown action, or a course of another patient, is a 404 and changes nothing."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)])
    other_id, _ = _setup(app)
    login_as("clinician")
    assert _action(client, patient_id, course_id, "explode").status_code == 404
    assert _action(client, other_id, course_id, "hold", **{"hold-reason": "x"}).status_code == 404
    assert _action(client, patient_id, 999, "resume").status_code == 404
    assert _course(app, course_id).state == "maintenance"


CLINICAL_POSTS = [
    ("courses", {"open-indication": "CRPS"}),
    ("courses/{course}/interval", {"interval-min_days": "10", "interval-max_days": "20"}),
    ("courses/{course}/mode", {"mode-mode": "as_needed"}),
    ("courses/{course}/series_planned", {"series-series_planned": "3"}),
    ("courses/{course}/end_series", {}),
    ("courses/{course}/hold", {"hold-reason": "x"}),
    ("courses/{course}/resume", {}),
    ("courses/{course}/discharge", {"discharge-reason": "x"}),
    ("courses/{course}/restart", {}),
    ("infusions/new", {"given_at": "2026-03-04T10:00"}),
    ("infusions/1/entered-in-error", {"reason": "x"}),
]


@pytest.mark.parametrize("path, data", CLINICAL_POSTS)
def test_frontdesk_gets_403_on_clinical_posts(app, client, login_as, path, data):
    """Every clinical POST is refused to front desk on the server, and nothing changes."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)], series_planned=6)
    login_as("frontdesk")
    before = _course(app, course_id)
    response = client.post(f"/patients/{patient_id}/" + path.format(course=course_id), data=data)
    assert response.status_code == 403
    after = _course(app, course_id)
    assert (after.state, after.mode, after.min_days, after.series_planned, after.qualifying_count) == (
        before.state, before.mode, before.min_days, before.series_planned, before.qualifying_count)
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.user_id.is_not(None))) == 0


def test_course_forms_work_with_csrf_on(tmp_path):
    """With CSRF on, the prefixed course forms carry their own token and a POST without one is refused."""
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    try:
        with app.app_context():
            user = make_user(role="clinician")
            course = make_course(make_patient(), series_planned=1)
            record_infusion(course, actor="test", settings=get_settings(), today=TODAY,
                            given_at=local_noon(date(2026, 3, 2)))
            db.session.commit()
            patient_id, course_id, email = course.patient_id, course.id, user.email
        client = app.test_client()
        login_page = client.get("/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)
        token = token or re.search(r'name="csrf_token" value="([^"]+)"', login_page)
        client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD, "csrf_token": token.group(1)})
        page = client.get(f"/patients/{patient_id}").text
        hold_token = re.search(r'id="hold-csrf_token" name="hold-csrf_token" type="hidden" value="([^"]+)"', page)
        url = f"/patients/{patient_id}/courses/{course_id}/hold"
        assert client.post(url, data={"hold-reason": "trip"}).status_code == 400
        assert client.post(url, data={"hold-reason": "trip", "hold-csrf_token": hold_token.group(1)}).status_code == 303
        plain_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        resume = f"/patients/{patient_id}/courses/{course_id}/resume"
        assert client.post(resume, data={"csrf_token": plain_token}).status_code == 303
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_hold_with_a_resume_date_ends_by_itself(app, client, login_as, freeze_clock):
    """A resume date must come after today; until it the patient is off the worklist, from it
    the patient is back (due again) without anyone resuming the course; resuming clears it."""
    patient_id, course_id = _setup(app, days=[date(2026, 3, 2)])
    with app.app_context():
        name = db.session.get(Course, course_id).patient.last_name
    clinician = login_as("clinician")
    refused = _action(client, patient_id, course_id, "hold",
                      **{"hold-reason": "travelling", "hold-resume_on": "2026-05-01"})
    assert refused.status_code == 400 and "after today" in _error(refused.text, "hold-resume_on")
    assert _course(app, course_id).state == "maintenance"
    saved = _action(client, patient_id, course_id, "hold",
                    **{"hold-reason": "travelling", "hold-resume_on": "2026-05-10"})
    assert saved.status_code == 303
    course = _course(app, course_id)
    assert (course.state, course.resume_on) == ("on_hold", date(2026, 5, 10))
    assert "Back on the worklist on Sun 10 May 2026." in client.get(f"/patients/{patient_id}").text

    def worklist_on(day: date) -> str:
        freeze_clock(local_noon(day))
        login(client, clinician)  # days later: the earlier session has timed out
        return client.get("/worklist/").text

    assert name not in worklist_on(date(2026, 5, 9))
    assert name in worklist_on(date(2026, 5, 10))
    page = client.get(f"/patients/{patient_id}").text
    assert "The hold ended on Sun 10 May 2026: back on the worklist." in page
    assert 'class="status status-due"' in page
    assert _action(client, patient_id, course_id, "resume").status_code == 303
    course = _course(app, course_id)
    assert (course.state, course.resume_on) == ("maintenance", None)
