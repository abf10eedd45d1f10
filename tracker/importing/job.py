"""Importing patients.csv and infusions.csv: check everything first, then insert in bulk.

Both files are read once, streaming: the check pass checks every cell, collects each
patient's qualifying sessions for the bulk planner, and keeps the checked values compactly
(patients as tuples, infusions as typed arrays: a few dozen bytes a row). Only when no
problem was found does load() insert patients, their courses (facts from the planner) and
the infusions, in batches, inside the caller's transaction. Nothing is committed here.
"""
from __future__ import annotations

import logging
from array import array
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..models import OUTCOMES, Infusion, Patient
from ..services import audit
from ..services.infusions import total_mg
from ..validators import normalized_name
from .bulk import CoursePlanner, batched, course_row, insert_courses, insert_patients, insert_rows
from .checks import INFUSION_COLUMNS, PATIENT_COLUMNS, CheckContext, check_infusion, check_patient
from .reader import CsvFile, Problem

log = logging.getLogger(__name__)
MRN_LOOKUP_CHUNK = 500
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
PATIENT_FIELDS = ("mrn", "first_name", "last_name", "date_of_birth", "email", "phone",
                  "email_consent", "indication", "series_planned", "min_days", "max_days", "mode")


@dataclass(frozen=True)
class ImportSummary:
    """What an import added."""

    patients: int
    infusions: int
    in_series: int
    in_maintenance: int
    boosters: int
    early_boosters: int


