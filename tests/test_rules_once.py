"""Each limit and small rule is stated once, and every path that applies it agrees.

Each test pins a place where two copies of a rule used to disagree (or could): the admin
default series size, the notes length, the two opt-outs, the infusion page and the service
on which appointments can be completed, and the wall-clock check of the form, the booking
rules and the import.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tracker import booking, scheduling
from tracker.extensions import db
from tracker.importing.checks import _clinic_instant
from tracker.models import OUTCOMES, Infusion, Patient, Reminder
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services import appointments as appointment_service
from tracker.services.clinic import get_settings, local_to_utc, update_settings
from tracker.services.courses import MAX_SERIES_PLANNED, open_course
from tracker.services.errors import RuleError
from tracker.services.infusions import TEXT_MAX_LENGTHS, record_infusion
from tracker.services.patients import update_patient

from .factories import local_noon, make_course, make_patient
from .reminder_fixtures import maintenance_patient
from .test_cli_import import INFUSIONS, PATIENTS, problems, run_import, write_files
from .test_infusions_views import GOOD, _appointment, _setup

NEW_YORK = ZoneInfo("America/New_York")
TODAY = date(2026, 11, 26)


def test_open_course_refuses_a_series_longer_than_the_limit(app_ctx):
    """open_course checks MAX_SERIES_PLANNED itself, as the course form and the import do."""
    patient = make_patient()
    with pytest.raises(RuleError) as caught:
        open_course(
            patient,
            get_settings(),
            actor="test",
            opened_on=TODAY,
            series_planned=MAX_SERIES_PLANNED + 1,
        )
    assert caught.value.field == "series_planned"
    course = open_course(
        patient, get_settings(), actor="test", opened_on=TODAY, series_planned=MAX_SERIES_PLANNED
    )
    assert course.series_planned == MAX_SERIES_PLANNED


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"default_series_planned": MAX_SERIES_PLANNED + 1}, "default_series_planned"),
        ({"default_series_planned": 0}, "default_series_planned"),
        ({"default_max_days": 4000}, "default_max_days"),
        ({"lapse_grace_days": 4000}, "lapse_grace_days"),
    ],
)
def test_settings_service_keeps_course_defaults_within_the_course_limits(app_ctx, values, field):
    """The clinic defaults cannot hold a course that open_course, the course form or the import refuse."""
    with pytest.raises(RuleError) as caught:
        update_settings(None, values)
    assert caught.value.field == field


def test_settings_default_series_at_the_limit_opens_a_course(app_ctx):
    """A default of MAX_SERIES_PLANNED is accepted and a course opened with it."""
    update_settings(None, {"default_series_planned": MAX_SERIES_PLANNED})
    course = open_course(make_patient(), get_settings(), actor="test", opened_on=TODAY)
    assert course.series_planned == MAX_SERIES_PLANNED


def test_record_infusion_refuses_notes_longer_than_the_form_allows(app_ctx):
    """The infusion service checks the notes length itself (the form's limit, not a larger one)."""
    course = make_course(make_patient())
    limit = TEXT_MAX_LENGTHS["notes"]
    with pytest.raises(RuleError) as caught:
        record_infusion(
            course,
            actor="test",
            settings=get_settings(),
            today=TODAY,
            given_at=local_noon(date(2026, 3, 2)),
            notes="x" * (limit + 1),
        )
    assert caught.value.field == "notes"
    infusion = record_infusion(
        course,
        actor="test",
        settings=get_settings(),
        today=TODAY,
        given_at=local_noon(date(2026, 3, 2)),
        notes="x" * limit,
    )
    assert len(infusion.notes) == limit


def test_import_refuses_notes_longer_than_the_form_allows(app, runner, tmp_path):
    """The import's notes limit is the service's: one character more is a reported problem."""
    limit = TEXT_MAX_LENGTHS["notes"]
    rows = list(INFUSIONS)
    rows[0] = rows[0] + "x" * (limit + 1)
    result = run_import(runner, write_files(tmp_path, PATIENTS, rows))
    assert result.exit_code == 1
    reported = problems(result)
    assert reported[0].endswith(f"infusions.csv:2: notes: longer than {limit} characters")
    assert reported[1:] == ["1 problem found; nothing was imported."]


def test_staff_opt_out_skips_pending_mail_like_the_unsubscribe_link(app_ctx):
    """An opt-out recorded by staff is honoured at once: the pending reminder is skipped."""
    patient, _ = maintenance_patient(date(2026, 3, 2))
    db.session.commit()
    run_sweep(clock=Clock.on_date(date(2026, 3, 20), get_settings()), manual=True)
    reminder = db.session.scalar(select(Reminder).where(Reminder.patient_id == patient.id))
    assert reminder.status == "pending"
    values = {
        name: getattr(patient, name)
        for name in ("mrn", "first_name", "last_name", "date_of_birth", "email", "phone")
    }
    update_patient(
        patient,
        {**values, "email_consent": False, "email_opt_out": True},
        actor="test",
        today=date(2026, 3, 20),
        now=datetime(2026, 3, 20, 15, tzinfo=UTC),
    )
    db.session.commit()
    db.session.refresh(reminder)
    assert (reminder.status, reminder.skip_reason) == ("skipped", "opted out")
    assert db.session.get(Patient, patient.id).email_opt_out_at is not None


def test_infusion_page_refuses_an_unconfirmed_appointment_before_anything_is_typed(
    app, client, login_as
):
    """The page applies the service's can_complete: a pending appointment is refused on GET already."""
    patient_id, course_id = _setup(app)
    appointment_id = _appointment(app, patient_id, course_id, status="pending")
    login_as("clinician")
    url = f"/patients/{patient_id}/infusions/new?appointment_id={appointment_id}"
    page = client.get(url).text
    assert "Confirm it first." in page
    response = client.post(url, data=GOOD)
    assert response.status_code == 400 and "Confirm it first." in response.text
    with app.app_context():
        assert db.session.scalar(select(Infusion.id)) is None


@pytest.mark.parametrize(
    "status",
    ["pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error"],
)
def test_infusion_page_and_service_agree_on_completable_appointments(app, client, login_as, status):
    """The infusion page saves exactly when the service's can_complete says the appointment may be completed."""
    patient_id, course_id = _setup(app)
    appointment_id = _appointment(app, patient_id, course_id, status=status)
    login_as("clinician")
    response = client.post(
        f"/patients/{patient_id}/infusions/new?appointment_id={appointment_id}",
        data={**GOOD, "given_at": "2026-11-20T10:05"},
    )
    expected = status in appointment_service.COMPLETABLE
    assert (response.status_code == 303) is expected
    with app.app_context():
        assert (db.session.scalar(select(Infusion.id)) is not None) is expected


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("counts", [False, True])
def test_infusion_qualifies_is_the_scheduling_rule(outcome, counts):
    """Infusion.qualifies answers what scheduling.qualifies answers for every outcome."""
    infusion = Infusion(outcome=outcome, counts_toward_series=counts)
    assert infusion.qualifies is scheduling.qualifies(outcome, counts)


@pytest.mark.parametrize(
    ("day", "wall", "exists"),
    [
        (date(2026, 3, 8), time(2, 30), False),  # the clocks jump from 02:00 to 03:00
        (date(2026, 3, 8), time(3, 0), True),
        (date(2026, 11, 1), time(1, 30), True),  # repeated: the first occurrence (EDT)
        (date(2026, 11, 26), time(10, 0), True),
    ],
)
def test_form_booking_and_import_agree_on_wall_clock_times(app_ctx, day, wall, exists):
    """A typed time, a booked time and an imported time exist, or not, alike, at the same instant."""
    instant = booking.local_instant(day, wall, NEW_YORK)
    assert (instant is not None) is exists
    imported = _clinic_instant((day, wall), NEW_YORK)
    assert imported[3] is exists and imported[2] == instant
    if exists:
        assert local_to_utc(datetime.combine(day, wall), NEW_YORK) == instant
    else:
        with pytest.raises(RuleError):
            local_to_utc(datetime.combine(day, wall), NEW_YORK)
    if day == date(2026, 11, 1):
        assert instant == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_get_settings_is_a_pure_read(app_ctx):
    """Without the settings row, get_settings gives the defaults and writes nothing."""
    from tracker.models import ClinicSettings

    db.session.delete(db.session.get(ClinicSettings, 1))
    db.session.flush()
    settings = get_settings()
    assert (settings.timezone, settings.default_min_days, settings.default_max_days) == (
        "America/New_York",
        30,
        90,
    )
    assert settings not in db.session
    db.session.flush()
    assert db.session.get(ClinicSettings, 1) is None


def test_capacity_page_and_settings_service_share_one_writer(app_ctx):
    """The capacity limits are checked by update_settings, whichever page calls it."""
    from tracker.schedule.resources import set_capacity

    with pytest.raises(RuleError) as caught:
        set_capacity(max_concurrent=51, step_min=15, actor=None)
    assert caught.value.field == "max_concurrent_per_clinician"
    with pytest.raises(RuleError) as caught:
        update_settings(None, {"slot_step_min": 121})
    assert caught.value.field == "slot_step_min"
    set_capacity(max_concurrent=4, step_min=20, actor=None)
    assert (get_settings().max_concurrent_per_clinician, get_settings().slot_step_min) == (4, 20)
