"""Minimum necessary: the front desk sees no dose, weight, vitals, pain score, outcome score,
adverse effect or clinical note on any page, export or search result (the server leaves them
out)."""

from datetime import timedelta
from decimal import Decimal

from tracker.extensions import db
from tracker.monitoring import service as monitoring
from tracker.outcomes import service as outcomes
from tracker.reminders.unsubscribe import make_token
from tracker.services import courses as course_service
from tracker.services import infusions as infusion_service
from tracker.services.clinic import clinic_today, get_settings

from .browser.helpers import add_appointment, local_instant, set_up_clinic
from .conftest import login
from .factories import make_patient, make_user

# Values no other field of the seeded data can produce, so finding one means a leak.
# The session's and the outcome's values show on the patient page (to clinicians); the readings'
# on the monitoring sheet.
SECRETS = ("3.141", "77.7", "244.0", "NOTE-XYZZY", "AE-PLUGH", "7.33", "Moderately severe")
SHEET_SECRETS = ("187", "143", "READING-FROTZ", "Systolic blood pressure high")
NOT_PAGES = {"static", "main.health", "main.index", "auth.login"}
QUERY = {"schedule.book": "patient_id", "schedule.book_series": "patient_id"}


def _seed(app) -> dict:
    """A patient with one recorded session holding distinctive clinical values, an appointment."""
    with app.app_context():
        today = clinic_today()
        clinic = set_up_clinic()
        settings = get_settings()
        desk = make_user(role="frontdesk")
        patient = make_patient(first_name="Mira", last_name="Okafor")
        course = course_service.open_course(
            patient,
            settings,
            actor="system",
            opened_on=today - timedelta(days=40),
            indication="CRPS",
            series_planned=1,
            min_days=30,
            max_days=90,
        )
        infusion = infusion_service.record_infusion(
            course,
            actor="system",
            settings=settings,
            today=today,
            given_at=local_instant(today - timedelta(days=40), 10),
            weight_kg=Decimal("77.7"),
            dose_mg_per_kg=Decimal("3.141"),
            duration_min=40,
            pain_before=9,
            pain_after=1,
            adverse_effects="AE-PLUGH",
            notes="NOTE-XYZZY",
        )
        monitoring.record_reading(
            infusion,
            actor="system",
            kind="baseline",
            taken_at=infusion.given_at,
            values={
                "bp_systolic": 187,
                "bp_diastolic": 95,
                "heart_rate": 143,
                "spo2": 91,
                "notes": "READING-FROTZ",
            },
            ranges=monitoring.ranges_of(monitoring.get_monitoring_settings()),
        )
        for instrument, answers in (("peg", [7, 7, 8]), ("phq9", [2, 2, 2, 2, 2, 2, 2, 2, 0])):
            outcomes.record_measure(
                patient,
                actor="system",
                instrument=instrument,
                answers=answers,
                taken_at=infusion.given_at,
                taken_on=infusion.given_on,
                today=today,
            )
        appointment = add_appointment(
            patient, clinic["chairs"][0], clinic["maintenance"], local_instant(today, 11)
        )
        db.session.commit()
        db.session.refresh(desk)
        db.session.expunge(desk)
        return {
            "patient_id": patient.id,
            "infusion_id": infusion.id,
            "appointment_id": appointment.id,
            "user_id": desk.id,
            "token": make_token(patient.id),
            "desk": desk,
            "mrn": patient.mrn,
        }


def _get_urls(app, ids: dict) -> list[str]:
    """Every GET route, pages and downloads alike, with the seeded records in its arguments."""
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
                continue
            values = {name: ids.get(name, 1) for name in rule.arguments}  # other records: number 1
            if rule.endpoint in QUERY:
                values[QUERY[rule.endpoint]] = ids[QUERY[rule.endpoint]]
            urls.append(url_for(rule.endpoint, **values))
    return urls


def test_front_desk_sees_no_clinical_values_anywhere(app, client):
    """Every GET page and export, and the patient search, as the front desk: none of the session's
    clinical values appears; a clinician on the same patient page sees them all."""
    ids = _seed(app)
    login(client, ids["desk"])
    urls = _get_urls(app, ids) + [
        f"/patients/?q={ids['mrn']}",
        "/patients/?q=Okafor",
        "/worklist/export.csv",
    ]
    checked = 0
    for url in urls:
        response = client.get(url)
        if (
            response.status_code in (401, 403, 404, 405) or 300 <= response.status_code < 400
        ):  # not theirs
            continue
        assert response.status_code in (200, 400), (
            url,
            response.status_code,
        )  # 400: a refused link page
        body = response.get_data(as_text=True)
        leaked = [secret for secret in SECRETS + SHEET_SECRETS[2:] if secret in body]
        assert leaked == [], (url, leaked)
        checked += 1
    assert checked >= 10
    patient_page = client.get(f"/patients/{ids['patient_id']}").get_data(as_text=True)
    assert "Okafor" in patient_page and "Completed" in patient_page  # the session itself is listed

    clinician = client.application.test_client()
    with app.app_context():
        nurse = make_user(role="clinician")
        db.session.commit()
        db.session.refresh(nurse)
        db.session.expunge(nurse)
    login(clinician, nurse)
    seen = clinician.get(f"/patients/{ids['patient_id']}").get_data(as_text=True)
    assert all(secret in seen for secret in SECRETS), [s for s in SECRETS if s not in seen]
    sheet = clinician.get(f"/patients/{ids['patient_id']}/sessions/{ids['infusion_id']}/monitoring")
    assert all(secret in sheet.text for secret in SHEET_SECRETS), [
        s for s in SHEET_SECRETS if s not in sheet.text
    ]
    desk_sheet = client.get(
        f"/patients/{ids['patient_id']}/sessions/{ids['infusion_id']}/monitoring"
    )
    assert desk_sheet.status_code == 403
