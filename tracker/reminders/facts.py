"""What a claimed batch of reminders needs to know, loaded in a few queries, and what to do
with each row: send it (and the email to send), or skip or cancel it with the reason."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Course, Patient, Reminder, User
from . import check_ins, messages, notices, offers, reactivation
from .clock import Clock
from .digest import Digest, build_digest
from .planning import BOOKING_KINDS, WINDOW_KINDS, booked_courses, by_id, stale_reason


def consent_problem(patient: Patient | None) -> str | None:
    """Why a patient may not be emailed, or None."""
    if patient is None:
        return "patient removed"
    if not patient.email_consent:
        return "no email consent"
    if not patient.email:
        return "no email address"
    if patient.email_opt_out_at is not None:
        return "opted out"
    return None


@dataclass
class BatchFacts:
    """Reminders with their patients, appointments, courses, staff and which courses are booked."""

    reminders: dict[int, Reminder]
    courses: dict[int, Course]
    users: dict[int, User]
    digests: dict = field(default_factory=dict)  # shared by a sweep: clinic-local day -> Digest
    booked: set[int] | None = None  # ids of booked courses, read at the first verdict

    @classmethod
    def load(cls, ids, clock: Clock, digests: dict | None = None) -> "BatchFacts":
        """Everything the rows `ids` need, in three queries whatever the batch size (and one more,
        for which courses are booked, at the first verdict)."""
        rows = db.session.scalars(
            select(Reminder).where(Reminder.id.in_(list(ids)))
            .options(joinedload(Reminder.patient), joinedload(Reminder.appointment))
        ).all()
        return cls(reminders={r.id: r for r in rows},
                   courses=by_id(Course, {r.course_id for r in rows if r.course_id}),
                   users=by_id(User, {r.user_id for r in rows if r.user_id}),
                   digests={} if digests is None else digests)

    def verdict(self, reminder: Reminder, clock: Clock, settings) -> tuple[str, str] | None:
        """(status, reason) when the row must not go out; None when it should."""
        if self.booked is None:  # one query for the batch (the settings arrive with the verdict)
            self.booked = booked_courses(
                [r.course_id for r in self.reminders.values() if r.kind in BOOKING_KINDS and r.course_id],
                clock, settings)
        verdict = stale_reason(reminder, course=self.courses.get(reminder.course_id),
                               appointment=reminder.appointment, user=self.users.get(reminder.user_id),
                               booked=reminder.course_id in self.booked, clock=clock,
                               settings=settings)
        if verdict is None and reminder.kind != "staff_digest":
            problem = consent_problem(reminder.patient)
            if problem is None and reminder.kind == reactivation.KIND:
                problem = reactivation.stopped_problem(reminder.patient)
            if problem:
                verdict = ("skipped", problem)
            elif reminder.kind == offers.KIND:
                verdict = offers.offer_verdict(reminder, clock)
        return verdict

    def digest(self, clock: Clock, settings) -> Digest:
        """Today's worklist digest, built once per sweep for every front-desk recipient."""
        if clock.today not in self.digests:
            self.digests[clock.today] = build_digest(clock, settings)
        return self.digests[clock.today]

    def compose(self, reminder: Reminder, clock: Clock, settings):
        """The email for a row; None when there is nothing to say (an empty digest)."""
        if reminder.kind in WINDOW_KINDS:
            return messages.window_message(reminder, patient=reminder.patient,
                                           course=self.courses[reminder.course_id], settings=settings)
        if reminder.kind == "appointment":
            return messages.appointment_message(reminder, patient=reminder.patient,
                                                appointment=reminder.appointment, settings=settings)
        if reminder.kind == offers.KIND:
            return offers.offer_message(reminder, patient=reminder.patient, settings=settings)
        if reminder.kind == reactivation.KIND:
            return reactivation.reactivation_message(reminder, patient=reminder.patient,
                                                     course=self.courses[reminder.course_id], settings=settings)
        if reminder.kind == check_ins.KIND:
            return check_ins.check_in_message(reminder, patient=reminder.patient,
                                              course=self.courses[reminder.course_id], settings=settings)
        if reminder.kind in notices.NOTICE_KINDS:
            return notices.notice_message(reminder, patient=reminder.patient, appointment=reminder.appointment,
                                          clock=clock, settings=settings)
        digest = self.digest(clock, settings)
        if not digest.has_news:
            return None
        return messages.digest_message(user=self.users[reminder.user_id], digest=digest, settings=settings)
