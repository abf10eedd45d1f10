"""The monitoring sheet: timed readings flagged as entered, bad input refused on its field with
nothing saved, the release, entered in error, the clinic's ranges, and who may see it."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import (
    AuditEvent,
    Infusion,
    MonitoringReading,
    MonitoringSettings,
    MonitoringSheet,
)
from tracker.monitoring import rules
from tracker.monitoring import service as monitoring
from tracker.services.clinic import get_settings

from .factories import make_course, make_patient, make_user

ZONE = ZoneInfo("America/New_York")
SESSION_DAY = date(2026, 11, 20)


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(SESSION_DAY, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


def _local(hour: int, minute: int = 0) -> str:
    return f"{SESSION_DAY.isoformat()}T{hour:02d}:{minute:02d}"


@pytest.fixture
def session(app):
    """A patient's session given at 10:00 clinic time on SESSION_DAY: (patient id, infusion id)."""
    with app.app_context():
        patient = make_patient()
        course = make_course(patient, state="maintenance")
        infusion = Infusion(
            course=course, patient_id=patient.id, given_at=_at(10), given_on=SESSION_DAY
        )
        db.session.add(infusion)
        db.session.commit()
        return patient.id, infusion.id


def _url(ids, suffix="") -> str:
    return f"/patients/{ids[0]}/sessions/{ids[1]}/monitoring{suffix}"


def _readings(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(MonitoringReading.id)))


def _post_reading(client, ids, **values):
    data = {
        "kind": "interval",
        "taken_at": _local(10, 15),
        **{k: str(v) for k, v in values.items()},
    }
    return client.post(_url(ids, "/readings"), data=data)


def test_baseline_interval_and_discharge_readings_are_timed_and_flagged_as_entered(
    app, client, login_as, session
):
    """A baseline, a flagged interval reading and a discharge reading go on the sheet in time
    order; the flag is shown in words, and is kept even when the ranges change later."""
    login_as("clinician")
    assert (
        _post_reading(
            client,
            session,
            kind="baseline",
            taken_at=_local(10),
            bp_systolic=128,
            bp_diastolic=80,
            heart_rate=72,
            spo2=98,
            respiratory_rate=14,
            sedation=5,
        ).status_code
        == 303
    )
    flagged = _post_reading(
        client,
        session,
        taken_at=_local(10, 15),
        bp_systolic=172,
        bp_diastolic=96,
        heart_rate=88,
        spo2=93,
        dissociation=14,
        notes="Feels floaty",
    )
    assert flagged.status_code == 303
    assert (
        _post_reading(
            client,
            session,
            kind="discharge",
            taken_at=_local(11, 30),
            bp_systolic=130,
            bp_diastolic=82,
            heart_rate=74,
            spo2=98,
        ).status_code
        == 303
    )
    page = client.get(_url(session))
    body = page.text
    assert page.status_code == 200
    assert (
        "Reading saved. Flagged: Systolic blood pressure high, SpO2 low, Dissociation (CADSS-6) high."
        in body
    )
    assert body.index("Baseline") < body.index("Interval") < body.index("Discharge</td>")
    assert re.search(r"172 <strong class=\"flag\">High</strong>", body)
    assert "Systolic blood pressure high; SpO2 low; Dissociation (CADSS-6) high" in body
    with app.app_context():
        readings = db.session.scalars(
            select(MonitoringReading).order_by(MonitoringReading.taken_at)
        ).all()
        assert [r.kind for r in readings] == ["baseline", "interval", "discharge"]
        assert readings[1].flags == {"bp_systolic": "high", "spo2": "low", "dissociation": "high"}
        assert readings[0].flags == {}
        settings = MonitoringSettings(id=1, interval_min=15, bp_systolic_high=200)
        db.session.add(settings)
        db.session.commit()
    assert "Systolic blood pressure high" in client.get(_url(session)).text  # as entered


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"spo2": 101}, "spo2", "Enter a number from 50 to 100"),
        ({"heart_rate": 0}, "heart_rate", "Enter a number from 20 to 250"),
        (
            {"bp_systolic": 120, "bp_diastolic": 120},
            "bp_diastolic",
            "must be lower than the systolic",
        ),
        (
            {"bp_systolic": 110, "bp_diastolic": 130},
            "bp_diastolic",
            "must be lower than the systolic",
        ),
        ({"sedation": 6}, "sedation", "Enter a number from 0 to 5"),
        ({"respiratory_rate": "fast"}, "respiratory_rate", "Not a valid integer"),
        ({"heart_rate": 70, "taken_at": _local(9, 59)}, "taken_at", "before the session started"),
        ({"heart_rate": 70, "taken_at": "2026-11-20T25:00"}, "taken_at", "Not a valid datetime"),
        ({"heart_rate": 70, "taken_at": "9999-11-20T10:00"}, "taken_at", "Check the year"),
        ({"heart_rate": 70, "taken_at": "2099-11-20T10:00"}, "taken_at", "in the future"),
        ({"notes": ""}, "bp_systolic", "Enter at least one reading or a note"),
        ({"heart_rate": 70, "kind": "lunch"}, "kind", "Not a valid choice"),
    ],
)
def test_bad_readings_are_refused_on_the_field_and_nothing_is_saved(
    app, client, login_as, session, values, field, message
):
    """Impossible values, bad times and empty readings come back on their field, typed values
    kept; no reading and no sheet is written."""
    login_as("clinician")
    response = _post_reading(client, session, **{"notes": "typed note", **values})
    assert response.status_code == 400
    assert "typed note" in response.text or not values.get("notes", "typed")
    assert re.search(rf'id="{field}-error"[^>]*>[^<]*{re.escape(message)}', response.text), (
        response.text[-3000:]
    )
    assert _readings(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(MonitoringSheet.id))) == 0


