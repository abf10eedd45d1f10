"""The patient page: status and window on the DOMAIN.md worked examples, drawings, roles, queries."""
import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from tracker.extensions import db
from tracker.formatting import format_day
from tracker.services.clinic import get_settings
from tracker.services.courses import hold, set_mode
from tracker.services.infusions import record_infusion

from .factories import local_noon, make_course, make_patient

SERIES_DAYS = [date(2026, 3, d) for d in (2, 4, 6, 9, 11, 13)]


@pytest.fixture
def freeze_today(freeze_clock):
    """freeze_today(day) makes the patient pages compute statuses on that clinic date."""
    def _freeze(day):
        freeze_clock(local_noon(day))
    return _freeze


def _patient_with_course(app, days, *, series_planned=6, recorded_on=date(2026, 11, 26), **course_kw):
    """A patient whose course has an infusion at noon on each day; returns the patient id."""
    with app.app_context():
        patient = make_patient()
        course = make_course(patient, series_planned=series_planned, opened_on=days[0] if days else date(2026, 3, 1),
                             **course_kw)
        for day in days:
            record_infusion(course, actor="test", settings=get_settings(), today=recorded_on,
                            given_at=local_noon(day), pain_before=7, pain_after=2,
                            early_reason="flare")
        db.session.commit()
        return patient.id


def _d(iso: str) -> str:
    """An ISO date as the clinic writes it (the default date style)."""
    return format_day(date.fromisoformat(iso))


def _fact(body: str, label: str) -> str:
    match = re.search(rf"<dt>{re.escape(label)}</dt><dd>(.*?)</dd>", body, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).split(" on ")[0].strip() if match else ""


def test_series_example_shows_window(app, client, login_as, freeze_today):
    """Series Mon/Wed/Fri 2026-03-02..13: anchor 03-13, window 04-12 to 06-11 (DOMAIN.md)."""
    patient_id = _patient_with_course(app, SERIES_DAYS)
    freeze_today(date(2026, 4, 20))
    login_as("frontdesk")
    body = client.get(f"/patients/{patient_id}").text
    assert _fact(body, "Last maintenance infusion") == _d("2026-03-13")
    assert (_fact(body, "Window opens"), _fact(body, "Window closes")) == (_d("2026-04-12"), _d("2026-06-11"))
    assert _fact(body, "Overdue from") == _d("2026-06-12")
    assert _fact(body, "Status") == "Due"


@pytest.mark.parametrize("today, status", [
    (date(2026, 3, 31), "Not yet due"), (date(2026, 4, 1), "Due"), (date(2026, 5, 31), "Due"),
    (date(2026, 6, 1), "Overdue"), (date(2026, 8, 29), "Overdue"), (date(2026, 8, 30), "Lapsed"),
])
def test_base_example_status_on_each_edge(app, client, login_as, freeze_today, today, status):
    """Anchor 2026-03-02, 30/90: the status flips exactly on the window's edges (DOMAIN.md)."""
    patient_id = _patient_with_course(app, [date(2026, 3, 2)], series_planned=1)
    freeze_today(today)
    login_as("clinician")
    body = client.get(f"/patients/{patient_id}").text
    assert _fact(body, "Status") == status
    assert (_fact(body, "Window opens"), _fact(body, "Window closes")) == (_d("2026-04-01"), _d("2026-05-31"))
    assert (_fact(body, "Overdue from"), _fact(body, "Lapsed from")) == (_d("2026-06-01"), _d("2026-08-30"))


@pytest.mark.parametrize("anchor, opens, closes", [
    (date(2026, 1, 31), _d("2026-03-02"), _d("2026-05-01")),  # month end: no month arithmetic
    (date(2028, 1, 30), _d("2028-02-29"), _d("2028-04-29")),  # leap year
])
def test_calendar_day_examples(app, client, login_as, freeze_today, anchor, opens, closes):
    """Month-end and leap-year anchors give the DOMAIN.md windows."""
    patient_id = _patient_with_course(app, [anchor], series_planned=1, recorded_on=anchor)
    freeze_today(anchor + timedelta(days=1))
    login_as("clinician")
    body = client.get(f"/patients/{patient_id}").text
    assert (_fact(body, "Window opens"), _fact(body, "Window closes")) == (opens, closes)
    assert _fact(body, "Status") == "Not yet due"


