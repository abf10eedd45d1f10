"""Helpers for the check-in tests: check-ins turned on, and a patient some days after a session
(real dates: the patient pages read the real clock)."""

from datetime import timedelta

from tracker.check_ins import settings as check_ins
from tracker.extensions import db
from tracker.patient_links.tokens import make_token
from tracker.services.clinic import clinic_today, get_settings
from tracker.services.infusions import record_infusion

from .factories import make_course, make_patient
from .patient_link_fixtures import local

# The form's first question set is the pain NRS, the second the PHQ-9 (the clinic's order).
PHQ9_TEN = ["3", "3", "2", "1", "1", "0", "0", "0", "0"]  # total 10


def turn_on(days="7,14,21,28", instruments=("pain_nrs", "phq9")):
    """Check-ins on, with this schedule, PHQ-9 rule 10 and pain rule 30%."""
    check_ins.update_settings(
        "system",
        {
            "enabled": True,
            "days": days,
            "instruments": list(instruments),
            "phq9_threshold": 10,
            "pain_return_percent": 30,
        },
    )
    db.session.commit()


def check_in_patient(days_since_session=10, *, mode="scheduled", pain_before=8, **patient_kw):
    """A patient in maintenance whose last session was `days_since_session` days ago."""
    turn_on(days="7,14")
    session_day = clinic_today() - timedelta(days=days_since_session)
    patient = make_patient(**{"first_name": "Robin", **patient_kw})
    course = make_course(
        patient,
        series_planned=1,
        opened_on=session_day,
        mode=mode,
        indication="CRPS pain, depression",
    )
    record_infusion(
        course,
        actor="system",
        settings=get_settings(),
        today=session_day,
        given_at=local(session_day, 10),
        require_early_reason=False,
        pain_before=pain_before,
    )
    db.session.commit()
    return patient, course


def link(app, patient, course):
    """The patient's check-in page path."""
    with app.test_request_context():
        return f"/my/check-in/{make_token('check_in', patient.id, course.id)}"


def answers(**extra):
    """Pain 3 and a PHQ-9 of 10, with `extra` fields."""
    values = {"q1_1": "3", **{f"q2_{n}": v for n, v in enumerate(PHQ9_TEN, start=1)}}
    values.update(extra)
    return values
