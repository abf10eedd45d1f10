"""Esketamine REMS: the 120-minute rule, the 7-calendar-day deadline in clinic time, the sheet's
pressures (the one nearest 40 minutes), the form refused on its field with nothing saved, the
worklist of forms due, the filed mark, entered in error, and who may see any of it."""

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Infusion, MonitoringReading, MonitoringSheet, RemsCourse, RemsForm
from tracker.rems import rules
from tracker.rems import service as rems
from tracker.services.clinic import clinic_today

from .factories import make_course, make_patient, make_user

ZONE = ZoneInfo("America/New_York")


def _instant(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


# --- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "refused"),
    [(119, True), (120, False), (121, False), (45, True), (0, True), (-5, True)],
)
def test_monitoring_must_last_at_least_120_minutes(minutes, refused):
    """119 minutes of monitoring is refused with the minutes in words; 120 and more pass; an end
    at or before the start is refused."""
    start = _instant(date(2026, 11, 20), 10)
    problem = rules.monitoring_problem(start, start + timedelta(minutes=minutes))
    assert (problem is not None) is refused
    if refused and minutes > 0:
        assert f"lasted {minutes} minutes" in problem and "at least 120" in problem


@pytest.mark.parametrize(
    ("given", "due"),
    [
        # across a month end and a year end
        (_instant(date(2026, 1, 28), 10), date(2026, 2, 4)),
        (_instant(date(2026, 12, 29), 10), date(2027, 1, 5)),
        # across the spring change (8 Mar 2026): still 7 calendar days, not 7 x 24 hours
        (_instant(date(2026, 3, 5), 10), date(2026, 3, 12)),
        # 23:30 clinic time the night before the change is already 04:30 UTC the next day
        (_instant(date(2026, 3, 7), 23, 30), date(2026, 3, 14)),
        # across the autumn change (1 Nov 2026), late in the evening
        (_instant(date(2026, 10, 31), 23, 45), date(2026, 11, 7)),
    ],
)
def test_due_date_is_seven_calendar_days_after_the_clinic_local_session_day(given, due):
    """The last day to file counts calendar days from the session's clinic-local date, across
    month ends and daylight-saving changes."""
    assert rules.due_on(given, ZONE) == due


def test_due_words_and_overdue_flag():
    """The deadline in words, from days ahead to overdue."""
    due = date(2026, 3, 12)
    assert rules.due_words(due, date(2026, 3, 9)) == "Due in 3 days"
    assert rules.due_words(due, date(2026, 3, 11)) == "Due tomorrow"
    assert rules.due_words(due, due) == "Due today"
    assert rules.due_words(due, date(2026, 3, 13)) == "Overdue by 1 day"
    assert rules.due_words(due, date(2026, 4, 1)) == "Overdue by 20 days"
    assert not rules.is_overdue(due, due) and rules.is_overdue(due, date(2026, 3, 13))


def _reading(kind, minute, systolic=120, diastolic=80, start=None, in_error=False):
    start = start or _instant(date(2026, 11, 20), 10)
    return SimpleNamespace(
        kind=kind,
        taken_at=start + timedelta(minutes=minute),
        bp_systolic=systolic,
        bp_diastolic=diastolic,
        in_error=in_error,
    )


def test_sheet_pressures_take_the_baseline_the_reading_nearest_40_minutes_and_the_discharge():
    """Before = the baseline, at 40 = the interval reading nearest 40 minutes, end = the
    discharge reading; readings without a pressure or entered in error are passed over."""
    start = _instant(date(2026, 11, 20), 10)
    readings = [
        _reading("baseline", 0, 130, 85),
        _reading("interval", 30, 140, 90),
        _reading("interval", 43, 150, 95),
        _reading("interval", 40, 170, 99, in_error=True),
        _reading("interval", 38, None, None),
        _reading("interval", 60, 135, 88),
        _reading("discharge", 125, 125, 80),
    ]
    pressures = rules.sheet_pressures(readings, start)
    assert (pressures["before"].systolic, pressures["before"].minutes) == (130, 0)
    assert (pressures["at_40"].systolic, pressures["at_40"].minutes) == (150, 43)
    assert (pressures["end"].systolic, pressures["end"].minutes) == (125, 125)


def test_no_pressure_near_40_minutes_is_missing_not_guessed():
    """With readings at 0, 15 and 120 minutes only, nothing counts as 'about 40 minutes'."""
    start = _instant(date(2026, 11, 20), 10)
    readings = [
        _reading("baseline", 0),
        _reading("interval", 15),
        _reading("discharge", 120),
    ]
    pressures = rules.sheet_pressures(readings, start)
    assert pressures["at_40"] is None
    assert pressures["before"] is not None and pressures["end"] is not None


# --- the pages -------------------------------------------------------------------------------