class ClinicImport:
    """One import of a patients file and an infusions file (see SPEC.md, CSV import)."""

    def __init__(self, patients_path: str, infusions_path: str, *, settings, today: date,
                 now: datetime, progress: Callable[[int], None] | None = None):
        self.patients = CsvFile(patients_path, PATIENT_COLUMNS, 0, progress)
        self.infusions = CsvFile(infusions_path, INFUSION_COLUMNS, 1, progress)
        self.context = CheckContext(
            today=today, now=now, zone=ZoneInfo(settings.timezone),
            default_min_days=settings.default_min_days,
            default_max_days=settings.default_max_days,
            max_dose_mg_per_kg=Decimal(settings.max_dose_mg_per_kg),
        )
        self.index: dict[str, int] = {}  # MRN -> patient number (row order in the file)
        self.lines = array("l")
        self.birth_ordinals = array("l")
        self.planner: CoursePlanner | None = None
        self.checked = False
        self.patient_values: list[tuple] = []  # PATIENT_FIELDS of each row, in file order
        self.sessions = _Sessions()

    @property
    def total_bytes(self) -> int:
        """Both files' sizes (one pass)."""
        return self.patients.size + self.infusions.size

    def check(self, session) -> list[Problem]:
        """First pass: every problem of both files, sorted by file and line."""
        problems: list[Problem] = []
        patients_readable = self._check_patients(session, problems)
        self.planner = CoursePlanner(len(self.lines))
        self._check_infusions(problems, patients_readable)
        self.checked = True
        return sorted(problems, key=lambda p: (p.file_order, p.line))  # stable: columns stay in order

    def _check_patients(self, session, problems: list[Problem]) -> bool:
        for line, cells in self.patients.records(problems):
            values, row_problems = check_patient(cells, self.context)
            self.patient_values.append(tuple(values[name] for name in PATIENT_FIELDS))
            problems.extend(self.patients.problem(line, c, m) for c, m in row_problems)
            mrn = values["mrn"]
            if mrn and mrn in self.index:
                first = self.lines[self.index[mrn]]
                problems.append(self.patients.problem(line, "mrn", f"repeated MRN (first on line {first})"))
            elif mrn:
                self.index[mrn] = len(self.lines)
            self.lines.append(line)
            dob = values["date_of_birth"]
            self.birth_ordinals.append(dob.toordinal() if dob else 0)
        self._check_known_mrns(session, problems)
        return not any(p.file_order == 0 and (p.line == 1 or p.column == "(file)") for p in problems)

    def _check_known_mrns(self, session, problems: list[Problem]) -> None:
        mrns = list(self.index)
        for start in range(0, len(mrns), MRN_LOOKUP_CHUNK):
            chunk = mrns[start:start + MRN_LOOKUP_CHUNK]
            for mrn in session.scalars(select(Patient.mrn).where(Patient.mrn.in_(chunk))):
                line = self.lines[self.index[mrn]]
                problems.append(self.patients.problem(line, "mrn", "MRN already in the database"))

    def _check_infusions(self, problems: list[Problem], patients_readable: bool) -> None:
        for line, cells, patient, values in self._infusion_rows(problems, patients_readable):
            if patient is not None and values is not None:
                self.planner.add(patient, values["given_on"], values["minute"], line,
                                 values["outcome"] == "completed")
                self.sessions.add(line, patient, values)

    def _infusion_rows(self, problems: list[Problem], patients_readable: bool = True):
        """(line, cells, patient number or None, values or None when the row has problems)."""
        for line, cells in self.infusions.records(problems):
            patient = self.index.get(normalized_name(cells["mrn"]))
            birth = self.birth_ordinals[patient] if patient is not None else 0
            values, row_problems = check_infusion(
                cells, self.context, known=patient is not None or not patients_readable,
                date_of_birth=date.fromordinal(birth) if birth else None)
            problems.extend(self.infusions.problem(line, c, m) for c, m in row_problems)
            yield line, cells, patient, None if row_problems else values

    def load(self, session, *, actor: str = "import") -> ImportSummary:
        """Insert everything checked (call only after check() found no problem)."""
        if not self.checked:
            raise RuntimeError("check() first")
        now = self.context.now
        patient_ids, course_ids = array("l"), array("l")
        states = {"maintenance": 0, "series_in_progress": 0}
        step = _Progress(self.patients.progress, self.patients.size, len(self.patient_values))
        for batch in batched(dict(zip(PATIENT_FIELDS, row)) for row in self.patient_values):
            ids = insert_patients(session, [_patient_row(v, now) for v in batch])
            patient_ids.extend(ids)
            courses = []
            for patient_id, values in zip(ids, batch):
                number = len(course_ids) + len(courses)
                plan = self.planner.plan(number, series_planned=values["series_planned"],
                                         min_days=values["min_days"], max_days=values["max_days"],
                                         today=self.context.today)
                states[plan.state] += 1
                courses.append(course_row(patient_id, plan, indication=values["indication"],
                                          mode=values["mode"], series_planned=values["series_planned"],
                                          min_days=values["min_days"], max_days=values["max_days"]))
            course_ids.extend(insert_courses(session, courses))
            step(len(batch))
        self.patient_values = []  # inserted: give the memory back
        infusions = boosters = early = 0
        step = _Progress(self.infusions.progress, self.infusions.size, len(self.sessions))
        rows = (self._infusion_row(values, patient_ids[patient], course_ids[patient], now)
                for patient, values in self.sessions.rows())
        for batch in batched(rows):
            insert_rows(session, Infusion, batch)
            infusions += len(batch)
            boosters += sum(1 for row in batch if row["is_booster"])
            early += sum(1 for row in batch if row["early"])
            step(len(batch))
        summary = ImportSummary(len(patient_ids), infusions, states["series_in_progress"],
                                states["maintenance"], boosters, early)
        audit.record(actor, entity="import", entity_id=None, patient_id=None, action="import",
                     after={"patients": summary.patients, "infusions": summary.infusions,
                            "boosters": boosters, "early_boosters": early})
        log.info("imported %s patients and %s infusions", summary.patients, summary.infusions)
        return summary

    def _infusion_row(self, values, patient_id, course_id, now) -> dict:
        return {
            "course_id": course_id, "patient_id": patient_id, "appointment_id": None,
            "given_at": values["given_at"], "given_on": values["given_on"],
            "outcome": values["outcome"], "counts_toward_series": False,
            "weight_kg": values["weight_kg"], "dose_mg_per_kg": values["dose_mg_per_kg"],
            "total_mg": total_mg(values["weight_kg"], values["dose_mg_per_kg"]),
            "duration_min": values["duration_min"], "pain_before": values["pain_before"],
            "pain_after": values["pain_after"], "adverse_effects": "", "notes": values["notes"],
            "early_reason": None, "recorded_by_id": None, "created_at": now,
            **self.planner.flags_for(values["line"]),
        }


