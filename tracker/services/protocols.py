"""Protocols: the shipped templates, saving an edited template, and a course's phases."""

import logging
from dataclasses import dataclass

from sqlalchemy import func, select

from .. import scheduling
from ..extensions import db
from ..models import OPEN_STATES, Course, Protocol, ProtocolPhase
from . import audit
from .errors import RuleError

log = logging.getLogger(__name__)

MAX_PHASES = 8
MAX_PHASE_SPAN = 520  # sessions or weeks (ten years of weeks)
MAX_PHASE_DAYS = 3650
PHASE_FIELDS = (
    "name",
    "rule",
    "unit",
    "first",
    "last",
    "min_days",
    "max_days",
    "advance",
    "returns_on_missed_dose",
)


@dataclass(frozen=True)
class PhasePlan:
    """One phase as an admin typed it (services check it before anything is saved)."""

    name: str
    rule: str
    unit: str
    first: int
    last: int | None
    min_days: int | None
    max_days: int | None
    advance: str
    returns_on_missed_dose: bool = False


# The templates a clinic starts with; every number is the clinic's to edit.
SHIPPED = (
    (
        "Standard course",
        "A series of the course's own size, then a window of its own days.",
        True,
        (
            PhasePlan("Series", "series", "sessions", 1, None, None, None, "count"),
            PhasePlan("Maintenance", "window", "sessions", 1, None, None, None, "count"),
        ),
    ),
    (
        "IV ketamine, CRPS",
        "Ten weekday sessions, then maintenance every 30 to 90 days.",
        False,
        (
            PhasePlan("Series", "series", "sessions", 1, 10, None, None, "count"),
            PhasePlan("Maintenance", "window", "sessions", 11, None, 30, 90, "count"),
        ),
    ),
    (
        "Esketamine, TRD (label)",
        "Twice weekly in weeks 1-4, weekly in weeks 5-8, then every 7 to 14 days.",
        False,
        (
            PhasePlan("Twice weekly", "cadence", "weeks", 1, 4, 3, 4, "time"),
            PhasePlan("Weekly", "cadence", "weeks", 5, 8, 7, 7, "time", True),
            PhasePlan("Every 1-2 weeks", "window", "weeks", 9, None, 7, 14, "time", True),
        ),
    ),
    (
        "Taper",
        "1-2 a week, every other week, monthly three times, then every 3 months.",
        False,
        (
            PhasePlan("1-2 a week", "cadence", "weeks", 1, 4, 3, 7, "time"),
            PhasePlan("Every other week", "cadence", "weeks", 5, 12, 12, 16, "time", True),
            PhasePlan("Monthly", "cadence", "sessions", 1, 3, 28, 35, "count", True),
            PhasePlan("Every 3 months", "window", "sessions", 4, None, 84, 98, "count", True),
        ),
    ),
)


def ensure_templates() -> None:
    """Add the shipped templates to a clinic that has no protocol yet (first use); flush."""
    if db.session.scalar(select(Protocol.id).limit(1)) is not None:
        return
    for name, description, standard, phases in SHIPPED:
        protocol = Protocol(name=name, description=description, standard=standard)
        protocol.phases = [
            _phase_row(position, plan) for position, plan in enumerate(phases, start=1)
        ]
        db.session.add(protocol)
    db.session.flush()


def _phase_row(position: int, plan: PhasePlan) -> ProtocolPhase:
    return ProtocolPhase(position=position, **{name: getattr(plan, name) for name in PHASE_FIELDS})


def standard_protocol() -> Protocol:
    """The standard protocol (the clinic's behaviour before protocols), added on first use."""
    ensure_templates()
    protocol = db.session.scalar(
        select(Protocol).where(Protocol.standard.is_(True)).order_by(Protocol.id).limit(1)
    )
    if protocol is None:
        raise RuleError("The clinic has no standard protocol.", "protocol_id")
    return protocol


