"""Importing patients.csv and infusions.csv: check everything first, then insert in bulk.

Both files are read twice, streaming: the first pass checks every cell and collects each
patient's qualifying sessions compactly; only when no problem was found does the second
pass insert patients, their courses (facts from the bulk planner) and the infusions, in
batches, inside the caller's transaction. Nothing is committed here.
"""
from __future__ import annotations

import logging
from array import array
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..models import Infusion, Patient
from ..services import audit
from ..services.infusions import total_mg
from .bulk import CoursePlanner, batched, course_row, insert_courses, insert_patients, insert_rows
from .checks import INFUSION_COLUMNS, PATIENT_COLUMNS, CheckContext, check_infusion, check_patient
from .reader import CsvFile, Problem

log = logging.getLogger(__name__)
MRN_LOOKUP_CHUNK = 500


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

    def _infusion_rows(self, problems: list[Problem], patients_readable: bool = True):
        """(line, cells, patient number or None, values or None when the row has problems)."""
        for line, cells in self.infusions.records(problems):
            patient = self.index.get(cells["mrn"].strip())
            birth = self.birth_ordinals[patient] if patient is not None else 0
            values, row_problems = check_infusion(
                cells, self.context, known=patient is not None or not patients_readable,
                date_of_birth=date.fromordinal(birth) if birth else None)
            problems.extend(self.infusions.problem(line, c, m) for c, m in row_problems)
            yield line, cells, patient, None if row_problems else values

    def load(self, session, *, actor: str = "import") -> ImportSummary:
        """Second pass: insert everything (call only after check() found no problem)."""
        if not self.checked:
            raise RuntimeError("check() first")
        now = self.context.now
        patient_ids, course_ids = array("l"), array("l")
        states = {"maintenance": 0, "series_in_progress": 0}
        problems: list[Problem] = []
        records = ((line, check_patient(cells, self.context)[0])
                   for line, cells in self.patients.records(problems))
        for batch in batched(records):
            ids = insert_patients(session, [_patient_row(v, now) for _, v in batch])
            patient_ids.extend(ids)
            courses = []
            for patient_id, (_, values) in zip(ids, batch):
                number = len(course_ids) + len(courses)
                plan = self.planner.plan(number, series_planned=values["series_planned"],
                                         min_days=values["min_days"], max_days=values["max_days"],
                                         today=self.context.today)
                states[plan.state] += 1
                courses.append(course_row(patient_id, plan, indication=values["indication"],
                                          mode=values["mode"], series_planned=values["series_planned"],
                                          min_days=values["min_days"], max_days=values["max_days"]))
            course_ids.extend(insert_courses(session, courses))
        infusions = boosters = early = 0
        rows = (self._infusion_row(line, values, patient_ids[patient], course_ids[patient], now)
                for line, _, patient, values in self._infusion_rows(problems)
                if values is not None and patient is not None)
        for batch in batched(rows):
            insert_rows(session, Infusion, batch)
            infusions += len(batch)
            boosters += sum(1 for row in batch if row["is_booster"])
            early += sum(1 for row in batch if row["early"])
        if problems:  # the files changed between the two passes
            raise RuntimeError("the files changed while importing: " + str(problems[0]))
        summary = ImportSummary(len(patient_ids), infusions, states["series_in_progress"],
                                states["maintenance"], boosters, early)
        audit.record(actor, entity="import", entity_id=None, patient_id=None, action="import",
                     after={"patients": summary.patients, "infusions": summary.infusions,
                            "boosters": boosters, "early_boosters": early})
        log.info("imported %s patients and %s infusions", summary.patients, summary.infusions)
        return summary

    def _infusion_row(self, line, values, patient_id, course_id, now) -> dict:
        return {
            "course_id": course_id, "patient_id": patient_id, "appointment_id": None,
            "given_at": values["given_at"], "given_on": values["given_on"],
            "outcome": values["outcome"], "counts_toward_series": False,
            "weight_kg": values["weight_kg"], "dose_mg_per_kg": values["dose_mg_per_kg"],
            "total_mg": total_mg(values["weight_kg"], values["dose_mg_per_kg"]),
            "duration_min": values["duration_min"], "pain_before": values["pain_before"],
            "pain_after": values["pain_after"], "bp_systolic": None, "bp_diastolic": None,
            "heart_rate": None, "spo2": None, "adverse_effects": "", "notes": values["notes"],
            "early_reason": None, "recorded_by_id": None, "created_at": now,
            **self.planner.flags_for(line),
        }


def _patient_row(values: dict, now: datetime) -> dict:
    return {
        "mrn": values["mrn"], "first_name": values["first_name"], "last_name": values["last_name"],
        "date_of_birth": values["date_of_birth"], "email": values["email"],
        "phone": values["phone"], "email_consent": values["email_consent"],
        "consent_recorded_at": now if values["email_consent"] else None,
        "email_opt_out_at": None, "created_at": now, "updated_at": now,
    }
