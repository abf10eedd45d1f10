"""The reminders outbox as a running clinic leaves it before the bench date.

Every earlier anchor of a patient had its window reminders (sent, or skipped without consent,
or cancelled by a booking). The scheduler is taken to have last swept SWEEP_GAP_DAYS before the
bench date, at the end of that day's send hours: what fell due by then went out, and what it
planned ahead (REMINDER_PLAN_AHEAD_DAYS) waits as pending rows. The bench sweep catches up on
the days it missed, about 3% of patients. Dedupe keys and due times come from the reminders
planner itself, so the sweep recognises every row.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

SWEEP_GAP_DAYS = 3  # the last sweep ran three days before the bench date
PLAN_AHEAD_DAYS = 14  # the planner's default horizon (REMINDER_PLAN_AHEAD_DAYS)
SENT_BY = "bench-history"
REMINDABLE = ("pending", "booked")


def add_reminder_history(db, courses, plans, bench_date: date, zone) -> int:
    """Insert the outbox rows; returns how many (0 when the planner is not there yet)."""
    try:
        from tracker.reminders.planning import appointment_key, window_key
    except ImportError:
        return 0
    from sqlalchemy import insert, select

    from tracker.models import ACTIVE_STATUSES, Appointment, Reminder
    from tracker.services.clinic import get_settings

    settings = get_settings()
    last_sweep_day = bench_date - timedelta(days=SWEEP_GAP_DAYS)
    last_sweep = _local(last_sweep_day, settings.send_hours_end - 1, zone) + timedelta(minutes=59)
    horizon = last_sweep_day + timedelta(days=PLAN_AHEAD_DAYS)
    rng = random.Random(11)
    rows: list[dict] = []

    def add(kind, key, due_at, *, patient_id, course_id=None, appointment_id=None, anchor=None,
            consent=True, pending=False):
        if pending:
            status, reason = "pending", None
        elif not consent:
            status, reason = "skipped", "no email consent"
        elif kind != "appointment" and rng.random() < 0.25:
            status, reason = "cancelled", "appointment booked"
        else:
            status, reason = "sent", None
        sent = status == "sent"
        rows.append({
            "dedupe_key": key, "kind": kind, "channel": "email", "patient_id": patient_id,
            "course_id": course_id, "appointment_id": appointment_id, "anchor_date": anchor,
            "due_at": due_at, "status": status, "skip_reason": reason, "attempts": 1 if sent else 0,
            "sent_at": due_at + timedelta(minutes=rng.randint(0, 5)) if sent else None,
            "message_id": f"<bench.{len(rows)}@clinic.invalid>" if sent else None,
            "created_at": min(due_at, last_sweep) - timedelta(days=PLAN_AHEAD_DAYS),
            "updated_at": min(due_at, last_sweep),
        })

    booked_patients = set(db.session.scalars(
        select(Appointment.patient_id).where(Appointment.status.in_(ACTIVE_STATUSES)).distinct()))
    for mrn, plan in plans.items():
        patient_id, course_id, state, anchor = courses[mrn]
        if state != "maintenance" or plan.mode == "as_needed" or anchor is None:
            continue
        qualifying = [day for day, _minute, outcome in plan.sessions if outcome == "completed"]
        anchors = qualifying[plan.series_planned - 1:]
        for previous, following in zip(anchors, anchors[1:]):
            for kind, due_on, _target in _window_dues(previous, plan, settings):
                if due_on < following:
                    add(kind, window_key(kind, patient_id, previous), _local(due_on, settings.send_hours_start, zone),
                        patient_id=patient_id, course_id=course_id, anchor=previous, consent=plan.consent)
        for kind, due_on, _target in _window_dues(anchor, plan, settings):
            due_at = _local(due_on, settings.send_hours_start, zone)
            if due_on <= last_sweep_day:
                add(kind, window_key(kind, patient_id, anchor), due_at, patient_id=patient_id,
                    course_id=course_id, anchor=anchor, consent=plan.consent)
            elif due_on <= horizon and patient_id not in booked_patients:
                add(kind, window_key(kind, patient_id, anchor), due_at, patient_id=patient_id,
                    course_id=course_id, anchor=anchor, pending=True)
    consenting = {courses[m][0] for m, p in plans.items() if p.consent}
    lead = timedelta(hours=settings.appointment_hours)
    plan_until = last_sweep + lead + timedelta(days=PLAN_AHEAD_DAYS)
    for appointment_id, patient_id, course_id, start_at, status in db.session.execute(
        select(Appointment.id, Appointment.patient_id, Appointment.course_id, Appointment.start_at,
               Appointment.status)
    ):
        key = appointment_key(appointment_id, start_at)
        if start_at - lead <= last_sweep:
            add("appointment", key, start_at - lead, patient_id=patient_id, course_id=course_id,
                appointment_id=appointment_id, consent=patient_id in consenting)
        elif status in REMINDABLE and start_at <= plan_until:
            add("appointment", key, start_at - lead, patient_id=patient_id, course_id=course_id,
                appointment_id=appointment_id, pending=True)
    for first in range(0, len(rows), 5000):
        db.session.execute(insert(Reminder), rows[first:first + 5000])
    return len(rows)


def _window_dues(anchor: date, plan, settings):
    """(kind, day the reminder is due, day it is about) for the window after an anchor."""
    opens = anchor + timedelta(days=plan.min_days)
    closes = anchor + timedelta(days=plan.max_days)
    return (("window_upcoming", opens - timedelta(days=settings.window_upcoming_days), opens),
            ("window_closing", closes - timedelta(days=settings.window_closing_days), closes))


def _local(day: date, hour: int, zone) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(timezone.utc)