def active_protocols() -> list[Protocol]:
    """Protocols a course may be opened on, the standard one first."""
    ensure_templates()
    return list(
        db.session.scalars(
            select(Protocol)
            .where(Protocol.active.is_(True))
            .order_by(Protocol.standard.desc(), Protocol.name)
        )
    )


def check_phases(phases: list[PhasePlan]) -> None:
    """Refuse phases that leave a gap or overlap, have min > max, or cannot be walked.

    Numbers count in the phase's unit from the course's start; a phase whose unit differs from
    the one before it (or follows a series of the course's own size) counts from its own start,
    so it begins at 1. The error names the field as phases-<index>-<name> (0-based).
    """
    if not 1 <= len(phases) <= MAX_PHASES:
        raise RuleError(f"A protocol has between 1 and {MAX_PHASES} phases.", "name")
    for index, phase in enumerate(phases):
        _check_phase(index, phase, last_phase=index == len(phases) - 1)
        expected = _expected_first(phases[index - 1], phase) if index else 1
        if phase.first != expected:
            word = (
                "overlaps the phase before"
                if phase.first < expected
                else "leaves a gap after the phase before"
            )
            raise RuleError(
                f"Starts at {phase.first}, which {word}: start at {expected}.",
                _field(index, "first"),
            )


def _field(index: int, name: str) -> str:
    return f"phases-{index}-{name}"


def _expected_first(before: PhasePlan, phase: PhasePlan) -> int:
    if before.unit != phase.unit or before.last is None:
        return 1
    return before.last + 1


def _check_phase(index: int, phase: PhasePlan, *, last_phase: bool) -> None:
    if phase.rule not in scheduling.PHASE_RULES:
        raise RuleError("Choose series, window or cadence.", _field(index, "rule"))
    if phase.unit not in scheduling.PHASE_UNITS:
        raise RuleError("Choose sessions or weeks.", _field(index, "unit"))
    if phase.advance not in scheduling.PHASE_ADVANCES:
        raise RuleError("Choose count, time or a clinician.", _field(index, "advance"))
    if not 1 <= phase.first <= MAX_PHASE_SPAN:
        raise RuleError(f"Start between 1 and {MAX_PHASE_SPAN}.", _field(index, "first"))
    if phase.last is not None and not phase.first <= phase.last <= MAX_PHASE_SPAN:
        raise RuleError(f"End between the start and {MAX_PHASE_SPAN}.", _field(index, "last"))
    if phase.advance == "count" and phase.unit != "sessions":
        raise RuleError(
            "A phase that ends by count is measured in sessions.", _field(index, "unit")
        )
    if phase.advance == "time" and phase.unit != "weeks":
        raise RuleError("A phase that ends by time is measured in weeks.", _field(index, "unit"))
    if last_phase:
        if phase.last is not None:
            raise RuleError("The last phase runs on: leave its end empty.", _field(index, "last"))
        if phase.rule == "series":
            raise RuleError("The last phase needs a window or cadence.", _field(index, "rule"))
    elif phase.last is None and not (
        phase.rule == "series" and phase.unit == "sessions" or phase.advance == "clinician"
    ):
        raise RuleError(
            "Give the phase an end (only a series may take the course's own size).",
            _field(index, "last"),
        )
    _check_days(index, phase)


def _check_days(index: int, phase: PhasePlan) -> None:
    if phase.rule == "series":
        if phase.min_days is not None or phase.max_days is not None:
            raise RuleError(
                "A series has no window: leave the days empty.", _field(index, "min_days")
            )
        return
    if (phase.min_days is None) != (phase.max_days is None):
        raise RuleError(
            "Give both days, or neither for the course's own days.",
            _field(index, "max_days" if phase.max_days is None else "min_days"),
        )
    if phase.min_days is None or phase.max_days is None:
        return
    if not 0 <= phase.min_days <= MAX_PHASE_DAYS:
        raise RuleError(f"Between 0 and {MAX_PHASE_DAYS} days.", _field(index, "min_days"))
    if phase.max_days < phase.min_days:
        raise RuleError(
            "The window must not close before it opens (max days below min days).",
            _field(index, "max_days"),
        )
    if phase.max_days > MAX_PHASE_DAYS:
        raise RuleError(f"At most {MAX_PHASE_DAYS} days.", _field(index, "max_days"))