def test_a_reading_after_the_discharge_is_refused(app, client, login_as, session):
    """Once the patient is discharged at 11:45, a reading timed 11:50 is refused; the discharge
    itself cannot come before the last reading."""
    user = login_as("clinician")
    _post_reading(client, session, kind="baseline", taken_at=_local(10), heart_rate=70)
    _post_reading(client, session, taken_at=_local(11, 30), heart_rate=72)
    early = client.post(
        _url(session, "/release"),
        data={
            "released_at": _local(11, 0),
            "released_by": user.id,
            "released_to": "Sam Lee (partner)",
        },
    )
    assert early.status_code == 400 and "A reading is timed after this discharge" in early.text
    released = client.post(
        _url(session, "/release"),
        data={
            "ready_to_leave_at": _local(11, 40),
            "released_at": _local(11, 45),
            "released_by": user.id,
            "released_to": "Sam Lee (partner)",
        },
    )
    assert released.status_code == 303
    late = _post_reading(client, session, taken_at=_local(11, 50), heart_rate=70)
    assert late.status_code == 400 and "after the patient was discharged" in late.text
    assert _readings(app) == 2
    body = client.get(_url(session)).text
    assert "Sam Lee (partner)" in body and "105 minutes of monitoring" in body


def test_one_baseline_per_sheet_and_it_comes_first(app, client, login_as, session):
    """A second baseline, or an interval reading timed before the baseline, is refused."""
    login_as("clinician")
    _post_reading(client, session, kind="baseline", taken_at=_local(10, 10), heart_rate=70)
    again = _post_reading(client, session, kind="baseline", taken_at=_local(10, 20), heart_rate=70)
    assert again.status_code == 400 and "already has a baseline" in again.text
    before = _post_reading(client, session, taken_at=_local(10, 5), heart_rate=70)
    assert before.status_code == 400 and "before the baseline" in before.text
    assert _readings(app) == 1