class _Sessions:
    """The checked infusion rows, column by column in typed arrays (a million fit in ~50 MB).

    Instants are whole seconds since 1970 (the file gives minutes); decimals are kept once
    per distinct spelling and referred to by number; a missing number is -1.
    """

    def __init__(self):
        self.lines, self.patients = array("i"), array("i")
        self.days, self.seconds = array("i"), array("q")
        self.outcomes = bytearray()
        self.doses, self.weights = array("i"), array("i")
        self.durations, self.pains_before, self.pains_after = array("h"), array("h"), array("h")
        self.notes: list[str] = []
        self.decimals: list[Decimal] = []
        self._decimal_index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.lines)

    def _decimal(self, value: Decimal | None) -> int:
        if value is None:
            return -1
        key = str(value)
        index = self._decimal_index.get(key)
        if index is None:
            index = self._decimal_index[key] = len(self.decimals)
            self.decimals.append(value)
        return index

    def add(self, line: int, patient: int, values: dict) -> None:
        """Keep one checked row."""
        self.lines.append(line)
        self.patients.append(patient)
        self.days.append(values["given_on"].toordinal())
        instant = values["given_at"] - EPOCH
        self.seconds.append(instant.days * 86400 + instant.seconds)
        self.outcomes.append(OUTCOMES.index(values["outcome"]))
        self.doses.append(self._decimal(values["dose_mg_per_kg"]))
        self.weights.append(self._decimal(values["weight_kg"]))
        for column, name in ((self.durations, "duration_min"), (self.pains_before, "pain_before"),
                             (self.pains_after, "pain_after")):
            column.append(-1 if values[name] is None else values[name])
        self.notes.append(values["notes"])

    def rows(self):
        """(patient number, values) for each kept row, in file order."""
        decimals = self.decimals

        def number(value):
            return None if value < 0 else value

        for i, line in enumerate(self.lines):
            dose, weight = self.doses[i], self.weights[i]
            yield self.patients[i], {
                "line": line, "given_on": date.fromordinal(self.days[i]),
                "given_at": EPOCH + timedelta(seconds=self.seconds[i]),
                "outcome": OUTCOMES[self.outcomes[i]],
                "dose_mg_per_kg": None if dose < 0 else decimals[dose],
                "weight_kg": None if weight < 0 else decimals[weight],
                "duration_min": number(self.durations[i]),
                "pain_before": number(self.pains_before[i]),
                "pain_after": number(self.pains_after[i]), "notes": self.notes[i],
            }


class _Progress:
    """Reports `size` bytes spread over `count` items, as they are done."""

    def __init__(self, report: Callable[[int], None], size: int, count: int):
        self.report, self.size, self.count = report, size, max(count, 1)
        self.done = self.reported = 0

    def __call__(self, items: int) -> None:
        self.done += items
        target = self.size * min(self.done, self.count) // self.count
        self.report(target - self.reported)
        self.reported = target


def _patient_row(values: dict, now: datetime) -> dict:
    return {
        "mrn": values["mrn"], "first_name": values["first_name"], "last_name": values["last_name"],
        "date_of_birth": values["date_of_birth"], "email": values["email"],
        "phone": values["phone"], "email_consent": values["email_consent"],
        "consent_recorded_at": now if values["email_consent"] else None,
        "email_opt_out_at": None, "created_at": now, "updated_at": now,
    }