def save_protocol(
    protocol: Protocol | None,
    *,
    actor,
    name: str,
    description: str,
    phases: list[PhasePlan],
    active: bool = True,
) -> Protocol:
    """Create or edit a template after checking its phases; flush. Courses already open keep
    walking the phases by position, so an edit applies to them from their next session."""
    name = name.strip()
    if not name:
        raise RuleError("Give the protocol a name.", "name")
    taken = db.session.scalar(select(Protocol.id).where(Protocol.name == name))
    if taken is not None and (protocol is None or taken != protocol.id):
        raise RuleError("Another protocol has this name.", "name")
    check_phases(phases)
    if protocol is not None:
        _check_open_courses_fit(protocol, len(phases))
    action = "create" if protocol is None else "update"
    before = {} if protocol is None else _snapshot(protocol)
    if protocol is None:
        protocol = Protocol(standard=False)
        db.session.add(protocol)
    protocol.name, protocol.description, protocol.active = name, description.strip(), active
    rows = {row.position: row for row in protocol.phases}
    for position, plan in enumerate(phases, start=1):
        row = rows.pop(position, None) or ProtocolPhase(position=position)
        for field in PHASE_FIELDS:
            setattr(row, field, getattr(plan, field))
        if row not in protocol.phases:
            protocol.phases.append(row)
    for row in rows.values():
        protocol.phases.remove(row)
    db.session.flush()
    audit.record(
        actor,
        entity="protocol",
        entity_id=protocol.id,
        patient_id=None,
        action=action,
        before=before,
        after=_snapshot(protocol),
    )
    log.info("protocol %s %s", protocol.id, action)
    return protocol


def _check_open_courses_fit(protocol: Protocol, phases: int) -> None:
    """Refuse to drop a phase an open course is in (or was put in by a clinician)."""
    deepest = db.session.execute(
        select(func.max(Course.phase_position), func.max(Course.phase_entry_position)).where(
            Course.protocol_id == protocol.id, Course.state.in_(OPEN_STATES)
        )
    ).one()
    needed = max(deepest[0] or 0, deepest[1] or 0)
    if needed > phases:
        raise RuleError(
            f"Open courses are in phase {needed} of this protocol: keep at least {needed} phases.",
            None,
        )


def _snapshot(protocol: Protocol) -> dict:
    return {
        "name": protocol.name,
        "description": protocol.description,
        "active": protocol.active,
        "phases": [audit.snapshot(row, PHASE_FIELDS) for row in protocol.phases],
    }


def plans_of(protocol: Protocol) -> list[PhasePlan]:
    """The template's phases as plans (what the edit form starts from)."""
    return [
        PhasePlan(**{name: getattr(row, name) for name in PHASE_FIELDS}) for row in protocol.phases
    ]


def phase_rules(course: Course) -> tuple[scheduling.PhaseRule, ...]:
    """The course's phases with their numbers resolved: the template's, or the course's own
    (series size, min/max days) where the template leaves them empty. The course's own numbers
    always hold for the phase it is in, and its days for the window phase its series leads
    into: a clinician may set them for the patient."""
    if course.protocol is None:
        return scheduling.standard_phases(course.series_planned, course.min_days, course.max_days)
    rows = list(course.protocol.phases)
    days_at = _days_position(rows, course.phase_position)
    rules = []
    for row in rows:
        length = None if row.last is None else row.last - row.first + 1
        if row.rule == "series" and (length is None or row.position == course.phase_position):
            length = course.series_planned
        min_days, max_days = row.min_days, row.max_days
        if row.rule != "series" and (min_days is None or row.position == days_at):
            min_days, max_days = course.min_days, course.max_days
        rules.append(
            scheduling.PhaseRule(
                row.rule,
                row.unit,
                length,
                min_days,
                max_days,
                row.advance,
                row.returns_on_missed_dose,
            )
        )
    return tuple(rules)


