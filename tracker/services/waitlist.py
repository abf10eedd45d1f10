"""The waitlist, ranked by the window: patients who want an earlier time join it (from their
booking page, or staff add them from the worklist) with the weekdays that suit them. When a
chair block frees (a visit cancelled or moved away), the best matches are offered it by email
through the outbox: window closing soonest first, then overdue (most overdue first), then
longest waiting. The first to accept books it; the others are told it was taken. An offer
expires after the clinic's hours; when a block's offers all run out unaccepted, the sweep
offers it to the next in line while it is still free. A patient may leave the list from their
link. The one writer of waitlist_entries and waitlist_offers.

Accepting is serialised per chair (as holding and booking a time are, patient_links/holds.py),
so two patients accepting one block at once end with one booking.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, select

from .. import booking
from ..extensions import db
from ..models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentType,
    Chair,
    Course,
    Patient,
    User,
    WaitlistEntry,
    WaitlistOffer,
)
from ..models.waitlist import WEEKDAYS
from . import appointments as service
from . import audit
from .clinic import clinic_zone
from .errors import RuleError

log = logging.getLogger(__name__)

OFFER_KIND = "waitlist_offer"  # the outbox kind of an offer's email
TAKEN = "Sorry, that time has already been taken by someone else."
EXPIRED = "This offer has run out."
LISTED_LIMIT = 200  # rows on the staff page


STATES = {
    "open": "Open",
    "accepted": "Accepted: booked",
    "taken": "Taken by another patient",
    "expired": "Expired",
}


def active_entry(patient_id: int) -> WaitlistEntry | None:
    """The patient's current place on the waitlist, if any."""
    return db.session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.patient_id == patient_id, WaitlistEntry.ended_at.is_(None))
        .order_by(WaitlistEntry.id.desc())
        .limit(1)
    )


def join(patient: Patient, course: Course | None, weekdays, *, actor, now: datetime):
    """Put the patient on the waitlist for these weekdays (0 = Monday), or change the days of
    their current place (they keep how long they have waited); audited, flushes."""
    days = "".join(sorted({str(day) for day in weekdays if str(day) in WEEKDAYS}))
    if not days:
        raise RuleError("Choose at least one day that suits you.", "weekdays")
    entry = active_entry(patient.id)
    if entry is None:
        entry = WaitlistEntry(
            patient_id=patient.id,
            course_id=course.id if course is not None else None,
            weekdays=days,
            added_by=audit.actor_fields(actor)[1],
            created_at=now,
        )
        db.session.add(entry)
    else:
        entry.weekdays = days
    db.session.flush()
    audit.record(
        actor,
        entity="patient",
        entity_id=patient.id,
        patient_id=patient.id,
        action="waitlist",
        after={"weekdays": days},
    )
    log.info("patient %s on the waitlist (entry %s)", patient.id, entry.id)
    return entry


def _end(entry: WaitlistEntry, reason: str, now: datetime) -> None:
    entry.ended_at, entry.end_reason = now, reason


def remove(entry_id: int, *, actor, now: datetime) -> WaitlistEntry:
    """Take a patient off the waitlist (kept, ended); audited, flushes. RuleError when it
    already ended or is not on file."""
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.ended_at is not None:
        raise RuleError("This patient is no longer on the waitlist.", None)
    _end(entry, "removed by staff", now)
    db.session.flush()
    audit.record(
        actor,
        entity="patient",
        entity_id=entry.patient_id,
        patient_id=entry.patient_id,
        action="waitlist_removed",
        after={"entry": entry.id},
    )
    return entry


def leave(patient_id: int, *, actor, now: datetime) -> WaitlistEntry:
    """The patient leaves the waitlist from their link (the entry is kept, ended); their open
    offers run out now, so each block passes to the next in line. Audited; flushes. RuleError
    when they are not on it."""
    entry = active_entry(patient_id)
    if entry is None:
        raise RuleError("You are not on the list for an earlier time.", None)
    _end(entry, "left by the patient", now)
    for offer in db.session.scalars(
        select(WaitlistOffer).where(
            WaitlistOffer.entry_id == entry.id,
            WaitlistOffer.accepted_at.is_(None),
            WaitlistOffer.expires_at > now,
        )
    ):
        offer.expires_at = now
    db.session.flush()
    audit.record(
        actor,
        entity="patient",
        entity_id=patient_id,
        patient_id=patient_id,
        action="waitlist_left",
        after={"entry": entry.id},
    )
    log.info("patient %s left the waitlist (entry %s)", patient_id, entry.id)
    return entry


def _wants_earlier(patient_id: int, start_at: datetime, now: datetime) -> bool:
    """No active visit of the patient's starts at or before the freed time."""
    sooner = db.session.scalar(
        select(Appointment.id)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.start_at > now,
            Appointment.start_at <= start_at,
        )
        .limit(1)
    )
    return sooner is None


def rank(course: Course, entry: WaitlistEntry, today: date) -> tuple:
    """Window still open and closing soonest first; then overdue, most overdue first; then the
    longest waiting (and the earliest entry, so the order is total)."""
    closes = course.window_closes or date.max
    overdue = closes < today
    return (1 if overdue else 0, closes, entry.created_at, entry.id)