def test_as_needed_has_no_window(app, client, login_as, freeze_today):
    """An as-needed course shows no window and is never due, however late."""
    patient_id = _patient_with_course(app, [date(2026, 3, 2)], series_planned=1)
    with app.app_context():
        from tracker.models import Course
        set_mode(db.session.get(Course, 1), actor="test", mode="as_needed")
        db.session.commit()
    freeze_today(date(2027, 3, 2))
    login_as("clinician")
    body = client.get(f"/patients/{patient_id}").text
    assert _fact(body, "Status") == "As needed"
    assert "<dt>Window opens</dt>" not in body and "<svg class=\"timeline\"" not in body


def test_series_in_progress_and_interrupted(app, client, login_as, freeze_today):
    """A running series shows its progress; past the max gap it shows interrupted with a restart."""
    patient_id = _patient_with_course(app, SERIES_DAYS[:2])
    login_as("clinician")
    freeze_today(date(2026, 3, 10))
    body = client.get(f"/patients/{patient_id}").text
    assert _fact(body, "Status") == "Series in progress" and "2 of 6 completed" in body
    assert "Restart the series" not in body
    freeze_today(date(2026, 3, 19))
    body = client.get(f"/patients/{patient_id}").text
    assert _fact(body, "Status") == "Series interrupted" and "Restart the series" in body


def test_on_hold_shows_reason_and_resume(app, client, login_as, freeze_today):
    """A course on hold shows its reason and offers resume instead of hold."""
    patient_id = _patient_with_course(app, [date(2026, 3, 2)], series_planned=1)
    with app.app_context():
        from tracker.models import Course
        hold(db.session.get(Course, 1), actor="test", reason="surgery in May")
        db.session.commit()
    freeze_today(date(2026, 4, 2))
    login_as("clinician")
    body = client.get(f"/patients/{patient_id}").text
    assert _fact(body, "Status") == "On hold" and "surgery in May" in body
    assert "Resume the course" in body and "Put on hold" not in body


def test_timeline_and_pain_chart_are_accessible_svg(app, client, login_as, freeze_today):
    """The window timeline and the pain chart are inline SVG with text alternatives, no inline CSS/JS."""
    patient_id = _patient_with_course(app, SERIES_DAYS)
    freeze_today(date(2026, 5, 1))
    login_as("clinician")
    response = client.get(f"/patients/{patient_id}")
    body = response.text
    timeline = re.search(r'<svg class="timeline".*?</svg>', body, re.S).group(0)
    assert 'role="img"' in timeline and "<title" in timeline
    assert re.search(r"<desc[^>]*>Last maintenance infusion Fri 13 Mar 2026; window opens Sun 12 Apr 2026 and "
                     r"closes Thu 11 Jun 2026", timeline)
    assert "Today Fri 1 May 2026" in timeline
    chart = re.search(r'<svg class="chart".*?</svg>', body, re.S).group(0)
    assert chart.count("<polyline") == 2 and "6 sessions from Mon 2 Mar 2026 to Fri 13 Mar 2026" in chart
    assert "Pain scores as a table" in body and "<td>Mon 2 Mar 2026</td><td>7</td><td>2</td>" in body
    assert "style=" not in body and "<style" not in body
    assert sorted(re.findall(r"<script\b[^>]*>", body)) == [
        '<script src="/static/js/idle.js" defer>', '<script src="/static/js/patient-search.js" defer>']
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_frontdesk_sees_no_clinical_forms(app, client, login_as, freeze_today):
    """Front desk reads the patient page but gets no course actions, record or remove buttons."""
    patient_id = _patient_with_course(app, SERIES_DAYS)
    freeze_today(date(2026, 5, 1))
    login_as("frontdesk")
    body = client.get(f"/patients/{patient_id}").text
    assert _fact(body, "Status") == "Due"
    for clinical in ("Course actions", "Record infusion", "Entered in error", "Discharge", "/courses/", "/infusions/"):
        assert clinical not in body
    assert "Edit patient" in body


