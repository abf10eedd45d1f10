"""The bulk path: course facts and booster flags for many patients, inserted in batches.

The rules are those of services.courses.refresh_course (scheduling.walk_phases through the
standard course's phases, for the facts and the booster flags), applied to compact arrays
instead of ORM objects so that a million infusions fit in little memory. Imported courses are
on the standard course (no protocol row needed: a course without one walks the same phases).
"""
from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from operator import itemgetter

from sqlalchemy import select

from .. import scheduling, search_keys
from ..models import Course, Patient

BOOSTER, EARLY, LATE = 1, 2, 4
_SEQ_BITS, _MINUTE_BITS = 32, 11
_ORDINAL_SHIFT = _SEQ_BITS + _MINUTE_BITS
_SEQ_MASK = (1 << _SEQ_BITS) - 1
BATCH = 2000


@dataclass(frozen=True)
class CoursePlan:
    """The stored facts of one patient's course once all its sessions are known."""

    state: str
    opened_on: date
    qualifying_count: int
    last_qualifying_on: date | None
    anchor_date: date | None
    window_opens: date | None
    window_closes: date | None
    phase_position: int = 1
    phase_started_on: date | None = None
    phase_start_count: int = 0


class CoursePlanner:
    """Collects each patient's qualifying sessions, then computes facts and booster flags.

    A session is packed into one 64-bit integer (local date, minute of the day, sequence
    number), so sorting a patient's array sorts by (given_on, time, input order) like
    refresh_course does. Flags are kept per sequence number in a bytearray.
    """

    def __init__(self, patients: int):
        self.sessions: list[array | None] = [None] * patients
        self.first_on = array("l", [0]) * patients
        self.flags = bytearray()

    def add(self, patient: int, given_on: date, minute: int, seq: int, qualifies: bool) -> None:
        """Note one session of a patient; only qualifying ones shape the course."""
        ordinal = given_on.toordinal()
        if self.first_on[patient] == 0 or ordinal < self.first_on[patient]:
            self.first_on[patient] = ordinal
        if not qualifies:
            return
        sessions = self.sessions[patient]
        if sessions is None:
            sessions = self.sessions[patient] = array("q")
        sessions.append((ordinal << _ORDINAL_SHIFT) | (minute << _SEQ_BITS) | seq)

    def plan(self, patient: int, *, series_planned: int, min_days: int, max_days: int,
             today: date) -> CoursePlan:
        """Facts for the patient's course; booster flags are recorded for flags_for()."""
        packed = sorted(self.sessions[patient] or ())
        self.sessions[patient] = None  # done with it: give the memory back
        days = [date.fromordinal(key >> _ORDINAL_SHIFT) for key in packed]
        phases = scheduling.standard_phases(series_planned, min_days, max_days)
        walk = scheduling.walk_phases(phases, scheduling.PhaseEntry(1), days)
        for key, timing in zip(packed, walk.timings, strict=True):
            if timing is not None:
                self._set_flags(key & _SEQ_MASK, BOOSTER | (EARLY if timing == "early" else 0)
                                | (LATE if timing == "late" else 0))
        first = self.first_on[patient]
        window = walk.window
        return CoursePlan(
            state="maintenance" if phases[walk.position - 1].has_window else "series_in_progress",
            opened_on=date.fromordinal(first) if first else today,
            qualifying_count=len(days),
            last_qualifying_on=days[-1] if days else None, anchor_date=walk.anchor_date,
            window_opens=window.opens if window else None,
            window_closes=window.closes if window else None,
            phase_position=walk.position, phase_started_on=walk.phase_started_on,
            phase_start_count=walk.phase_start_count,
        )

    def _set_flags(self, seq: int, flags: int) -> None:
        if seq >= len(self.flags):
            self.flags.extend(bytes(seq - len(self.flags) + 65536))
        self.flags[seq] = flags

    def flags_for(self, seq: int) -> dict:
        """is_booster / early / late for the session with this sequence number."""
        flags = self.flags[seq] if seq < len(self.flags) else 0
        return {"is_booster": bool(flags & BOOSTER), "early": bool(flags & EARLY),
                "late": bool(flags & LATE)}


def course_row(patient_id: int, plan: CoursePlan, *, indication: str, mode: str,
               series_planned: int, min_days: int, max_days: int) -> dict:
    """Column values of a new course from its plan."""
    return {
        "patient_id": patient_id, "indication": indication, "state": plan.state, "mode": mode,
        "series_planned": series_planned, "min_days": min_days, "max_days": max_days,
        "opened_on": plan.opened_on, "closed_on": None, "series_ended_early": False,
        "hold_reason": None, "state_before_hold": None, "discharge_reason": None,
        "qualifying_count": plan.qualifying_count, "last_qualifying_on": plan.last_qualifying_on,
        "anchor_date": plan.anchor_date, "window_opens": plan.window_opens,
        "window_closes": plan.window_closes, "phase_position": plan.phase_position,
        "phase_started_on": plan.phase_started_on, "phase_start_count": plan.phase_start_count,
    }


def insert_patients(session, rows: list[dict]) -> list[int]:
    """Insert new patients with their search keys; their ids in the order given (by MRN, unique)."""
    rows = [{**row, **search_keys.key_values(row["first_name"], row["last_name"], row["mrn"],
                                             row.get("phone"), row.get("email"))} for row in rows]
    insert_rows(session, Patient, rows)
    mrns = [row["mrn"] for row in rows]
    ids = dict(session.execute(select(Patient.mrn, Patient.id).where(Patient.mrn.in_(mrns))).all())
    return [ids[mrn] for mrn in mrns]


def insert_courses(session, rows: list[dict]) -> list[int]:
    """Insert the first course of new patients; the course ids in the order given."""
    insert_rows(session, Course, rows)
    patient_ids = [row["patient_id"] for row in rows]
    ids = dict(session.execute(
        select(Course.patient_id, Course.id).where(Course.patient_id.in_(patient_ids))).all())
    return [ids[patient_id] for patient_id in patient_ids]


def insert_rows(session, model, rows: list[dict]) -> None:
    """Insert rows without ORM objects: COPY on PostgreSQL, one DBAPI executemany elsewhere.

    Each value goes through its column type's own bind processor, so what is stored is
    exactly what an ORM insert would store (UTC instants, SQLite date text, ...).
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    table = model.__table__
    names = list(rows[0])
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    processed = [(index, process) for index, process in enumerate(processors) if process is not None]
    take = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))

    def convert(row: dict) -> tuple:
        values = take(row)  # a tuple, in C; only the columns with a processor are revisited
        if not processed:
            return values
        values = list(values)
        for index, process in processed:
            if values[index] is not None:
                values[index] = process(values[index])
        return tuple(values)

    values = map(convert, rows)
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            with cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({', '.join([placeholder] * len(names))})",
        list(values))


def batched(rows: Iterable, size: int = BATCH):
    """Lists of at most `size` items."""
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