def offer_freed_block(
    chair_id: int, start_at: datetime, *, freed_by: int | None, now: datetime, today: date, settings
) -> list[WaitlistOffer]:
    """Offer a chair time that just freed to the best matches (the clinic's number of them),
    each with an email through the outbox; flush. Nothing when the time cannot be booked
    online (too soon, too far ahead, a chair not bookable online)."""
    from ..patient_links.holds import check_free, check_online_rules
    from ..patient_links.times import bookable_type
    from ..reminders.notices import notice_due_at
    from ..reminders.planning import Planned, insert_planned

    chair = db.session.get(Chair, chair_id)
    if chair is None or not (chair.active and chair.bookable_online):
        return []
    try:
        check_online_rules(start_at, course=None, now=now, today=today, settings=settings)
    except RuleError:
        return []
    local_day = booking.wall(start_at, clinic_zone()).date()
    rows = db.session.execute(
        select(WaitlistEntry, Course)
        .join(Course, Course.id == WaitlistEntry.course_id)
        .join(Patient, Patient.id == WaitlistEntry.patient_id)
        .where(
            WaitlistEntry.ended_at.is_(None),
            WaitlistEntry.weekdays.contains(str(local_day.weekday())),
            Course.state == "maintenance",
            Course.mode == "scheduled",
            Patient.email_consent.is_(True),
            Patient.email_opt_out_at.is_(None),
            Patient.email.is_not(None),
        )
    ).all()
    offered_before = set(
        db.session.scalars(
            select(WaitlistOffer.entry_id).where(
                WaitlistOffer.chair_id == chair.id, WaitlistOffer.start_at == start_at
            )
        )
    )
    candidates = []
    for entry, course in sorted(rows, key=lambda row: rank(row[1], row[0], today)):
        if entry.patient_id == freed_by or entry.id in offered_before:
            continue  # one offer per block each: a block offered again goes to the next in line
        if course.window_opens is not None and local_day < course.window_opens:
            continue  # before the window opens: an early visit is the clinician's decision
        if not _wants_earlier(entry.patient_id, start_at, now):
            continue
        kind = bookable_type(course)
        if kind is None:
            continue
        try:
            check_free(entry.patient, chair, kind, start_at, now)
        except RuleError:
            continue
        candidates.append((entry, kind))
        if len(candidates) >= settings.waitlist_offers:
            break
    offers = []
    send_at = notice_due_at(now, settings)  # outside the send hours: the next morning
    expires = send_at + timedelta(hours=settings.waitlist_offer_hours)  # counted from the email
    for entry, kind in candidates:
        offer = WaitlistOffer(
            entry_id=entry.id,
            patient_id=entry.patient_id,
            chair_id=chair.id,
            appointment_type_id=kind.id,
            start_at=start_at,
            created_at=now,
            expires_at=expires,
        )
        db.session.add(offer)
        db.session.flush()
        insert_planned(
            [
                Planned(
                    OFFER_KIND,
                    f"{OFFER_KIND}:o{offer.id}",
                    send_at,
                    patient_id=entry.patient_id,
                    course_id=entry.course_id,
                    waitlist_offer_id=offer.id,
                )
            ]
        )
        offers.append(offer)
    if offers:
        log.info("chair block offered to %s waitlisted patients", len(offers))
    return offers


def _ran_out(now: datetime):
    """The HAVING clause of a block whose every offer ran out with none accepted."""
    return and_(
        func.count(WaitlistOffer.accepted_at) == 0, func.max(WaitlistOffer.expires_at) <= now
    )


def pass_on_expired(*, now: datetime, today: date, settings) -> list[WaitlistOffer]:
    """Offer each chair block whose offers all ran out unaccepted to the next in line (once per
    round: a round still open is not offered again), when it is still free and far enough ahead
    to book online; flush. Safe to run twice at once: the chair is locked, then its block's
    offers are read again."""
    from ..patient_links.holds import serialise_chair
    from ..patient_links.times import earliest_start

    blocks = db.session.execute(
        select(WaitlistOffer.chair_id, WaitlistOffer.start_at)
        .where(WaitlistOffer.start_at >= earliest_start(now, settings))
        .group_by(WaitlistOffer.chair_id, WaitlistOffer.start_at)
        .having(_ran_out(now))
        .order_by(WaitlistOffer.start_at, WaitlistOffer.chair_id)
    ).all()
    offers: list[WaitlistOffer] = []
    for chair_id, start_at in blocks:
        serialise_chair(chair_id)
        still = db.session.scalar(
            select(func.count())
            .select_from(WaitlistOffer)
            .where(WaitlistOffer.chair_id == chair_id, WaitlistOffer.start_at == start_at)
            .having(_ran_out(now))
        )
        if not still:
            continue  # another sweep offered it first, or someone accepted it meanwhile
        offers += offer_freed_block(
            chair_id, start_at, freed_by=None, now=now, today=today, settings=settings
        )
    return offers