def test_frontdesk_sees_no_open_course_form(app, client, login_as):
    """A patient without a course shows front desk no form to open one; a clinician gets it."""
    with app.app_context():
        patient_id = make_patient().id
        db.session.commit()
    login_as("frontdesk")
    assert "Open course" not in client.get(f"/patients/{patient_id}").text
    client.post("/logout")
    login_as("clinician")
    body = client.get(f"/patients/{patient_id}").text
    assert "Open course" in body and 'name="open-min_days"' in body and 'value="30"' in body


def test_unknown_patient_is_404(client, login_as):
    """A patient id that does not exist is a 404 page, not an error."""
    login_as("frontdesk")
    assert client.get("/patients/424242").status_code == 404


@contextmanager
def _statements(app):
    """Count the SQL statements sent while the block runs."""
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _add_patients(app, n):
    with app.app_context():
        for _ in range(n):
            course = make_course(make_patient(), series_planned=1)
            record_infusion(course, actor="test", settings=get_settings(), today=date(2026, 11, 26),
                            given_at=local_noon(date(2026, 3, 2)))
        db.session.commit()


def test_list_query_count_does_not_grow(app, client, login_as):
    """The patients list sends as many statements for 60 patients as for 5."""
    _add_patients(app, 5)
    login_as("frontdesk")
    client.get("/patients/")
    with _statements(app) as few:
        assert client.get("/patients/").status_code == 200
    _add_patients(app, 55)
    with _statements(app) as many:
        assert client.get("/patients/").status_code == 200
    assert len(many) == len(few) <= 8


def test_patient_page_query_count_does_not_grow(app, client, login_as, freeze_today):
    """The patient page sends as many statements for 40 infusions over two courses as for 2."""
    freeze_today(date(2026, 11, 26))
    few_id = _patient_with_course(app, SERIES_DAYS[:2])
    with app.app_context():  # on the standard protocol, like the courses opened below
        from tracker.models import Patient
        from tracker.services.protocols import standard_protocol
        db.session.get(Patient, few_id).courses[0].protocol = standard_protocol()
        db.session.commit()
    many_days = [date(2025, 1, 1) + timedelta(days=3 * n) for n in range(40)]
    many_id = _patient_with_course(app, many_days[:20], series_planned=2, min_days=0, max_days=3)
    with app.app_context():
        from tracker.models import Course, Patient
        from tracker.services.courses import discharge, open_course
        patient = db.session.get(Patient, many_id)
        discharge(patient.courses[0], actor="test", on=date(2025, 3, 1), reason="moved")
        course = open_course(patient, get_settings(), actor="test", opened_on=date(2025, 3, 1),
                             series_planned=2, min_days=0, max_days=3)
        for day in many_days[20:]:
            record_infusion(course, actor="test", settings=get_settings(), today=date(2026, 11, 26),
                            given_at=local_noon(day))
        db.session.commit()
        assert db.session.get(Course, course.id).qualifying_count == 20
    login_as("clinician")
    with _statements(app) as few:
        assert client.get(f"/patients/{few_id}").status_code == 200
    with _statements(app) as many:
        body = client.get(f"/patients/{many_id}").text
    assert body.count("<td class=\"total-mg\">") == 40 and "Earlier courses" in body
    # 10 before, and one each for the monitoring sheets in brief and the outcome measures; for
    # clinicians, one for the REMS forms in brief and one for the open course's REMS flag; one
    # for the clinically-due entries (tracker/check_ins; the relief duration reads the check-in
    # rules only when there are scores); two for the courses' protocols and their phases.
    assert len(many) == len(few) <= 17