@pytest.fixture
def rems_session(app):
    """A REMS course's session given yesterday at 10:00 clinic time, with a monitoring sheet:
    baseline 10:00, 10:41, discharge 12:05 (no reading near 40 minutes when `far` is asked)."""

    def build(*, near_40=True, rems_on=True, days_ago=1):
        with app.app_context():
            day = clinic_today() - timedelta(days=days_ago)
            patient = make_patient()
            course = make_course(patient, state="maintenance")
            clinician = make_user(role="clinician")
            start = _instant(day, 10)
            infusion = Infusion(
                course=course,
                patient_id=patient.id,
                given_at=start,
                given_on=day,
                total_mg=56,
            )
            db.session.add(infusion)
            db.session.flush()
            sheet = MonitoringSheet(
                infusion_id=infusion.id,
                patient_id=patient.id,
                started_at=start,
                stopped_at=start + timedelta(minutes=125),
            )
            db.session.add(sheet)
            db.session.flush()
            minutes = [("baseline", 0, 128, 82), ("discharge", 125, 124, 78)]
            minutes.append(("interval", 41 if near_40 else 20, 146, 92))
            for kind, minute, systolic, diastolic in minutes:
                db.session.add(
                    MonitoringReading(
                        sheet_id=sheet.id,
                        kind=kind,
                        taken_at=start + timedelta(minutes=minute),
                        bp_systolic=systolic,
                        bp_diastolic=diastolic,
                    )
                )
            if rems_on:
                rems.turn_on(course, actor=clinician, now=datetime.now(UTC), today=clinic_today())
            db.session.commit()
            return SimpleNamespace(
                patient_id=patient.id, infusion_id=infusion.id, course_id=course.id, day=day
            )

    return build


def _url(s, suffix=""):
    return f"/patients/{s.patient_id}/sessions/{s.infusion_id}/rems{suffix}"


def _answers(client, s, **overrides):
    """The form as it opens (from the sheet), answered, with `overrides`."""
    page = client.get(_url(s)).get_data(as_text=True)
    assert "From the sheet" in page
    day = s.day.isoformat()
    data = {
        "dose_mg": "56",
        "devices": "2",
        "lot_number": "LOT-4471",
        "monitoring_started_at": f"{day}T10:00",
        "monitoring_ended_at": f"{day}T12:05",
        "bp_before_systolic": "128",
        "bp_before_diastolic": "82",
        "bp_at_40_systolic": "146",
        "bp_at_40_diastolic": "92",
        "bp_end_systolic": "124",
        "bp_end_diastolic": "78",
        "sedation": "no",
        "dissociation": "yes",
        "respiratory_depression": "no",
        "serious_adverse_event": "no",
        "serious_adverse_event_description": "",
    }
    data.update(overrides)
    return data


def _today(app) -> date:
    with app.app_context():
        return clinic_today()


def _forms(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(RemsForm.id)))


def test_the_form_opens_filled_from_the_monitoring_sheet(app, client, login_as, rems_session):
    """The form's times and three pressures come from the sheet; the one nearest 40 minutes is
    named with its minute."""
    s = rems_session()
    login_as("clinician")
    page = client.get(_url(s)).get_data(as_text=True)
    assert 'value="146"' in page and "41 min after the start" in page
    assert 'value="128"' in page and 'value="124"' in page
    assert f'value="{s.day.isoformat()}T12:05"' in page
    assert 'value="56"' in page  # the session's dose


def test_saving_filing_and_the_worklist(app, client, login_as, rems_session):
    """A saved form is listed as due (with its deadline in words), then filed with the day and
    who filed it, and leaves the list of forms due; the printable view holds the answers."""
    s = rems_session()
    login_as("clinician")
    worklist = client.get("/rems").get_data(as_text=True)
    assert "Not written" in worklist and "Due in 6 days" in worklist
    response = client.post(_url(s), data=_answers(client, s))
    assert response.status_code == 303
    assert "Written, not filed" in client.get("/rems").get_data(as_text=True)
    response = client.post(_url(s, "/filed"), data={"filed_on": _today(app).isoformat()})
    assert response.status_code == 303
    page = client.get(_url(s)).get_data(as_text=True)
    assert "Filed on" in page and "LOT-4471" in page and "data-print" in page
    assert "Save REMS form" not in page  # a filed form is corrected by entered in error only
    worklist = client.get("/rems").get_data(as_text=True)
    assert "Every REMS form is filed." in worklist and "filed on" in worklist


