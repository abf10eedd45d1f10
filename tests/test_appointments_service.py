"""The appointment service on the real database: booking rules, statuses, series, completing."""
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Appointment, AppointmentStatusChange, AuditEvent, ClosedDate, Infusion
from tracker.services import appointments as service
from tracker.services.clinic import get_settings
from tracker.services.errors import RuleError

from .factories import make_patient, make_user
from .schedule_fixtures import (
    MONDAY, NOW, ZONE, add_appointment, at, maintenance_patient, series_patient, setup_clinic,
)

TUESDAY = MONDAY + timedelta(days=1)


def _book(clinic, patient, start, chair=0, kind="maintenance", **kw):
    return service.book(patient, appointment_type=clinic[kind], chair=clinic["chairs"][chair],
                        start_at=start, actor=kw.pop("actor", "test"), now=kw.pop("now", NOW), **kw)


def _count(model=Appointment):
    return db.session.scalar(select(func.count()).select_from(model))


def test_book_stores_block_history_and_audit(app_ctx):
    """A booking is pending, spans prep+infusion+recovery, and records who booked it, when."""
    clinic = setup_clinic()
    clerk = make_user("frontdesk")
    patient, course = maintenance_patient(date(2026, 12, 1))
    appointment = _book(clinic, patient, at(MONDAY, 9), actor=clerk)
    assert appointment.status == "pending" and appointment.course_id == course.id
    assert appointment.end_at - appointment.start_at == timedelta(minutes=100)
    assert appointment.uid and appointment.sequence == 0
    change = db.session.scalar(select(AppointmentStatusChange).where(
        AppointmentStatusChange.appointment_id == appointment.id))
    assert (change.from_status, change.to_status, change.user_id) == (None, "pending", clerk.id)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity == "appointment"))
    assert event.action == "create" and event.patient_id == patient.id and event.user_id == clerk.id


@pytest.mark.parametrize("start, chair, message", [
    (at(MONDAY, 17), 0, "outside opening hours"),
    (at(date(2027, 1, 9), 9), 0, "closed on Saturdays"),
    (at(date(2027, 1, 1), 9), 0, "in the past"),
    (at(MONDAY, 9, 30), 0, "chair is already booked"),
    (at(MONDAY, 9, 30), 1, "already has an appointment"),
])
def test_refusals_save_nothing(app_ctx, start, chair, message):
    """Outside hours, a closed weekday, the past, a taken chair, a double-booked patient: refused."""
    clinic = setup_clinic()
    patient = make_patient()
    _book(clinic, patient, at(MONDAY, 9))
    before = _count()
    other = patient if "already has" in message else make_patient()
    with pytest.raises(RuleError) as refused:
        _book(clinic, other, start, chair=chair)
    assert message in str(refused.value)
    assert _count() == before


def test_closed_date_refused_with_reason(app_ctx):
    """A holiday refuses bookings and names itself."""
    clinic = setup_clinic()
    db.session.add(ClosedDate(on=TUESDAY, reason="Staff training"))
    with pytest.raises(RuleError, match="closed on Tue 5 Jan 2027 \\(Staff training\\)"):
        _book(clinic, make_patient(), at(TUESDAY, 9))


def test_clinician_capacity_refused(app_ctx):
    """Over the clinic's maximum concurrent infusions per clinician is refused on that field."""
    clinic = setup_clinic(chairs=4)
    get_settings().max_concurrent_per_clinician = 2
    doctor = make_user("clinician")
    for chair in (0, 1):
        _book(clinic, make_patient(), at(MONDAY, 9), chair=chair, clinician=doctor)
    with pytest.raises(RuleError) as refused:
        _book(clinic, make_patient(), at(MONDAY, 9, 15), chair=2, clinician=doctor)
    assert refused.value.field == "clinician_id"
    assert _book(clinic, make_patient(), at(MONDAY, 9, 15), chair=2, clinician=make_user("clinician"))


def test_inactive_chair_and_frontdesk_supervisor_refused(app_ctx):
    """A chair out of use, or a non-clinician as supervisor, is refused."""
    clinic = setup_clinic()
    clinic["chairs"][0].active = False
    with pytest.raises(RuleError, match="not in use"):
        _book(clinic, make_patient(), at(MONDAY, 9))
    with pytest.raises(RuleError, match="active clinician"):
        _book(clinic, make_patient(), at(MONDAY, 9), chair=1, clinician=make_user("frontdesk"))