def test_release_needs_whom_and_who(app, client, login_as, session):
    """The discharge needs the person the patient left with and an active releasing clinician."""
    user = login_as("clinician")
    with app.app_context():
        desk = make_user(role="frontdesk")
        db.session.commit()
        desk_id = desk.id
    no_one = client.post(
        _url(session, "/release"),
        data={"released_at": _local(11), "released_by": user.id, "released_to": "  "},
    )
    assert no_one.status_code == 400 and 'id="released_to-error"' in no_one.text
    desk_release = client.post(
        _url(session, "/release"),
        data={"released_at": _local(11), "released_by": desk_id, "released_to": "alone"},
    )
    assert (
        desk_release.status_code == 400 and "Choose who released the patient" in desk_release.text
    )
    with app.app_context():
        assert db.session.scalar(select(MonitoringSheet.released_at)) is None


def test_start_time_cannot_pass_a_reading(app, client, login_as, session):
    """The session start may move earlier, not past the first reading; stop follows start."""
    login_as("clinician")
    _post_reading(client, session, kind="baseline", taken_at=_local(10, 5), heart_rate=70)
    late = client.post(_url(session, "/times"), data={"started_at": _local(10, 10)})
    assert late.status_code == 400 and "A reading is timed before this start" in late.text
    backwards = client.post(
        _url(session, "/times"), data={"started_at": _local(9, 50), "stopped_at": _local(9, 40)}
    )
    assert backwards.status_code == 400 and "stop must come after the start" in backwards.text
    assert (
        client.post(
            _url(session, "/times"), data={"started_at": _local(9, 50), "stopped_at": _local(12)}
        ).status_code
        == 303
    )
    with app.app_context():
        sheet = db.session.scalar(select(MonitoringSheet))
        assert (sheet.started_at, sheet.stopped_at) == (_at(9, 50), _at(12))
    # a reading before the new start is refused
    assert _post_reading(client, session, taken_at=_local(9, 45), heart_rate=70).status_code == 400


def test_a_reading_entered_in_error_stays_struck_out_with_its_reason(
    app, client, login_as, session
):
    """Entered in error needs a reason; the reading stays on the sheet, struck out, audited."""
    login_as("clinician")
    _post_reading(client, session, kind="baseline", taken_at=_local(10), heart_rate=70)
    with app.app_context():
        reading_id = db.session.scalar(select(MonitoringReading.id))
    url = _url(session, f"/readings/{reading_id}/entered-in-error")
    assert client.get(url).status_code == 200
    assert client.post(url, data={"reason": " "}).status_code == 400
    assert client.post(url, data={"reason": "Cuff slipped"}).status_code == 303
    body = client.get(_url(session)).text
    assert 'class="in-error"' in body and "Entered in error: Cuff slipped" in body
    assert _readings(app) == 1
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "monitoring_reading")
        ).all()
        assert actions == ["create", "entered_in_error"]
    # the baseline slot is free again
    assert (
        _post_reading(
            client, session, kind="baseline", taken_at=_local(10, 1), heart_rate=71
        ).status_code
        == 303
    )


def test_front_desk_sees_no_monitoring_and_a_foreign_session_is_404(app, client, login_as, session):
    """The sheet and its forms are clinicians' (403 for the front desk, server-side); a session of
    another patient under this patient's URL is not found."""
    login_as("frontdesk")
    assert client.get(_url(session)).status_code == 403
    assert _post_reading(client, session, kind="baseline", heart_rate=70).status_code == 403
    assert "Monitoring sheet" not in client.get(f"/patients/{session[0]}").text
    client.post("/logout")
    login_as("clinician")
    with app.app_context():
        other = make_patient()
        db.session.commit()
        other_id = other.id
    assert client.get(f"/patients/{other_id}/sessions/{session[1]}/monitoring").status_code == 404


def test_the_patient_page_shows_each_sheet_in_brief(app, client, login_as, session):
    """The sessions table links the sheet and says how many readings, how many flagged."""
    login_as("clinician")
    _post_reading(client, session, kind="baseline", taken_at=_local(10), heart_rate=70)
    _post_reading(client, session, taken_at=_local(10, 15), heart_rate=130)
    body = client.get(f"/patients/{session[0]}").text
    assert "2 readings, 1 flagged" in body and _url(session) in body