def _days_position(rows: list[ProtocolPhase], position: int) -> int | None:
    """The phase whose days are the course's own: the current one, or after a series the next
    phase with a window."""
    for row in rows:
        if row.position >= position and row.rule != "series":
            return row.position
    return None


def entering_numbers(course: Course, position: int, *, opening: bool = False) -> dict:
    """The course's numbers on moving from its phase to phase `position` (or on opening): the
    template's series size for a series, and the days of the window the phase is in or leads
    into when that window is another phase's; empty numbers stay the course's own."""
    if course.protocol is None:
        return {}
    rows = list(course.protocol.phases)
    numbers = {}
    current = next((row for row in rows if row.position == position), None)
    if current is not None and current.rule == "series" and current.last is not None:
        numbers["series_planned"] = current.last - current.first + 1
    days_at = _days_position(rows, position)
    if not opening and days_at == _days_position(rows, course.phase_position):
        return numbers
    days = next((row for row in rows if row.position == days_at), None)
    if days is not None and days.min_days is not None and days.max_days is not None:
        numbers.update(min_days=days.min_days, max_days=days.max_days)
    return numbers


def missed_dose_proposal(course: Course, today) -> int | None:
    """The phase a missed dose proposes returning to today (scheduling.missed_dose_return);
    only for scheduled maintenance, where a window runs."""
    if course.state != "maintenance" or course.mode != "scheduled":
        return None
    return scheduling.missed_dose_return(
        phase_rules(course), course.phase_position, course.anchor_date, today
    )


def phase_name(course: Course) -> str:
    """The name of the phase the course is in."""
    return _name_at(course, course.phase_position)


@dataclass(frozen=True)
class PhaseSummary:
    """What the patient page says about the course's protocol, phase and missed-dose rule."""

    protocol_name: str
    phase_name: str
    position: int
    phases: int
    started_on: object  # date | None
    rule_text: str
    proposal_name: str | None  # the phase a missed dose proposes returning to
    gap_days: int | None
    max_days: int | None
    has_series: bool  # the protocol has a series phase (the page says how far it is)
    next_name: str | None  # the phase a clinician may move the course on to


def rule_text(rule: scheduling.PhaseRule) -> str:
    """The phase's next-session rule in words."""
    if not rule.has_window:
        return "series: no window; interrupted after the clinic's maximum gap"
    days = (
        f"{rule.min_days} days"
        if rule.min_days == rule.max_days
        else f"{rule.min_days} to {rule.max_days} days"
    )
    word = "every" if rule.rule == "cadence" else "window"
    return f"{word} {days} after the last session"


def phase_summary(course: Course, today) -> PhaseSummary:
    """The course's protocol and phase, and any missed-dose proposal today."""
    rules = phase_rules(course)
    current = rules[course.phase_position - 1]
    proposal = missed_dose_proposal(course, today)
    proposal_name = None
    if proposal is not None:
        proposal_name = _name_at(course, proposal)
    gap = (today - course.anchor_date).days if course.anchor_date else None
    return PhaseSummary(
        protocol_name=course.protocol.name if course.protocol else "Standard course",
        phase_name=phase_name(course),
        position=course.phase_position,
        phases=len(rules),
        started_on=course.phase_started_on,
        rule_text=rule_text(current),
        proposal_name=proposal_name,
        gap_days=gap,
        max_days=current.max_days,
        has_series=any(not rule.has_window for rule in rules),
        next_name=_name_at(course, course.phase_position + 1)
        if course.phase_position < len(rules) and course.state == "maintenance"
        else None,
    )


def _name_at(course: Course, position: int) -> str:
    if course.protocol is None:
        return "Series" if position == 1 else "Maintenance"
    for row in course.protocol.phases:
        if row.position == position:
            return row.name or f"Phase {position}"
    return f"Phase {position}"
