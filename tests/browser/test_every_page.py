"""Every page of the app, found from the route table: axe-clean, local resources, fits 360 px."""
from datetime import timedelta

from tracker.extensions import db
from tracker.models import ClinicallyDue, ClosedDate, MonitoringReading, MonitoringSheet, OutcomeMeasure, WebhookEndpoint
from tracker.reminders.unsubscribe import make_token
from tracker.services.clinic import clinic_today
from tracker.services.protocols import standard_protocol

from ..factories import make_patient, make_user
from .conftest import log_in
from .helpers import (
    NARROW, OVERFLOW_TOLERANCE, add_appointment, complete_series, horizontal_overflow,
    local_instant, set_up_clinic,
)

# Not pages a person reads (files, the health probe, redirects, the search's type-ahead JSON);
# the login pages have their own tests (test_login_page.py, test_account_and_two_step.py):
# logged in, they redirect.
NOT_PAGES = {"static", "main.health", "main.index", "auth.login", "auth.login_code", "auth.login_setup",
             "search.suggest"}
FILES = (".csv", ".ics")  # downloads (calendar files, exports), not pages
# Machine interfaces (JSON for API tokens): tests/api/ covers them.
MACHINE = ("/api/", "/fhir/")
QUERY = {"schedule.book": "patient_id", "schedule.book_series": "patient_id"}


def page_urls(app, ids: dict) -> list[tuple[str, str]]:
    """(endpoint, path) of every GET page, with the seeded records' ids in its arguments (an
    endpoint's own values, such as a patient link's token, under ids[endpoint])."""
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.rule.endswith(FILES) \
                    or rule.rule.startswith(MACHINE):
                continue
            own = ids.get(rule.endpoint, {})
            missing = set(rule.arguments) - set(ids) - set(own)
            assert not missing, f"{rule.endpoint}: add an example value for {sorted(missing)} to this test"
            values = {name: own.get(name, ids.get(name)) for name in rule.arguments}
            if rule.endpoint in QUERY:
                values[QUERY[rule.endpoint]] = ids[QUERY[rule.endpoint]]
            urls.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return urls


def patient_link_ids(app, patient, appointment) -> dict:
    """Real book and manage links, and a live hold, for the patient pages."""
    from tracker.models import SlotHold, utcnow
    from tracker.patient_links.tokens import make_token as link_token

    course = patient.courses[0]
    hold = SlotHold(patient_id=patient.id, course_id=course.id, chair_id=appointment.chair_id,
                    appointment_type_id=appointment.appointment_type_id,
                    start_at=appointment.start_at + timedelta(days=2),
                    end_at=appointment.end_at + timedelta(days=2),
                    expires_at=utcnow() + timedelta(days=1))
    db.session.add(hold)
    db.session.flush()
    with app.test_request_context():
        book = {"token": link_token("book", patient.id, course.id)}
        manage = {"token": link_token("manage", patient.id, appointment.id)}
    from tracker.models import WaitlistEntry, WaitlistOffer

    # Offers are made on chairs and types the clinic books online.
    appointment.chair.bookable_online = appointment.appointment_type.bookable_online = True

    entry = WaitlistEntry(patient_id=patient.id, course_id=course.id, added_by="patient")
    db.session.add(entry)
    db.session.flush()
    offer = WaitlistOffer(entry_id=entry.id, patient_id=patient.id, chair_id=appointment.chair_id,
                          appointment_type_id=appointment.appointment_type_id,
                          # Late in the day: the pages that book the first free time leave it free.
                          start_at=appointment.start_at + timedelta(days=3, hours=6),
                          expires_at=utcnow() + timedelta(days=1))
    db.session.add(offer)
    db.session.flush()
    with app.test_request_context():
        offered = {"token": link_token("offer", patient.id, offer.id)}
        check_in = {"token": link_token("check_in", patient.id, course.id)}
    return {"patient_links.check_in": check_in,"patient_links.book": book, "patient_links.held": {**book, "hold_id": hold.id},
            "patient_links.manage": manage, "patient_links.move_times": manage,
            "patient_links.checklist_page": manage,
            "patient_links.offer": offered}


def test_every_page_is_accessible_local_and_narrow(journey, live_app, playwright_browser, live_server):
    """An admin (who holds every role) opens every page: no serious or critical axe violation,
    nothing loaded from elsewhere, and no sideways scrolling at 360 px."""
    with live_app.app_context():
        today = clinic_today()
        clinic = set_up_clinic()
        admin = make_user(role="admin")
        patient = make_patient(first_name="Dana", last_name="Whitfield")
        complete_series(patient, today - timedelta(days=40))
        appointment = add_appointment(patient, clinic["chairs"][0], clinic["maintenance"],
                                      local_instant(today, 11), clinician=admin)
        closed = ClosedDate(on=today + timedelta(days=20), reason="Holiday")
        db.session.add(closed)
        db.session.commit()
        course = patient.courses[0]
        infusion = course.infusions[0]
        sheet = MonitoringSheet(infusion_id=infusion.id, patient_id=patient.id, started_at=infusion.given_at)
        db.session.add(sheet)
        db.session.flush()
        reading = MonitoringReading(sheet_id=sheet.id, kind="baseline", taken_at=infusion.given_at,
                                    bp_systolic=172, bp_diastolic=90, flags={"bp_systolic": "high"})
        measure = OutcomeMeasure(patient_id=patient.id, instrument="phq9", taken_at=infusion.given_at,
                                 taken_on=infusion.given_on, answers=[1] * 9, complete=True, score=9, band="Mild")
        hook = WebhookEndpoint(url="http://127.0.0.1:9/closed", events="appointment.booked", secret="whsec_pages")
        due = ClinicallyDue(patient_id=patient.id, course_id=course.id, session_on=infusion.given_on,
                            reason="phq9_threshold", detail="PHQ-9 10 (rule: 10 or more)",
                            raised_at=infusion.given_at, raised_on=today)
        db.session.add_all([reading, measure, hook, due])
        db.session.commit()
        ids = {"due_id": due.id,"patient_id": patient.id, "appointment_id": appointment.id, "user_id": admin.id,
               "course_id": course.id, "infusion_id": course.infusions[0].id, "closed_id": closed.id,
               "reading_id": reading.id, "measure_id": measure.id, "instrument": "phq9",
               "endpoint_id": hook.id, "protocol_id": standard_protocol().id,
               "token": make_token(patient.id), **patient_link_ids(live_app, patient, appointment)}
        db.session.commit()  # the hold and the waitlist offer the links point at
        email = admin.email
    urls = page_urls(live_app, ids)

    page = journey.page
    log_in(page, email)
    narrow = playwright_browser.new_context(base_url=live_server.url, viewport={"width": NARROW, "height": 740})
    try:
        narrow_page = narrow.new_page()
        log_in(narrow_page, email)
        too_wide = {}
        for endpoint, path in urls:
            response = page.goto(path)
            assert response.status == 200, (endpoint, path, response.status)
            journey.check(endpoint)
            narrow_page.goto(path)
            if horizontal_overflow(narrow_page) > OVERFLOW_TOLERANCE:
                too_wide[endpoint] = horizontal_overflow(narrow_page)
    finally:
        narrow.close()
    assert too_wide == {}
    assert journey.foreign_requests() == []
    assert journey.broken == []
