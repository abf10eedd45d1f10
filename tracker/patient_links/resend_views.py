""" "Send me my links again": the email address and date of birth. The page answers the same
whether or not they match anyone (no enumeration); the links go only to the address on file,
limited per address and per source address."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, redirect, request, url_for
from sqlalchemy import func, select

from ..extensions import db
from ..models import Patient
from ..services import audit
from ..services.clinic import get_settings
from ..services.courses import open_course_for
from ..validators import normalized_email
from . import bp
from .common import now, render_page
from .forms import ResendForm
from .holds import PATIENT
from .limits import count_hit
from .messages import deliver, links_message, upcoming_visits

HOUR = timedelta(hours=1)
SOURCE_FACTOR = 3  # one source may ask for this many addresses' worth per hour


def matching_patients(address: str, date_of_birth) -> list[Patient]:
    """Patients with that address on file and that date of birth who may be emailed."""
    # The birth date is indexed; the address is compared without regard to case.
    rows = db.session.scalars(
        select(Patient)
        .where(Patient.date_of_birth == date_of_birth, func.lower(Patient.email) == address.lower())
        .limit(5)
    )
    return [patient for patient in rows if patient.may_email]


@bp.route("/links", methods=["GET", "POST"])
def resend():
    """The form, and after a POST the same answer for a match and a miss."""
    form = ResendForm()
    if request.method == "GET":
        return render_page(
            "patient_links/resend.html",
            form=ResendForm(formdata=None),
            sent=request.args.get("sent") == "1",
        )
    if not form.validate():
        return render_page("patient_links/resend.html", status=400, form=form, sent=False)
    limit = int(current_app.config["RESEND_LIMIT_PER_HOUR"])
    moment = now()
    source_ok = count_hit(
        "resend_source",
        request.remote_addr or "unknown",
        limit * SOURCE_FACTOR,
        now=moment,
        window=HOUR,
    )
    if not source_ok:
        db.session.commit()
        return render_page("patient_links/too_many.html", status=429)
    address = normalized_email(form.email.data.strip()) or ""
    messages = []
    if count_hit("resend_address", address, limit, now=moment, window=HOUR):
        settings = get_settings()
        for patient in matching_patients(address, form.date_of_birth.data):
            visits = upcoming_visits(patient.id, moment)
            course = open_course_for(patient.id)
            bookable = (
                course
                if course is not None
                and course.state == "maintenance"
                and course.mode == "scheduled"
                and course.window_opens is not None
                else None
            )
            messages.append(links_message(patient, settings, visits=visits, course=bookable))
            audit.record(
                PATIENT,
                entity="patient",
                entity_id=patient.id,
                patient_id=patient.id,
                action="links_sent",
            )
    db.session.commit()
    for message in messages:
        deliver(message, "patient links")
    return redirect(url_for("patient_links.resend", sent=1), 303)
