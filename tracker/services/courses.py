"""Courses: open, refresh facts from infusions, and the clinician's course actions."""
import logging
from datetime import date

from sqlalchemy import select

from .. import scheduling
from ..extensions import db
from ..models import OPEN_STATES, ClinicSettings, Course, Patient, Protocol
from . import audit, protocols
from .errors import RuleError

log = logging.getLogger(__name__)

MAX_SERIES_PLANNED = 30
MAX_INTERVAL_DAYS = 3650
COURSE_FIELDS = ("state", "mode", "series_planned", "min_days", "max_days", "indication",
                 "series_ended_early", "hold_reason", "resume_on", "discharge_reason", "closed_on",
                 "protocol_id", "phase_position", "phase_entry_position", "phase_entry_on")


def open_course_for(patient_id: int) -> Course | None:
    """The patient's open course (series, maintenance or on hold), if any."""
    return db.session.scalar(
        select(Course).where(Course.patient_id == patient_id, Course.state.in_(OPEN_STATES))
    )


def open_course(patient: Patient, settings: ClinicSettings, *, actor, opened_on: date,
                indication: str = "", series_planned: int | None = None,
                min_days: int | None = None, max_days: int | None = None,
                mode: str = "scheduled", protocol: Protocol | None = None) -> Course:
    """Start a new course on `protocol` (default: the standard one); a patient has at most one
    open course. The protocol's own numbers for its first phase win over the ones given."""
    if open_course_for(patient.id) is not None:
        raise RuleError("This patient already has an open course.", "indication")
    check_series_planned(series_planned or settings.default_series_planned)
    protocol = protocol or protocols.standard_protocol()
    if not protocol.active:
        raise RuleError("This protocol is retired: choose another.", "protocol_id")
    course = Course(
        patient_id=patient.id, indication=indication.strip(), opened_on=opened_on, mode=mode,
        series_planned=series_planned or settings.default_series_planned,
        min_days=settings.default_min_days if min_days is None else min_days,
        max_days=settings.default_max_days if max_days is None else max_days,
        protocol=protocol,
    )
    for name, value in protocols.entering_numbers(course, 1, opening=True).items():
        setattr(course, name, value)
    check_interval(course.min_days, course.max_days)
    if protocol.phases[0].rule != "series":
        course.state = "maintenance"
    db.session.add(course)
    db.session.flush()
    audit.record(actor, entity="course", entity_id=course.id, patient_id=patient.id,
                 action="create", after=audit.snapshot(course, COURSE_FIELDS))
    return course


def check_series_planned(series_planned: int) -> None:
    """1 <= series_planned <= MAX_SERIES_PLANNED, else a RuleError on series_planned."""
    if series_planned is None or not 1 <= series_planned <= MAX_SERIES_PLANNED:
        raise RuleError(f"Plan between 1 and {MAX_SERIES_PLANNED} series infusions.", "series_planned")


def check_interval(min_days: int, max_days: int) -> None:
    """0 <= min_days <= max_days, else a RuleError on the offending field."""
    if min_days is None or min_days < 0:
        raise RuleError("Minimum days must be 0 or more.", "min_days")
    if max_days is None or max_days < min_days:
        raise RuleError("Maximum days must not be less than minimum days.", "max_days")
    if max_days > MAX_INTERVAL_DAYS:
        raise RuleError(f"Maximum days must be at most {MAX_INTERVAL_DAYS}.", "max_days")


