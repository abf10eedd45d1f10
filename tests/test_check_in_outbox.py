"""Check-in messages through the outbox: on the clinic's days after each qualifying session,
exactly once per patient, course, session and day, only to patients who may be emailed."""

from datetime import date, timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Reminder
from tracker.reminders.check_ins import check_in_key
from tracker.reminders.clock import Clock
from tracker.reminders.planning import plan
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from .check_in_fixtures import turn_on
from .reminder_fixtures import booster, maintenance_patient

ANCHOR = date(2026, 3, 2)


def check_in_rows():
    return db.session.scalars(
        select(Reminder).where(Reminder.kind == "check_in").order_by(Reminder.id)
    ).all()


def sent_check_ins():
    return [r for r in check_in_rows() if r.status == "sent"]


def test_each_day_goes_out_once_and_a_new_session_restarts_the_schedule(app_ctx):
    """Day 7 goes out on its day and once only, whatever the sweeps; a booster on day 10 cancels
    the old day-14 row and plans day 7 after the booster."""
    turn_on()
    patient, course = maintenance_patient(ANCHOR)
    db.session.commit()
    settings = get_settings()
    day7 = ANCHOR + timedelta(days=7)
    assert run_sweep(clock=Clock.on_date(day7 - timedelta(days=1), settings), manual=True).sent == 0
    first = run_sweep(clock=Clock.on_date(day7, settings), manual=True)
    again = run_sweep(clock=Clock.on_date(day7, settings), manual=True)
    assert (first.sent, again.sent) == (1, 0)
    keys = [r.dedupe_key for r in sent_check_ins()]
    assert keys == [check_in_key(patient.id, course.id, ANCHOR, 7)]
    # Planning twice more plans nothing new (the dedupe key).
    assert plan(Clock.on_date(day7, settings), settings).planned == 0
    db.session.commit()

    later = ANCHOR + timedelta(days=10)
    booster(course, later)
    db.session.commit()
    run_sweep(clock=Clock.on_date(later, settings), manual=True)
    old14 = db.session.scalar(
        select(Reminder).where(
            Reminder.dedupe_key == check_in_key(patient.id, course.id, ANCHOR, 14)
        )
    )
    assert old14.status == "cancelled"
    assert old14.skip_reason == "a newer session restarted the check-ins"
    run_sweep(clock=Clock.on_date(later + timedelta(days=7), settings), manual=True)
    assert [r.dedupe_key for r in sent_check_ins()] == [
        check_in_key(patient.id, course.id, ANCHOR, 7),
        check_in_key(patient.id, course.id, later, 7),
    ]


def test_only_patients_who_may_be_emailed_and_only_when_turned_on(app_ctx):
    """No consent, an opt-out, or check-ins off: nothing is sent (an opt-out after planning is
    honoured at send time)."""
    settings = get_settings()
    day7 = ANCHOR + timedelta(days=7)
    maintenance_patient(ANCHOR)
    db.session.commit()
    assert run_sweep(clock=Clock.on_date(day7, settings), manual=True).sent == 0  # off by default
    assert check_in_rows() == []
    turn_on()
    maintenance_patient(ANCHOR, email_consent=False)
    late = maintenance_patient(ANCHOR)[0]
    db.session.commit()
    plan(Clock.on_date(ANCHOR + timedelta(days=1), settings), settings)
    db.session.commit()
    late.email_opt_out_at = Clock.on_date(ANCHOR + timedelta(days=2), settings).now
    db.session.commit()
    result = run_sweep(clock=Clock.on_date(day7, settings), manual=True)
    rows = {r.patient_id: r for r in check_in_rows() if r.dedupe_key.endswith(":d7")}
    assert late.id in rows and rows[late.id].status == "skipped"
    assert rows[late.id].skip_reason == "opted out"
    assert len(sent_check_ins()) == result.sent == 1  # the first patient's


def test_a_day_that_passed_is_skipped_and_a_finished_course_cancels(app_ctx):
    """A row not sent by the day after its day is skipped; discharging cancels what waits."""
    turn_on(days="7,14")
    settings = get_settings()
    patient, course = maintenance_patient(ANCHOR)
    db.session.commit()
    plan(Clock.on_date(ANCHOR + timedelta(days=1), settings), settings)
    db.session.commit()
    run_sweep(clock=Clock.on_date(ANCHOR + timedelta(days=9), settings), manual=True)
    rows = {r.dedupe_key.rsplit(":", 1)[1]: r for r in check_in_rows()}
    assert rows["d7"].status == "skipped"
    assert rows["d7"].skip_reason == "too late: the check-in day has passed"
    assert rows["d14"].status == "pending"
    course.state = "discharged"
    db.session.commit()
    run_sweep(clock=Clock.on_date(ANCHOR + timedelta(days=14), settings), manual=True)
    db.session.refresh(rows["d14"])
    assert (rows["d14"].status, rows["d14"].skip_reason) == ("cancelled", "course finished")


def test_two_concurrent_sweeps_send_each_check_in_once(make_app):
    """Two sweeps started together (threads, separate connections) against a real SMTP server:
    each patient's day-7 check-in arrives exactly once."""
    from collections import Counter

    from .reminder_fixtures import SMTPServer, concurrent_sweeps

    server = SMTPServer(delay=0.01).start()
    try:
        app = make_app(**server.config(), REMINDER_BATCH_SIZE=3)
        with app.app_context():
            turn_on(days="7")
            addresses = [
                maintenance_patient(ANCHOR, email=f"checkin{n}@example.test")[0].email
                for n in range(12)
            ]
            db.session.commit()
        errors = concurrent_sweeps(app, ANCHOR + timedelta(days=7))
        assert errors == []
        assert Counter(server.recipients()) == Counter(addresses)
        with app.app_context():
            rows = check_in_rows()
            assert len(rows) == 12 and {r.status for r in rows} == {"sent"}
    finally:
        server.stop()


def test_a_series_in_progress_is_sent_no_check_in(app_ctx):
    """During the series (the next session comes within days) nothing is planned; the first
    maintenance session starts the days."""
    from .factories import make_course, make_patient

    turn_on(days="7")
    settings = get_settings()
    course = make_course(make_patient(), series_planned=2, opened_on=ANCHOR)
    booster(course, ANCHOR)
    db.session.commit()
    assert course.state == "series_in_progress"
    plan(Clock.on_date(ANCHOR, settings), settings)
    assert check_in_rows() == []
    later = ANCHOR + timedelta(days=3)
    booster(course, later)
    db.session.commit()
    assert course.state == "maintenance"
    plan(Clock.on_date(later, settings), settings)
    assert [r.dedupe_key for r in check_in_rows()] == [
        check_in_key(course.patient_id, course.id, later, 7)
    ]


def test_a_hold_whose_resume_date_has_come_gets_its_check_ins_again(app_ctx):
    """Held until day 7, the course gets no check-in before that day and its day-7 check-in on
    it, although the stored state still says on hold (nobody resumed it by hand)."""
    turn_on()
    patient, course = maintenance_patient(ANCHOR)
    day7 = ANCHOR + timedelta(days=7)
    course.state_before_hold, course.state = "maintenance", "on_hold"
    course.hold_reason, course.resume_on = "travelling", day7
    db.session.commit()
    settings = get_settings()
    assert run_sweep(clock=Clock.on_date(day7 - timedelta(days=1), settings), manual=True).sent == 0
    assert check_in_rows() == []
    assert run_sweep(clock=Clock.on_date(day7, settings), manual=True).sent == 1
    assert [r.dedupe_key for r in sent_check_ins()] == [
        check_in_key(patient.id, course.id, ANCHOR, 7)
    ]