def test_an_old_session_is_flagged_overdue_in_words(app, client, login_as, rems_session):
    """A session 9 days ago, on a course whose forms were on already, whose form is not filed is
    overdue by 2 days; a session before the forms were turned on is not listed."""
    s = rems_session(days_ago=9)
    login_as("clinician")
    assert "Overdue" not in client.get("/rems").get_data(as_text=True)
    with app.app_context():
        row = db.session.get(RemsCourse, s.course_id)
        row.sessions_from -= timedelta(days=30)
        db.session.commit()
    page = client.get("/rems").get_data(as_text=True)
    assert "Overdue by 2 days" in page and "is-overdue" in page


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        (
            {"monitoring_ended_at": "{day}T11:30"},
            "monitoring_ended_at",
            "Monitoring lasted 90 minutes",
        ),
        ({"bp_at_40_systolic": ""}, "bp_at_40_systolic", "No blood pressure at about 40 minutes"),
        (
            {"serious_adverse_event": "yes"},
            "serious_adverse_event_description",
            "Describe the serious adverse event",
        ),
        ({"devices": "7"}, "devices", "Choose"),
        ({"bp_end_diastolic": "130"}, "bp_end_diastolic", "lower than the systolic"),
        ({"sedation": ""}, "sedation", "Answer yes or no."),
    ],
)
def test_bad_answers_are_refused_on_their_field_with_nothing_saved(
    app, client, login_as, rems_session, overrides, field, words
):
    """Under 120 minutes, a missing pressure, a serious adverse event without its description,
    an impossible device count or pressure, an unanswered question: 400, the message on the
    field, no form saved."""
    s = rems_session()
    login_as("clinician")
    data = _answers(client, s)
    data.update({k: v.format(day=s.day.isoformat()) for k, v in overrides.items()})
    response = client.post(_url(s), data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert words in page and f'id="{field}-error"' in page
    assert _forms(app) == 0


def test_missing_40_minute_reading_on_the_sheet_leaves_the_field_empty_with_a_hint(
    app, client, login_as, rems_session
):
    """With no reading near 40 minutes on the sheet, the field opens empty, says so, and an
    empty answer is refused on that field."""
    s = rems_session(near_40=False)
    login_as("clinician")
    page = client.get(_url(s)).get_data(as_text=True)
    assert "Not on the monitoring sheet." in page
    data = _answers(client, s, bp_at_40_systolic="", bp_at_40_diastolic="")
    response = client.post(_url(s), data=data)
    assert response.status_code == 400
    assert 'id="bp_at_40_systolic-error"' in response.get_data(as_text=True)
    assert _forms(app) == 0


def test_entered_in_error_keeps_the_form_and_the_session_needs_a_new_one(
    app, client, login_as, rems_session
):
    """A form entered in error stays (with its reason), and the session is due again."""
    s = rems_session()
    login_as("clinician")
    client.post(_url(s), data=_answers(client, s))
    assert client.post(_url(s, "/entered-in-error"), data={"reason": ""}).status_code == 400
    response = client.post(_url(s, "/entered-in-error"), data={"reason": "wrong lot number"})
    assert response.status_code == 303
    with app.app_context():
        form = db.session.scalar(select(RemsForm))
        assert form.in_error and form.entered_in_error_reason == "wrong lot number"
    assert "Not written" in client.get("/rems").get_data(as_text=True)
    assert client.post(_url(s), data=_answers(client, s)).status_code == 303
    assert _forms(app) == 2


def test_a_course_without_rems_lists_nothing_and_the_clinician_turns_it_on(
    app, client, login_as, rems_session
):
    """Sessions of a course with REMS off are not listed; turning it on lists them; turning it
    off needs a reason."""
    s = rems_session(rems_on=False)
    login_as("clinician")
    assert "Every REMS form is filed." in client.get("/rems").get_data(as_text=True)
    course_url = f"/patients/{s.patient_id}/courses/{s.course_id}/rems"
    assert client.post(course_url, data={}).status_code == 303
    assert "Due in 6 days" in client.get("/rems").get_data(as_text=True)
    assert client.post(course_url, data={"reason": ""}).status_code == 400
    assert client.post(course_url, data={"reason": "moved to IV"}).status_code == 303
    assert "Every REMS form is filed." in client.get("/rems").get_data(as_text=True)


def test_a_filing_date_in_the_future_is_refused(app, client, login_as, rems_session):
    """Filed tomorrow: refused on the field, not marked."""
    s = rems_session()
    login_as("clinician")
    client.post(_url(s), data=_answers(client, s))
    tomorrow = (_today(app) + timedelta(days=1)).isoformat()
    response = client.post(_url(s, "/filed"), data={"filed_on": tomorrow})
    assert response.status_code == 400 and "in the future" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(RemsForm)).filed_on is None


def test_front_desk_sees_none_of_it(app, client, login_as, rems_session):
    """The front desk gets 403 on every REMS page and no REMS words on the patient page."""
    s = rems_session()
    login_as("frontdesk")
    for url in ("/rems", _url(s), f"/patients/{s.patient_id}/courses/{s.course_id}/rems"):
        assert client.get(url).status_code == 403
    assert client.post(_url(s), data={}).status_code == 403
    assert client.post(_url(s, "/filed"), data={}).status_code == 403
    page = client.get(f"/patients/{s.patient_id}").get_data(as_text=True)
    assert "REMS" not in page


def test_the_patient_page_shows_the_clinician_the_form_due(app, client, login_as, rems_session):
    """The clinician's patient page links each session's REMS form with its deadline."""
    s = rems_session()
    login_as("clinician")
    page = client.get(f"/patients/{s.patient_id}").get_data(as_text=True)
    assert "REMS form not written: due in 6 days" in page
