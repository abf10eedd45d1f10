"""Moving a booked visit to another time or chair, in place.

The appointment keeps its id and its calendar UID, and its SEQUENCE grows, so the patient's
calendar replaces the event instead of showing two. The move is one history row and one audit
event ("moved from ... to ..."); the whole move is checked before anything changes, so a refused
move leaves the visit exactly as it was. The view commits, then may tell the patient about the
returned Move.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from ... import booking
from ...database import lock_for_write
from ...extensions import db
from ...models import Appointment, AppointmentStatusChange, AppointmentType, Chair, User, utcnow
from .. import audit
from ..clinic import clinic_zone
from ..errors import RuleError
from .bookings import (
    APPOINTMENT_FIELDS,
    actor_id,
    check_parts,
    flush_chair_guarded,
    lock_chairs,
    lock_people,
)
from .slots import active_blocks, clinic_rules, length_of
from .transitions import can_reschedule

log = logging.getLogger(__name__)

MOVE_REASON_LABELS = {"patient": "The patient asked", "clinic": "The clinic asked"}
MOVE_FIELDS = (*APPOINTMENT_FIELDS, "sequence")


@dataclass(frozen=True)
class Move:
    """What moved: the visit (already at its new time) and where it was before."""

    appointment: Appointment
    from_start: datetime
    from_end: datetime
    from_chair_id: int
    from_status: str

    @property
    def kept_confirmed(self) -> bool:
        """The visit was confirmed and still is."""
        return self.from_status == "booked" and self.appointment.status == "booked"


def move_appointment(
    appointment: Appointment,
    *,
    chair: Chair,
    start_at: datetime,
    actor,
    reason: str,
    patient_agreed: bool,
    appointment_type: AppointmentType | None = None,
    clinician: User | None = None,
    now: datetime | None = None,
) -> Move:
    """Move a booked visit to a new chair time after checking every rule; RuleError otherwise.

    The visit's own old block does not stand in its way (later the same day, the same chair).
    `patient_agreed` (on the phone, at the desk) keeps it confirmed; otherwise it waits for a
    new confirmation.
    """
    now = now or utcnow()
    if not can_reschedule(appointment):
        raise RuleError("Only a booked appointment can be moved.", None)
    if reason not in MOVE_REASON_LABELS:
        raise RuleError("Choose who asked for the change.", "reason")
    kind = appointment_type or db.session.get(AppointmentType, appointment.appointment_type_id)
    assert kind is not None
    check_parts(kind, chair, clinician)
    clinician_id = clinician.id if clinician is not None else None
    lock_for_write(db.session)
    lock_people(appointment.patient_id, clinician_id)
    lock_chairs([chair.id])
    length = length_of(kind)
    end_at = booking.block_end(start_at, length.total_min)
    if (start_at, chair.id, kind.id) == (
        appointment.start_at,
        appointment.chair_id,
        appointment.appointment_type_id,
    ):
        raise RuleError("That is the time it already has; choose another.", "slot")
    local_day = booking.wall(start_at, clinic_zone()).date()
    blocks = active_blocks(
        start_at,
        end_at,
        chair_id=chair.id,
        patient_id=appointment.patient_id,
        clinician_id=clinician_id,
        exclude_id=appointment.id,
    )
    refusal = booking.check_block(
        chair_id=chair.id,
        start=start_at,
        length=length,
        patient_id=appointment.patient_id,
        clinician_id=clinician_id,
        blocks=blocks,
        rules=clinic_rules(local_day, local_day),
        now=now,
    )
    if refusal is not None:
        raise RuleError(refusal.message, refusal.field)
    before = audit.snapshot(appointment, MOVE_FIELDS)
    moved = Move(
        appointment,
        appointment.start_at,
        appointment.end_at,
        appointment.chair_id,
        appointment.status,
    )
    _apply(appointment, chair, kind, clinician_id, start_at, end_at, patient_agreed)
    db.session.add(
        AppointmentStatusChange(
            appointment_id=appointment.id,
            from_status=moved.from_status,
            to_status=appointment.status,
            reason=reason,
            user_id=actor_id(actor),
            at=now,
            moved_from_at=moved.from_start,
            moved_to_at=start_at,
            moved_from_chair_id=moved.from_chair_id,
            moved_to_chair_id=chair.id,
        )
    )
    audit.record(
        actor,
        entity="appointment",
        entity_id=appointment.id,
        patient_id=appointment.patient_id,
        action="move",
        before=before,
        after=audit.snapshot(appointment, MOVE_FIELDS),
    )
    log.info("appointment %s moved to chair %s", appointment.id, chair.id)
    return moved


def _apply(appointment, chair, kind, clinician_id, start_at, end_at, patient_agreed) -> None:
    """Write the new time; PostgreSQL's exclusion constraint is the last guard on the chair."""

    def change() -> None:
        appointment.chair_id = chair.id
        appointment.appointment_type_id = kind.id
        appointment.clinician_id = clinician_id
        appointment.start_at = start_at
        appointment.end_at = end_at
        appointment.status = "booked" if patient_agreed else "pending"
        appointment.sequence = (appointment.sequence or 0) + 1
        appointment.moves = (appointment.moves or 0) + 1

    flush_chair_guarded(change)
