"""The pre-visit checklist: the clinic's items per appointment type, the answers for each
appointment (staff by phone, or the patient from the visit link), and the state the day sheet
and check-in show. Every answer is audited with who gave it (a staff member or "patient")."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import ACTIVE_STATUSES, Appointment, AppointmentType, ChecklistAnswer, ChecklistItem
from ..models.checklist import DRIVER_NAME_MAX, LABEL_MAX, PROMPT_MAX
from ..models.types import utcnow
from . import audit
from .errors import RuleError

log = logging.getLogger(__name__)

# The items a new appointment type starts with (and existing ones got by migration): neutral
# words only, as patients read them in plain email and on shared screens. The clinic edits them.
DEFAULT_ITEMS = (
    (
        "Fasting",
        "I will have nothing to eat for 6 hours before my visit (clear drinks until 2 hours before).",
        False,
    ),
    ("Driver", "An adult will take me home after my visit.", True),
    (
        "Medicine holds",
        "I have paused the medicines the clinic asked me to pause before my visit.",
        False,
    ),
    ("No alcohol", "I will have no alcohol for 24 hours before my visit.", False),
)
# A phone number as people write it: digits with spaces, dots, dashes, brackets, a leading +.
PHONE_SHAPE = re.compile(r"\+?[0-9 ().-]+")
PHONE_DIGITS = (7, 15)
ITEM_FIELDS = ("appointment_type_id", "position", "label", "prompt", "asks_driver", "active")
ANSWER_FIELDS = ("answer", "driver_name", "driver_phone")


@dataclass(frozen=True)
class Answer:
    """One answer as given: yes or no, and for a driver item the driver's name and phone."""

    answer: bool
    driver_name: str = ""
    driver_phone: str = ""


@dataclass(frozen=True)
class ChecklistState:
    """An appointment's checklist in brief: how many items, answered yes, answered no."""

    total: int
    yes: int
    no: int
    no_driver: bool

    @property
    def answered(self) -> int:
        return self.yes + self.no

    @property
    def summary(self) -> str:
        """The compact state the day sheet shows: "checklist 3 of 4" or "no driver"."""
        if self.no_driver:
            return "no driver"
        return f"checklist {self.yes} of {self.total}"


def answer_field(item_id: int, part: str = "answer") -> str:
    """The form field name of an item's answer, driver name or driver phone."""
    return f"{part}_{item_id}"


def phone_problem(phone: str) -> str | None:
    """Why a driver's phone number is not one, or None when it has the shape of one."""
    digits = sum(ch.isdigit() for ch in phone)
    if not PHONE_SHAPE.fullmatch(phone) or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]:
        return (
            f"Enter a phone number of {PHONE_DIGITS[0]} to {PHONE_DIGITS[1]} digits "
            "(spaces, dashes, brackets and a leading + are fine)."
        )
    return None


def items_for(appointment_type_id: int, *, active_only: bool = True) -> list[ChecklistItem]:
    """The type's items in order."""
    statement = select(ChecklistItem).where(
        ChecklistItem.appointment_type_id == appointment_type_id
    )
    if active_only:
        statement = statement.where(ChecklistItem.active.is_(True))
    return list(db.session.scalars(statement.order_by(ChecklistItem.position, ChecklistItem.id)))


def seed_defaults(appointment_type: AppointmentType) -> list[ChecklistItem]:
    """Give a type the default items when it has none (a new type, a new clinic)."""
    if items_for(appointment_type.id, active_only=False):
        return []
    items = [
        ChecklistItem(
            appointment_type_id=appointment_type.id,
            position=position,
            label=label,
            prompt=prompt,
            asks_driver=asks_driver,
        )
        for position, (label, prompt, asks_driver) in enumerate(DEFAULT_ITEMS, start=1)
    ]
    db.session.add_all(items)
    db.session.flush()
    return items


def save_item(item: ChecklistItem | None, values: Mapping, *, actor) -> ChecklistItem:
    """Add an item (None) or change one; a label and a question are needed."""
    values = dict(values)
    values["label"] = (values.get("label") or "").strip()
    values["prompt"] = (values.get("prompt") or "").strip()
    if not values["label"]:
        raise RuleError("Enter a short label for staff.", "label")
    if len(values["label"]) > LABEL_MAX:
        raise RuleError(f"Keep the label to {LABEL_MAX} characters.", "label")
    if not values["prompt"]:
        raise RuleError("Enter the question the patient answers.", "prompt")
    if len(values["prompt"]) > PROMPT_MAX:
        raise RuleError(f"Keep the question to {PROMPT_MAX} characters.", "prompt")
    if (
        item is None
        and db.session.get(AppointmentType, values.get("appointment_type_id") or 0) is None
    ):
        raise RuleError("Choose an appointment type.", "appointment_type_id")
    before = audit.snapshot(item, ITEM_FIELDS) if item else None
    if item is None:
        item = ChecklistItem(**values)
        db.session.add(item)
    else:
        values.pop("appointment_type_id", None)  # an item stays with its type
        for name, value in values.items():
            setattr(item, name, value)
    db.session.flush()
    audit.record(
        actor,
        entity="checklist_item",
        entity_id=item.id,
        patient_id=None,
        action="update" if before else "create",
        before=before,
        after=audit.snapshot(item, ITEM_FIELDS),
    )
    return item