def refresh_course(course: Course) -> None:
    """Recompute the course's facts, phase and booster flags from its infusions; flush.

    The qualifying sessions walk the course's phases from where a clinician last put it
    (scheduling.walk_phases): the phase it is in gives the window, and the state (a series
    phase is series_in_progress, a phase with a window maintenance). Booster flags are set
    against the window that was in force before each session; the sessions before a
    clinician's placing keep the flags they had (the walk only anchors with them).
    """
    # An infusion entered in error stays on record but counts for nothing here.
    sessions = sorted((i for i in course.infusions if not i.in_error), key=lambda i: (i.given_on, i.given_at))
    qualifying = [i for i in sessions if i.qualifies]
    rules = protocols.phase_rules(course)
    entry = scheduling.PhaseEntry(course.phase_entry_position, course.phase_entry_on,
                                  course.phase_entry_count)
    walk = scheduling.walk_phases(rules, entry, [i.given_on for i in qualifying])
    for index, (infusion, timing) in enumerate(zip(qualifying, walk.timings, strict=True)):
        if index < entry.count:
            continue
        infusion.is_booster = timing is not None
        infusion.early, infusion.late = timing == "early", timing == "late"
    for infusion in course.infusions:
        if not infusion.qualifies:
            infusion.is_booster = infusion.early = infusion.late = False
    apply_walk(course, walk, rules, qualifying_count=len(qualifying),
               last_qualifying_on=qualifying[-1].given_on if qualifying else None)
    db.session.flush()


def apply_walk(course: Course, walk: scheduling.PhaseWalk,
               rules: tuple[scheduling.PhaseRule, ...], *, qualifying_count: int,
               last_qualifying_on: date | None) -> None:
    """Copy the walk's facts onto the course; a new phase brings its numbers and its state."""
    course.qualifying_count = qualifying_count
    course.last_qualifying_on = last_qualifying_on
    course.anchor_date = walk.anchor_date
    if walk.window is not None:
        course.window_opens, course.window_closes = walk.window.opens, walk.window.closes
    else:
        course.window_opens = course.window_closes = None
    if walk.position != course.phase_position:
        log.info("course %s phase %s -> %s", course.id, course.phase_position, walk.position)
        for name, value in protocols.entering_numbers(course, walk.position).items():
            setattr(course, name, value)
    course.phase_position = walk.position
    course.phase_started_on, course.phase_start_count = walk.phase_started_on, walk.phase_start_count
    if course.state in ("series_in_progress", "maintenance"):
        state = "series_in_progress" if not rules[walk.position - 1].has_window else "maintenance"
        if state != course.state:
            log.info("course %s %s -> %s", course.id, course.state, state)
            course.state = state


def _change(course: Course, actor, action: str, **values) -> Course:
    before = audit.snapshot(course, COURSE_FIELDS)
    for name, value in values.items():
        setattr(course, name, value)
    db.session.flush()
    audit.record(actor, entity="course", entity_id=course.id, patient_id=course.patient_id,
                 action=action, before=before, after=audit.snapshot(course, COURSE_FIELDS))
    log.info("course %s %s", course.id, action)
    return course


def _require_open(course: Course) -> None:
    if course.state not in OPEN_STATES:
        raise RuleError("This course is closed.", None)


def set_interval(course: Course, *, actor, min_days: int, max_days: int) -> Course:
    """Change the patient's min/max days; the window moves with them."""
    _require_open(course)
    check_interval(min_days, max_days)
    _change(course, actor, "update", min_days=min_days, max_days=max_days)
    refresh_course(course)
    return course


def set_mode(course: Course, *, actor, mode: str) -> Course:
    """Scheduled maintenance (a window) or as needed (never due)."""
    _require_open(course)
    if mode not in ("scheduled", "as_needed"):
        raise RuleError("Choose scheduled or as needed.", "mode")
    return _change(course, actor, "update", mode=mode)


def set_series_planned(course: Course, *, actor, series_planned: int) -> Course:
    """Change the planned number of series infusions while the series runs."""
    if course.state != "series_in_progress":
        raise RuleError("The series is already complete.", "series_planned")
    check_series_planned(series_planned)
    _change(course, actor, "update", series_planned=series_planned)
    refresh_course(course)
    return course


def end_series_early(course: Course, *, actor) -> Course:
    """A clinician ends the series before the planned count; maintenance starts."""
    if course.state != "series_in_progress":
        raise RuleError("Only a series in progress can be ended early.", None)
    if course.qualifying_count < 1:
        raise RuleError("Record at least one qualifying infusion before ending the series.", None)
    # The plan shrinks to what was given, so later infusions count as boosters; the next phase
    # is where the clinician put the course, even if a session is later entered in error.
    _change(course, actor, "end_series_early", series_ended_early=True,
            series_planned=course.qualifying_count,
            phase_entry_position=min(course.phase_position + 1, len(protocols.phase_rules(course))),
            phase_entry_on=course.last_qualifying_on, phase_entry_count=course.qualifying_count)
    refresh_course(course)
    return course


