"""The first-run checklist on the admin home: what the clinic still has to set up, in order."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import AppointmentType, Chair, OpeningHours, User


@dataclass(frozen=True)
class Step:
    """One set-up step: done or not, what it needs, and the page that does it."""

    title: str
    done: bool
    missing: str
    endpoint: str
    anchor: str = ""


def _count(statement) -> int:
    return int(db.session.scalar(statement) or 0)


def checklist(settings) -> list[Step]:
    """The set-up steps with their state; a handful of count queries."""
    chairs = _count(select(func.count()).select_from(Chair).where(Chair.active.is_(True)))
    hours = _count(select(func.count()).select_from(OpeningHours))
    types = _count(select(func.count()).select_from(AppointmentType))
    roles = dict(
        db.session.execute(
            select(User.role, func.count()).where(User.active.is_(True)).group_by(User.role)
        ).all()
    )
    staff_missing = [
        label
        for role, label in (
            ("frontdesk", "a front-desk account"),
            ("clinician", "a clinician account"),
        )
        if not roles.get(role)
    ]
    contact_missing = [
        label
        for value, label in ((settings.phone, "phone number"), (settings.address, "address"))
        if not (value or "").strip()
    ]
    mail = bool(current_app.config.get("MAIL_SERVER"))
    return [
        Step("Chairs", chairs > 0, "No chair is set up: nothing can be booked.", "schedule.chairs"),
        Step(
            "Opening hours",
            hours > 0,
            "No opening hours: the slot finder proposes no times.",
            "schedule.hours",
        ),
        Step(
            "Appointment types",
            types > 0,
            "No appointment type (preparation, infusion and recovery minutes).",
            "schedule.appointment_types",
        ),
        Step(
            "Clinic phone and address",
            not contact_missing,
            f"The clinic {' and '.join(contact_missing)} {'is' if len(contact_missing) == 1 else 'are'} not set: "
            "patient reminders wait for the phone.",
            "admin.settings",
            "phone",
        ),
        Step(
            "Mail",
            mail,
            "No mail server: messages are written as files in the outbox folder, not sent.",
            "admin.settings",
            "mail",
        ),
        Step(
            "Staff accounts",
            not staff_missing,
            f"Still to add: {' and '.join(staff_missing)}.",
            "admin.new_user",
        ),
    ]