def answerable(appointment: Appointment) -> bool:
    """Answers are taken while the visit is still to come (booked or not yet confirmed, or arrived
    at check-in)."""
    return appointment.status in ACTIVE_STATUSES


def _checked(item: ChecklistItem, given: Answer) -> Answer:
    if not (item.asks_driver and given.answer):
        return Answer(given.answer)
    name = (given.driver_name or "").strip()
    phone = (given.driver_phone or "").strip()
    if not name:
        raise RuleError(
            "Enter the name of the person taking you home.", answer_field(item.id, "driver_name")
        )
    if len(name) > DRIVER_NAME_MAX:
        raise RuleError(
            f"Keep the name to {DRIVER_NAME_MAX} characters.", answer_field(item.id, "driver_name")
        )
    problem = phone_problem(phone)
    if problem:
        raise RuleError(problem, answer_field(item.id, "driver_phone"))
    return Answer(True, name, phone)


def record_answers(appointment: Appointment, answers: Mapping[int, Answer], *, actor) -> int:
    """Store the answers given (item id -> Answer) and audit each change; the number changed.

    An item of another appointment type, or a retired one, is refused and nothing is stored.
    """
    if not answerable(appointment):
        raise RuleError("This visit is no longer open for answers.")
    items = {item.id: item for item in items_for(appointment.appointment_type_id)}
    unknown = [item_id for item_id in answers if item_id not in items]
    if unknown:
        raise RuleError(
            "An answer was for a question not asked before this visit; nothing was saved."
        )
    checked = {item_id: _checked(items[item_id], given) for item_id, given in answers.items()}
    stored = {
        row.item_id: row
        for row in db.session.scalars(
            select(ChecklistAnswer).where(ChecklistAnswer.appointment_id == appointment.id)
        )
    }
    _, label = audit.actor_fields(actor)
    changed = 0
    for item_id, given in checked.items():
        row = stored.get(item_id)
        after = {
            "answer": given.answer,
            "driver_name": given.driver_name or None,
            "driver_phone": given.driver_phone or None,
        }
        before = audit.snapshot(row, ANSWER_FIELDS) if row else None
        if before == after:
            continue
        if row is None:
            row = ChecklistAnswer(appointment_id=appointment.id, item_id=item_id, **after)
            db.session.add(row)
        else:
            for name, value in after.items():
                setattr(row, name, value)
        row.answered_by = label
        row.answered_at = utcnow()
        db.session.flush()
        audit.record(
            actor,
            entity="checklist_answer",
            entity_id=row.id,
            patient_id=appointment.patient_id,
            action="update" if before else "create",
            before=before,
            after={"appointment_id": appointment.id, "item": items[item_id].label, **after}
            if before is None
            else after,
        )
        changed += 1
    log.info("checklist answers for appointment %s: %s changed", appointment.id, changed)
    return changed


def answers_for(appointment_id: int) -> dict[int, ChecklistAnswer]:
    """The stored answers of one appointment by item id."""
    return {
        row.item_id: row
        for row in db.session.scalars(
            select(ChecklistAnswer).where(ChecklistAnswer.appointment_id == appointment_id)
        )
    }


def states_for(appointments: Iterable[Appointment]) -> dict[int, ChecklistState]:
    """The checklist state of each appointment whose type has items: two queries in all,
    whatever the number of appointments (none included, so a page's count stays the same)."""
    appointments = list(appointments)
    type_ids = {a.appointment_type_id for a in appointments}
    items: dict[int, list[ChecklistItem]] = {}
    for item in db.session.scalars(
        select(ChecklistItem).where(
            ChecklistItem.appointment_type_id.in_(type_ids), ChecklistItem.active.is_(True)
        )
    ):
        items.setdefault(item.appointment_type_id, []).append(item)
    given: dict[int, dict[int, bool]] = {}
    for appointment_id, item_id, answer in db.session.execute(
        select(
            ChecklistAnswer.appointment_id, ChecklistAnswer.item_id, ChecklistAnswer.answer
        ).where(ChecklistAnswer.appointment_id.in_([a.id for a in appointments]))
    ):
        given.setdefault(appointment_id, {})[item_id] = answer
    states = {}
    for appointment in appointments:
        asked = items.get(appointment.appointment_type_id)
        if not asked:
            continue
        answers = given.get(appointment.id, {})
        yes = sum(1 for item in asked if answers.get(item.id) is True)
        no = sum(1 for item in asked if answers.get(item.id) is False)
        no_driver = any(item.asks_driver and answers.get(item.id) is False for item in asked)
        states[appointment.id] = ChecklistState(len(asked), yes, no, no_driver)
    return states