@pytest.mark.parametrize("day", [date(2026, 3, 8), date(2026, 11, 1)])
def test_four_hour_block_on_clock_change_days(app_ctx, day):
    """A 4-hour series block at 09:00 on a DST Sunday ends at 14:00 wall clock, stored in UTC."""
    clinic = setup_clinic(weekdays=range(7))
    appointment = _book(clinic, make_patient(), at(day, 9), kind="series",
                        now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    db.session.commit()
    stored = db.session.get(Appointment, appointment.id)
    db.session.refresh(stored)
    assert stored.start_at.astimezone(ZONE).replace(tzinfo=None) == datetime.combine(day, time(9))
    assert stored.end_at.astimezone(ZONE).replace(tzinfo=None) == datetime.combine(day, time(14))
    assert stored.end_at - stored.start_at == timedelta(hours=5)  # 15 + 240 + 45 minutes


def test_status_machine_allows_the_domain_paths(app_ctx):
    """pending -> booked -> arrived -> fulfilled, each step kept with who and when; SEQUENCE grows."""
    clinic = setup_clinic()
    nurse = make_user("clinician")
    appointment = add_appointment(make_patient(), clinic["chairs"][0], clinic["maintenance"],
                                  at(date(2026, 12, 7), 9), status="pending")
    for status in ("booked", "arrived", "fulfilled"):
        service.change_status(appointment, status, actor=nurse)
    assert appointment.status == "fulfilled" and appointment.sequence == 3
    steps = db.session.execute(select(AppointmentStatusChange.to_status, AppointmentStatusChange.user_id)
                               .where(AppointmentStatusChange.appointment_id == appointment.id)
                               .order_by(AppointmentStatusChange.id)).all()
    assert steps[1:] == [("booked", nurse.id), ("arrived", nurse.id), ("fulfilled", nurse.id)]


@pytest.mark.parametrize("start, to", [
    ("fulfilled", "booked"), ("cancelled", "booked"), ("noshow", "arrived"), ("pending", "arrived"),
    ("pending", "fulfilled"), ("arrived", "cancelled"), ("entered-in-error", "entered-in-error"),
    ("fulfilled", "cancelled"),
])
def test_forbidden_transitions_refused(app_ctx, start, to):
    """Transitions outside the state machine are refused and change nothing."""
    clinic = setup_clinic()
    appointment = add_appointment(make_patient(), clinic["chairs"][0], clinic["maintenance"],
                                  at(date(2026, 12, 7), 9), status=start)
    with pytest.raises(RuleError, match="cannot be marked"):
        service.change_status(appointment, to, actor="test", reason="patient")
    assert appointment.status == start and appointment.sequence == 0


def test_any_status_may_become_entered_in_error(app_ctx):
    """A fulfilled appointment entered by mistake can be marked entered-in-error."""
    clinic = setup_clinic()
    appointment = add_appointment(make_patient(), clinic["chairs"][0], clinic["maintenance"],
                                  at(date(2026, 12, 7), 9), status="fulfilled")
    service.change_status(appointment, "entered-in-error", actor="test")
    assert appointment.status == "entered-in-error"


def test_cancel_needs_a_known_reason(app_ctx):
    """Cancelling without one of patient / clinic / clinical / late-cancel is refused."""
    clinic = setup_clinic()
    appointment = _book(clinic, make_patient(), at(MONDAY, 9))
    with pytest.raises(RuleError) as refused:
        service.change_status(appointment, "cancelled", actor="test", reason="")
    assert refused.value.field == "reason" and appointment.status == "pending"
    service.change_status(appointment, "cancelled", actor="test", reason="late-cancel")
    assert (appointment.status, appointment.cancel_reason) == ("cancelled", "late-cancel")


def test_noshow_only_after_the_start(app_ctx):
    """A no-show cannot be recorded before the appointment has started."""
    clinic = setup_clinic()
    appointment = _book(clinic, make_patient(), at(MONDAY, 9))
    with pytest.raises(RuleError, match="started"):
        service.change_status(appointment, "noshow", actor="test", now=NOW)
    service.change_status(appointment, "noshow", actor="test", now=at(MONDAY, 9, 30))
    assert appointment.status == "noshow"


def test_cancelled_time_is_free_again(app_ctx):
    """After a cancellation another patient can take the same chair time."""
    clinic = setup_clinic()
    first = _book(clinic, make_patient(), at(MONDAY, 9))
    service.change_status(first, "cancelled", actor="test", reason="patient")
    assert _book(clinic, make_patient(), at(MONDAY, 9)).status == "pending"


def test_reschedule_cancels_and_links(app_ctx):
    """Reschedule = the old one cancelled with its reason + a new one linked to it, even overlapping."""
    clinic = setup_clinic()
    old = _book(clinic, make_patient(), at(MONDAY, 9))
    new = service.reschedule(old, chair=clinic["chairs"][0], start_at=at(MONDAY, 9, 30), actor="test",
                             reason="clinic", now=NOW)
    assert (old.status, old.cancel_reason) == ("cancelled", "clinic")
    assert new.rescheduled_from_id == old.id and new.status == "pending" and new.uid != old.uid


def test_failed_reschedule_keeps_the_old_one(app_ctx):
    """A reschedule into a taken chair is refused; after the view's rollback the old one is intact."""
    clinic = setup_clinic()
    old = _book(clinic, make_patient(), at(MONDAY, 9))
    _book(clinic, make_patient(), at(MONDAY, 13))
    db.session.commit()
    with pytest.raises(RuleError):
        service.reschedule(old, chair=clinic["chairs"][0], start_at=at(MONDAY, 13), actor="test",
                           reason="patient", now=NOW)
    db.session.rollback()
    assert db.session.get(Appointment, old.id).status == "pending"
    assert _count() == 2


def test_search_inside_the_window(app_ctx):
    """A maintenance patient gets proposals from the window's opening day, with its dates."""
    setup_clinic()
    patient, course = maintenance_patient(date(2026, 12, 15))  # window 2027-01-14 .. 2027-03-15
    found = service.search_slots(patient, service.active_types()[0], today=MONDAY, now=NOW)
    assert (found.purpose, found.window_opens, found.window_closes) == \
        ("maintenance", date(2027, 1, 14), date(2027, 3, 15))
    assert found.slots[0].start == at(date(2027, 1, 14), 8) and not found.window_full


def test_search_says_when_the_window_is_full(app_ctx):
    """Every chair taken through the window: no slot inside, flagged full, later ones offered."""
    clinic = setup_clinic(chairs=1)
    patient, course = maintenance_patient(date(2026, 12, 14), min_days=21, max_days=22)  # Jan 4-5
    for day in (MONDAY, TUESDAY):
        add_appointment(make_patient(), clinic["chairs"][0], clinic["series"], at(day, 8))
        add_appointment(make_patient(), clinic["chairs"][0], clinic["series"], at(day, 13))
    found = service.search_slots(patient, clinic["maintenance"], today=MONDAY, now=NOW)
    assert found.slots == [] and found.window_full
    assert found.later_slots[0].start == at(MONDAY + timedelta(days=2), 8)


def test_search_after_the_window_closed(app_ctx):
    """An overdue patient: the window has passed; proposals start today."""
    setup_clinic()
    patient, _ = maintenance_patient(date(2026, 9, 1))  # closed 2026-11-30
    found = service.search_slots(patient, service.active_types()[0], today=MONDAY, now=NOW)
    assert found.window_passed and not found.window_full
    assert found.later_slots[0].start == at(MONDAY, 8)


def test_search_during_a_series_starts_the_next_day(app_ctx):
    """During a series, proposals start the day after today (or after the last booked session)."""
    clinic = setup_clinic()
    patient, _ = series_patient()
    found = service.search_slots(patient, clinic["series"], today=MONDAY, now=NOW)
    assert found.purpose == "series" and found.slots[0].start == at(TUESDAY, 8)
    _book(clinic, patient, at(date(2027, 1, 6), 8), kind="series")
    found = service.search_slots(patient, clinic["series"], today=MONDAY, now=NOW)
    assert found.slots[0].start == at(date(2027, 1, 7), 8)


def test_book_series_on_weekdays_skipping_closed_dates(app_ctx):
    """Six Mon/Wed/Fri sessions, a holiday skipped, each in the first free chair."""
    clinic = setup_clinic(chairs=2)
    db.session.add(ClosedDate(on=date(2027, 1, 6), reason="Holiday"))
    add_appointment(make_patient(), clinic["chairs"][0], clinic["series"], at(date(2027, 1, 8), 9))
    patient, _ = series_patient()
    plan = service.book_series(patient, appointment_type=clinic["series"], chair=None,
                               first_day=MONDAY, weekdays=[0, 2, 4], wall_time=time(9), count=6,
                               actor="test", now=NOW)
    local_days = [a.start_at.astimezone(ZONE).date() for a in plan.appointments]
    assert local_days == [date(2027, 1, d) for d in (4, 8, 11, 13, 15, 18)]
    assert plan.skipped == [date(2027, 1, 6)]
    assert plan.appointments[1].chair_id == clinic["chairs"][1].id


def test_book_series_is_all_or_nothing(app_ctx):
    """One session that cannot be booked names its date, and nothing is saved."""
    clinic = setup_clinic(chairs=1)
    add_appointment(make_patient(), clinic["chairs"][0], clinic["series"], at(date(2027, 1, 13), 8))
    patient, _ = series_patient()
    before = _count()
    with pytest.raises(RuleError) as refused:
        service.book_series(patient, appointment_type=clinic["series"], chair=clinic["chairs"][0],
                            first_day=MONDAY, weekdays=[0, 2], wall_time=time(9), count=4,
                            actor="test", now=NOW)
    assert "Wed 13 Jan 2027" in str(refused.value) and "Nothing was booked" in str(refused.value)
    assert _count() == before


def _record_values(**kw):
    values = dict(outcome="completed", weight_kg=Decimal("70"), dose_mg_per_kg=Decimal("0.5"),
                  duration_min=40, pain_before=7, pain_after=3)
    values.update(kw)
    return values


def test_complete_records_infusion_and_reanchors(app_ctx):
    """Completing a confirmed appointment records the infusion, re-anchors, and fulfils it."""
    clinic = setup_clinic()
    patient, course = maintenance_patient(date(2026, 10, 1))
    day = date(2026, 11, 2)
    appointment = add_appointment(patient, clinic["chairs"][0], clinic["maintenance"], at(day, 9),
                                  course=course)
    infusion = service.complete(appointment, actor="test", given_at=at(day, 9, 15),
                                values=_record_values(), today=day)
    assert infusion.appointment_id == appointment.id and appointment.status == "fulfilled"
    assert course.anchor_date == day and course.window_opens == day + timedelta(days=30)
    statuses = db.session.scalars(select(AppointmentStatusChange.to_status).where(
        AppointmentStatusChange.appointment_id == appointment.id).order_by(AppointmentStatusChange.id)).all()
    assert statuses == ["booked", "arrived", "fulfilled"]


def test_not_started_fulfils_but_keeps_the_anchor(app_ctx):
    """A session not started still fulfils the appointment; the window does not move."""
    clinic = setup_clinic()
    patient, course = maintenance_patient(date(2026, 10, 1))
    day = date(2026, 11, 2)
    appointment = add_appointment(patient, clinic["chairs"][0], clinic["maintenance"], at(day, 9),
                                  status="arrived", course=course)
    service.complete(appointment, actor="test", given_at=at(day, 9, 15),
                     values=_record_values(outcome="not_started"), today=day)
    assert appointment.status == "fulfilled" and course.anchor_date == date(2026, 10, 1)


def test_complete_refused_for_closed_appointments(app_ctx):
    """Cancelled, no-show or already fulfilled appointments cannot be completed; nothing recorded."""
    clinic = setup_clinic()
    patient, course = maintenance_patient(date(2026, 10, 1))
    before = _count(Infusion)
    for status in ("cancelled", "noshow", "fulfilled", "entered-in-error", "pending"):
        appointment = add_appointment(patient, clinic["chairs"][0], clinic["maintenance"],
                                      at(date(2026, 11, 2), 9), status=status, course=course)
        with pytest.raises(RuleError, match="cannot be completed"):
            service.complete(appointment, actor="test", given_at=at(date(2026, 11, 2), 9),
                             values=_record_values(), today=date(2026, 11, 2))
    assert _count(Infusion) == before


def test_unconfirmed_appointment_must_be_confirmed_first(app_ctx):
    """A pending appointment is not completed: the front desk confirms it first; nothing recorded."""
    clinic = setup_clinic()
    patient, course = maintenance_patient(date(2026, 10, 1))
    before = _count(Infusion)
    appointment = add_appointment(patient, clinic["chairs"][0], clinic["maintenance"],
                                  at(date(2026, 11, 2), 9), status="pending", course=course)
    with pytest.raises(RuleError, match="Confirm it first"):
        service.complete(appointment, actor="test", given_at=at(date(2026, 11, 2), 9, 15),
                         values=_record_values(), today=date(2026, 11, 2))
    assert appointment.status == "pending" and _count(Infusion) == before


def test_fulfil_from_infusion_links_and_records(app_ctx):
    """The patients page's hook: link an infusion recorded elsewhere and fulfil the appointment."""
    from tracker.services.infusions import record_infusion

    clinic = setup_clinic()
    patient, course = maintenance_patient(date(2026, 10, 1))
    day = date(2026, 11, 2)
    appointment = add_appointment(patient, clinic["chairs"][0], clinic["maintenance"], at(day, 9))
    infusion = record_infusion(course, actor="test", settings=get_settings(), today=day,
                               given_at=at(day, 9, 15), **_record_values())
    service.fulfil_from_infusion(appointment, infusion, "test")
    assert infusion.appointment_id == appointment.id and appointment.status == "fulfilled"
    other = add_appointment(make_patient(), clinic["chairs"][1], clinic["maintenance"], at(day, 9))
    with pytest.raises(RuleError, match="another patient"):
        service.fulfil_from_infusion(other, infusion, "test")


def test_postgres_exclusion_constraint_is_the_last_guard(app_ctx, monkeypatch):
    """If the check missed a clash (the race window), PostgreSQL's constraint refuses it cleanly."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL only")
    clinic = setup_clinic()
    _book(clinic, make_patient(), at(MONDAY, 9))
    db.session.commit()
    monkeypatch.setattr(service.booking, "check_block", lambda **kw: None)
    with pytest.raises(RuleError, match="booked by someone else"):
        _book(clinic, make_patient(), at(MONDAY, 9, 30))
    db.session.rollback()
    assert _count() == 1
