"""The reminders a clinic has already sent before the bench date: its reminders log.

Every earlier anchor of a patient had its window reminders; the current anchor's reminders that
fell due more than SWEEP_GAP_DAYS before the bench date went out then. The scheduler is taken
to have been down for the last few days, so the bench sweep catches up on about 3% of patients.
Dedupe keys come from the reminders planner itself, so the sweep recognises what was sent.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

SWEEP_GAP_DAYS = 3  # reminders due on the last three days before the bench date are not sent yet
SENT_BY = "bench-history"


def add_reminder_history(db, courses, plans, bench_date: date, zone) -> int:
    """Insert the reminders log; returns rows added (0 when the planner is not there yet)."""
    try:
        from tracker.reminders.planning import appointment_key, window_key
    except ImportError:
        return 0
    from sqlalchemy import insert, select

    from tracker.models import Appointment, Reminder
    from tracker.services.clinic import get_settings

    settings = get_settings()
    sent_before = bench_date - timedelta(days=SWEEP_GAP_DAYS - 1)  # due_on < this: already handled
    rng = random.Random(11)
    rows: list[dict] = []

    def add(kind, key, due_on_or_at, *, patient_id, course_id=None, appointment_id=None,
            anchor=None, consent=True):
        due_at = due_on_or_at if isinstance(due_on_or_at, datetime) else _local(
            due_on_or_at, settings.send_hours_start, zone)
        if not consent:
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
            "claimed_by": SENT_BY if sent else None, "created_at": due_at - timedelta(days=14),
            "updated_at": due_at,
        })

    for mrn, plan in plans.items():
        patient_id, course_id, state, anchor = courses[mrn]
        if state != "maintenance" or plan.mode == "as_needed" or anchor is None:
            continue
        qualifying = [day for day, _minute, outcome in plan.sessions if outcome == "completed"]
        anchors = qualifying[plan.series_planned - 1:]
        for previous, following in zip(anchors, anchors[1:]):
            opens = previous + timedelta(days=plan.min_days)
            closes = previous + timedelta(days=plan.max_days)
            upcoming_on = opens - timedelta(days=settings.window_upcoming_days)
            closing_on = closes - timedelta(days=settings.window_closing_days)
            if upcoming_on < following:
                add("window_upcoming", window_key("window_upcoming", patient_id, previous), upcoming_on,
                    patient_id=patient_id, course_id=course_id, anchor=previous, consent=plan.consent)
            if closing_on < following:
                add("window_closing", window_key("window_closing", patient_id, previous), closing_on,
                    patient_id=patient_id, course_id=course_id, anchor=previous, consent=plan.consent)
        # The current anchor: what fell due before the scheduler stopped went out then.
        opens = anchor + timedelta(days=plan.min_days)
        closes = anchor + timedelta(days=plan.max_days)
        for kind, due_on, target in (
            ("window_upcoming", opens - timedelta(days=settings.window_upcoming_days), opens),
            ("window_closing", closes - timedelta(days=settings.window_closing_days), closes),
        ):
            if due_on < sent_before and due_on < target:
                add(kind, window_key(kind, patient_id, anchor), due_on, patient_id=patient_id,
                    course_id=course_id, anchor=anchor, consent=plan.consent)
    consenting = {courses[m][0] for m, p in plans.items() if p.consent}
    lead = timedelta(hours=settings.appointment_hours)
    cutoff = _local(sent_before, 0, zone)
    for appointment_id, patient_id, course_id, start_at in db.session.execute(
        select(Appointment.id, Appointment.patient_id, Appointment.course_id, Appointment.start_at)
    ):
        if start_at - lead < cutoff:
            add("appointment", appointment_key(appointment_id, start_at), start_at - lead,
                patient_id=patient_id, course_id=course_id, appointment_id=appointment_id,
                consent=patient_id in consenting)
    for first in range(0, len(rows), 5000):
        db.session.execute(insert(Reminder), rows[first:first + 5000])
    return len(rows)


def _local(day: date, hour: int, zone) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(timezone.utc)