def advance_phase(course: Course, *, actor, today: date) -> Course:
    """A clinician ends the current window phase: the course walks on from the next phase,
    starting today, with that phase's numbers (a series ends by end_series_early)."""
    _require_open(course)
    if course.state != "maintenance":
        raise RuleError("Only a course in a phase with a window moves on this way.", None)
    position = course.phase_position + 1
    if position > len(protocols.phase_rules(course)):
        raise RuleError("This is the protocol's last phase.", None)
    return _enter_phase(course, actor, "advance_phase", position, today)


def _enter_phase(course: Course, actor, action: str, position: int, today: date) -> Course:
    """Put the course in phase `position` from today (a clinician's action), then refresh."""
    _change(course, actor, action, **protocols.entering_numbers(course, position),
            phase_entry_position=position, phase_entry_on=today,
            phase_entry_count=course.qualifying_count, phase_position=position)
    refresh_course(course)
    return course


def return_to_previous_phase(course: Course, *, actor, today: date) -> Course:
    """A clinician confirms the missed-dose proposal: the course walks on from the phase before
    its current one, starting today, with that phase's numbers."""
    _require_open(course)
    position = protocols.missed_dose_proposal(course, today)
    if position is None:
        raise RuleError("There is no missed dose to act on now.", None)
    return _enter_phase(course, actor, "return_to_phase", position, today)


def hold(course: Course, *, actor, reason: str, resume_on: date | None = None,
         today: date | None = None) -> Course:
    """Put the course on hold: no due calculation until resumed, or until `resume_on` (a day
    after `today`), from which the patient is back on the worklist by themselves."""
    _require_open(course)
    if course.state == "on_hold":
        raise RuleError("The course is already on hold.", None)
    if not reason.strip():
        raise RuleError("Say why the course is on hold.", "reason")
    if resume_on is not None and (today is None or resume_on <= today):
        raise RuleError("Choose a day after today, or leave it empty to resume by hand.",
                        "resume_on")
    return _change(course, actor, "hold", state_before_hold=course.state, state="on_hold",
                   hold_reason=reason.strip()[:200], resume_on=resume_on)


def hold_has_ended(course: Course, today: date) -> bool:
    """The course is on hold with a resume date that has come (scheduling.course_status)."""
    return course.state == "on_hold" and course.resume_on is not None and course.resume_on <= today


def resume(course: Course, *, actor) -> Course:
    """Take the course off hold, back to where it was."""
    if course.state != "on_hold":
        raise RuleError("The course is not on hold.", None)
    state = course.state_before_hold or "maintenance"
    return _change(course, actor, "resume", state=state, state_before_hold=None, hold_reason=None,
                   resume_on=None)


def discharge(course: Course, *, actor, on: date, reason: str) -> Course:
    """End the course: no more windows or reminders."""
    _require_open(course)
    if not reason.strip():
        raise RuleError("Say why the patient is discharged.", "reason")
    return _change(course, actor, "discharge", state="discharged", closed_on=on,
                   discharge_reason=reason.strip()[:200])


def restart_series(course: Course, *, actor, on: date, settings: ClinicSettings) -> Course:
    """Close an interrupted course and open a new series for the same indication."""
    if course.state != "series_in_progress":
        raise RuleError("Only a series in progress can be restarted.", None)
    _change(course, actor, "restart", state="discharged", closed_on=on,
            discharge_reason="series restarted")
    patient = db.session.get_one(Patient, course.patient_id)
    return open_course(patient, settings, actor=actor, opened_on=on, indication=course.indication,
                       series_planned=course.series_planned, min_days=course.min_days,
                       max_days=course.max_days, mode=course.mode, protocol=course.protocol)