def offer_state(offer: WaitlistOffer, now: datetime) -> str:
    """open, accepted, taken (another patient booked the time first) or expired (derived)."""
    if offer.accepted_at is not None:
        return "accepted"
    winner = db.session.scalar(
        select(WaitlistOffer.id).where(
            WaitlistOffer.chair_id == offer.chair_id,
            WaitlistOffer.start_at == offer.start_at,
            WaitlistOffer.accepted_at.is_not(None),
        )
    )
    if winner is not None:
        return "taken"
    if offer.expires_at <= now:
        return "expired"
    return "open"


def accept(offer_id: int, *, now: datetime, today: date, settings) -> Appointment:
    """Book the offered time for its patient (moving their later visit there in place, if they
    have one); the first acceptance of a block wins. RuleError (TAKEN, EXPIRED) otherwise; flush."""
    from ..patient_links.holds import BOOKED_ONLINE, PATIENT, check_not_held, serialise_chair
    from ..patient_links.visits import retire_old_time
    from ..reminders import notices

    offer = db.session.get(WaitlistOffer, offer_id)
    if offer is None:
        raise RuleError(TAKEN, None)
    serialise_chair(offer.chair_id)
    db.session.refresh(offer)
    state = offer_state(offer, now)
    if state != "open":
        raise RuleError(EXPIRED if state == "expired" else TAKEN, None)
    patient = db.session.get(Patient, offer.patient_id)
    chair = db.session.get(Chair, offer.chair_id)
    kind = db.session.get(AppointmentType, offer.appointment_type_id)
    if patient is None or chair is None or kind is None:
        raise RuleError(TAKEN, None)
    try:
        check_not_held(patient, chair, kind, offer.start_at, now)
    except RuleError:
        raise RuleError(TAKEN, None) from None
    later = db.session.scalar(
        select(Appointment)
        .where(
            Appointment.patient_id == patient.id,
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.start_at > offer.start_at,
        )
        .order_by(Appointment.start_at)
        .limit(1)
    )
    try:
        if later is not None:
            # Moved in place, as staff move a visit: the same appointment and calendar UID.
            clinician = db.session.get(User, later.clinician_id) if later.clinician_id else None
            moved = service.move_appointment(
                later,
                chair=chair,
                start_at=offer.start_at,
                actor=PATIENT,
                reason="patient",
                patient_agreed=later.status == "booked" or settings.online_bookings_confirmed,
                appointment_type=kind,
                clinician=clinician,
                now=now,
            )
            appointment = moved.appointment
        else:
            appointment = service.book(
                patient,
                appointment_type=kind,
                chair=chair,
                start_at=offer.start_at,
                actor=PATIENT,
                notes=BOOKED_ONLINE,
                now=now,
                confirmed=settings.online_bookings_confirmed,
            )
    except RuleError:
        raise RuleError(TAKEN, None) from None
    offer.accepted_at, offer.appointment_id = now, appointment.id
    entry = db.session.get(WaitlistEntry, offer.entry_id)
    if entry is not None:
        _end(entry, "booked from an offer", now)
    db.session.flush()
    if later is not None:
        retire_old_time(appointment, "appointment moved to a waitlist offer")
        notices.visit_moved(appointment, now=now, settings=settings)
        offer_freed_block(
            moved.from_chair_id,
            moved.from_start,
            freed_by=patient.id,
            now=now,
            today=today,
            settings=settings,
        )
    else:
        notices.visit_booked_online(appointment, now=now, settings=settings)
    log.info("waitlist offer %s accepted: appointment %s", offer.id, appointment.id)
    return appointment


def staff_lists(now: datetime):
    """The active waitlist (longest waiting first) and the latest offers, for the staff page."""
    entries = list(
        db.session.execute(
            select(WaitlistEntry, Patient, Course)
            .join(Patient, Patient.id == WaitlistEntry.patient_id)
            .outerjoin(Course, Course.id == WaitlistEntry.course_id)
            .where(WaitlistEntry.ended_at.is_(None))
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
            .limit(LISTED_LIMIT)
        )
    )
    offers = db.session.execute(
        select(WaitlistOffer, Patient, Chair)
        .join(Patient, Patient.id == WaitlistOffer.patient_id)
        .join(Chair, Chair.id == WaitlistOffer.chair_id)
        .order_by(WaitlistOffer.created_at.desc(), WaitlistOffer.id.desc())
        .limit(LISTED_LIMIT)
    ).all()
    won = {
        (row.chair_id, row.start_at)
        for row in db.session.execute(
            select(WaitlistOffer.chair_id, WaitlistOffer.start_at).where(
                and_(WaitlistOffer.accepted_at.is_not(None))
            )
        )
    }
    listed = []
    for offer, patient, chair in offers:
        if offer.accepted_at is not None:
            state = "accepted"
        elif (offer.chair_id, offer.start_at) in won:
            state = "taken"
        elif offer.expires_at <= now:
            state = "expired"
        else:
            state = "open"
        listed.append((offer, patient, chair, STATES[state]))
    return entries, listed