def test_clinic_ranges_are_settings_checked_when_saved(app, client, login_as):
    """Admins set the interval and ranges; a low above its high or an impossible limit is refused."""
    login_as("admin")
    assert client.get("/admin/monitoring").status_code == 200
    data = {
        "interval_min": "10",
        "bp_systolic_low": "100",
        "bp_systolic_high": "150",
        "spo2_low": "92",
    }
    assert client.post("/admin/monitoring", data=data).status_code == 303
    bad = client.post(
        "/admin/monitoring", data={**data, "heart_rate_low": "120", "heart_rate_high": "60"}
    )
    assert bad.status_code == 400 and "cannot be below the lower one" in bad.text
    impossible = client.post("/admin/monitoring", data={**data, "spo2_high": "101"})
    assert impossible.status_code == 400
    with app.app_context():
        settings = monitoring.get_monitoring_settings()
        assert (
            settings.interval_min,
            settings.bp_systolic_high,
            settings.spo2_low,
            settings.heart_rate_low,
        ) == (10, 150, 92, None)


def test_defaults_before_any_save_and_the_next_reading_due():
    """Flags use inclusive limits; after the baseline the next reading is due one interval later."""
    ranges = {"heart_rate": (50, 110), "spo2": (94, None)}
    assert rules.flags_for({"heart_rate": 110, "spo2": 94}, ranges) == {}
    assert rules.flags_for({"heart_rate": 111, "spo2": 93}, ranges) == {
        "heart_rate": "high",
        "spo2": "low",
    }

    class R:
        def __init__(self, kind, at):
            self.kind, self.taken_at = kind, at

    start = datetime(2026, 11, 20, 15, tzinfo=UTC)
    assert rules.next_reading([], 15).kind == "baseline"
    assert rules.next_reading([R("baseline", start)], 15).due_at == start + timedelta(minutes=15)
    assert rules.next_reading([R("baseline", start), R("discharge", start)], 15).due_at is None
    due = rules.next_reading([R("baseline", start)], 15)
    assert (
        due.minutes_late(start + timedelta(minutes=15)),
        due.minutes_late(start + timedelta(minutes=27)),
    ) == (0, 12)


def test_settings_defaults_are_read_without_writing(app):
    """Before an admin saves, the sheet reads the defaults and no row is written."""
    with app.app_context():
        settings = monitoring.get_monitoring_settings()
        assert (settings.interval_min, settings.bp_systolic_high, settings.spo2_low) == (
            15,
            160,
            94,
        )
        assert db.session.scalar(select(func.count(MonitoringSettings.id))) == 0
        assert get_settings().timezone == "America/New_York"  # the zone the times above assume


def test_the_database_keeps_one_baseline_per_sheet(app, session):
    """Two baselines saved at once cannot both land: the database refuses the second unless the
    first was entered in error (the service's check can race; the index cannot)."""
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        sheet = MonitoringSheet(infusion_id=session[1], patient_id=session[0], started_at=_at(10))
        db.session.add(sheet)
        db.session.flush()
        first = MonitoringReading(
            sheet_id=sheet.id, kind="baseline", taken_at=_at(10), heart_rate=70
        )
        db.session.add(first)
        db.session.commit()
        db.session.add(
            MonitoringReading(
                sheet_id=sheet.id, kind="baseline", taken_at=_at(10, 1), heart_rate=71
            )
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        first = db.session.get(MonitoringReading, first.id)
        first.entered_in_error_at, first.entered_in_error_reason = _at(10, 2), "wrong cuff"
        db.session.add(
            MonitoringReading(
                sheet_id=first.sheet_id, kind="baseline", taken_at=_at(10, 3), heart_rate=72
            )
        )
        db.session.add(
            MonitoringReading(
                sheet_id=first.sheet_id, kind="interval", taken_at=_at(10, 4), heart_rate=72
            )
        )
        db.session.add(
            MonitoringReading(
                sheet_id=first.sheet_id, kind="interval", taken_at=_at(10, 5), heart_rate=72
            )
        )
        db.session.commit()
