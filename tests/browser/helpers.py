"""Helpers for the browser journeys: clinic facts through the services, axe, keyboard, layout."""
from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import (
    Appointment, AppointmentStatusChange, AppointmentType, Chair, OpeningHours, Patient,
)
from tracker.services import courses as course_service
from tracker.services import infusions as infusion_service
from tracker.services.appointments import new_uid
from tracker.services.clinic import clinic_today, get_settings

# Every axe result of the run, printed as one line per page at the end (conftest.py).
AXE_RESULTS: list["AxePage"] = []
IMPACTS = ("critical", "serious", "moderate", "minor")
NARROW = 360
OVERFLOW_TOLERANCE = 2


@dataclass
class AxePage:
    """What axe-core found on one page of one test."""

    test: str
    label: str
    path: str
    counts: dict = field(default_factory=dict)
    rules: list = field(default_factory=list)

    def line(self) -> str:
        counts = ", ".join(f"{self.counts.get(impact, 0)} {impact}" for impact in IMPACTS)
        rules = f" [{'; '.join(self.rules)}]" if self.rules else ""
        return f"axe {self.label} ({self.path}): {counts}{rules}"


# ---------------------------------------------------------------------------- clinic facts

def local_instant(day: date, hour: int, minute: int = 0) -> datetime:
    """A clinic wall-clock time on a day as an aware UTC instant."""
    zone = ZoneInfo(get_settings().timezone)
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(timezone.utc)


def set_up_clinic(chairs: int = 2) -> dict:
    """Open every day 07:00-19:00, a few chairs, a maintenance and a series appointment type."""
    for weekday in range(7):
        db.session.add(OpeningHours(weekday=weekday, opens=time(7), closes=time(19)))
    seats = [Chair(name=f"Chair {n}", position=n) for n in range(1, chairs + 1)]
    db.session.add_all(seats)
    maintenance = AppointmentType(name="Maintenance 40 min", prep_min=15, infusion_min=40, recovery_min=45)
    series = AppointmentType(name="Series 4 h", prep_min=15, infusion_min=240, recovery_min=45, for_series=True)
    db.session.add_all([maintenance, series])
    db.session.flush()
    return {"chairs": seats, "maintenance": maintenance, "series": series}


def complete_series(patient: Patient, on: date, *, pain_before=7, pain_after=3) -> None:
    """Open a one-infusion series and record that infusion on `on`: maintenance from then on."""
    settings = get_settings()
    course = course_service.open_course(patient, settings, actor="system", opened_on=on,
                                        indication="CRPS", series_planned=1, min_days=30, max_days=90)
    infusion_service.record_infusion(
        course, actor="system", settings=settings, today=clinic_today(),
        given_at=local_instant(on, 10), weight_kg=Decimal("70"), dose_mg_per_kg=Decimal("0.5"),
        duration_min=40, pain_before=pain_before, pain_after=pain_after)
    db.session.flush()


def patient_by_mrn(mrn: str) -> Patient:
    """The patient with that MRN (it must exist)."""
    return db.session.scalars(select(Patient).where(Patient.mrn == mrn)).one()


def add_appointment(patient: Patient, chair: Chair, kind: AppointmentType, start: datetime,
                    status: str = "booked", clinician=None) -> Appointment:
    """An appointment written straight to the database, e.g. one already confirmed for today."""
    course = course_service.open_course_for(patient.id)
    appointment = Appointment(uid=new_uid(), patient_id=patient.id, chair_id=chair.id,
                              appointment_type_id=kind.id, start_at=start,
                              end_at=start + timedelta(minutes=kind.block_minutes), status=status,
                              clinician_id=clinician.id if clinician else None,
                              course_id=course.id if course else None)
    db.session.add(appointment)
    db.session.flush()
    db.session.add(AppointmentStatusChange(appointment_id=appointment.id, to_status=status))
    db.session.flush()
    return appointment


# ---------------------------------------------------------------------------- in the page

def run_axe(page, test: str, label: str) -> AxePage:
    """Run axe-core on the page, keep the result for the summary, return it."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    found = AxePage(test=test, label=label, path=page.url.split("//", 1)[-1].partition("/")[2])
    found.path = re.sub(r"^unsubscribe/.*", "unsubscribe/<token>", found.path)
    found.path = "/" + found.path
    for violation in violations:
        impact = violation.get("impact") or "minor"
        found.counts[impact] = found.counts.get(impact, 0) + 1
        found.rules.append(f"{violation['id']} ({impact}, {len(violation.get('nodes', []))} elements)")
    AXE_RESULTS.append(found)
    return found


def serious(found: AxePage) -> list[str]:
    """The serious and critical rules axe reported."""
    return [rule for rule in found.rules if "(serious," in rule or "(critical," in rule]


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when it fits)."""
    width = page.evaluate("document.scrollingElement.scrollWidth")
    return max(0, width - page.viewport_size["width"])


def is_focused(locator) -> bool:
    """Whether the element has the keyboard focus."""
    return locator.evaluate("element => element === document.activeElement")


def tab_to(page, locator, *, backwards: bool = False, limit: int = 120) -> int:
    """Press Tab (or Shift+Tab) until the element has focus; the number of presses."""
    key = "Shift+Tab" if backwards else "Tab"
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if is_focused(locator):
            return presses
    raise AssertionError(f"{limit} presses of {key} never reached {locator}")


def read_eml(path: Path) -> email.message.EmailMessage:
    """An .eml file written by the file mail backend, parsed."""
    with open(path, "rb") as handle:
        return email.message_from_binary_file(handle, policy=email.policy.default)


def unsubscribe_link(message) -> str:
    """The unsubscribe link in a reminder's text part."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https?://\S+/unsubscribe/\S+", text)
    assert match, "no unsubscribe link in the reminder's text"
    return match.group(0)


# ---------------------------------------------------------------------------- clicks per job

# Every job counted in the run, printed at the end (conftest.py): (job, clicks, budget).
CLICK_RESULTS: list[tuple[str, int, int]] = []


class Clicks:
    """What a person does to finish one job, counted as UX.md counts it: each click on a link or
    a button, each tick and each choice from a list is one; typing is not counted (the budgets
    say "type + 1"), and neither is reading the page a click leads to."""

    def __init__(self, page, job: str, budget: int):
        self.page, self.job, self.budget, self.count = page, job, budget, 0

    def click(self, locator) -> None:
        self.count += 1
        locator.click()

    def tick(self, locator) -> None:
        self.count += 1
        locator.check()

    def choose(self, select, label: str) -> None:
        self.count += 1
        select.select_option(label=label)

    def follow(self, url: str) -> None:
        """The link in an email: one click, as the mail program opens it."""
        self.count += 1
        self.page.goto(url)

    def done(self) -> int:
        """Record the count; the job must fit its budget."""
        CLICK_RESULTS.append((self.job, self.count, self.budget))
        assert self.count <= self.budget, f"{self.job}: {self.count} clicks, at most {self.budget}"
        return self.count
