"""No clinical word, and not the product's name, on any patient page or in any patient message
of the self-service links, for a patient whose record is full of such words."""

import re
from datetime import timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Appointment, Course, Patient, Reminder, utcnow
from tracker.patient_links.messages import links_message
from tracker.patient_links.tokens import make_token
from tracker.reminders.clock import Clock
from tracker.reminders.messages import appointment_message, window_message
from tracker.reminders.notices import NOTICE_KINDS, notice_message
from tracker.reminders.reactivation import reactivation_message
from tracker.services.clinic import get_settings

from .patient_link_fixtures import (
    assert_no_clinical_words,
    due_patient,
    open_clinic,
    slot_values,
    visit,
)


def _bodies(message) -> list[str]:
    return [message["Subject"]] + [
        message.get_body((part,)).get_content() for part in ("plain", "html")
    ]


def test_every_patient_page_state_is_free_of_clinical_words(app):
    """Booking (times, held, booked, closed), manage (pending, late, cancelled), move, a bad and
    an expired link, the resend form and its answer, and the rate-limit page."""
    with app.app_context():
        clinic = open_clinic()
        patient, course = due_patient()
        other, other_course = due_patient()
        late = visit(
            other, clinic["chairs"][1], clinic["maintenance"], utcnow() + timedelta(hours=5)
        )
        db.session.commit()
        with app.test_request_context():
            book = f"/my/book/{make_token('book', patient.id, course.id)}"
            late_link = f"/my/visit/{make_token('manage', other.id, late.id)}"
        other_course_id = other_course.id
    client = app.test_client()
    pages = [
        client.get(book),
        client.get(late_link),
        client.get("/my/visit/forged"),
        client.get("/my/links"),
    ]
    slot = slot_values(pages[0].get_data(as_text=True))[0]
    held = client.post(book, data={"slot": slot})
    pages.append(client.get(held.headers["Location"]))
    client.post(held.headers["Location"])
    pages.append(client.get(book))  # booked
    with app.app_context():
        appointment = db.session.scalars(
            select(Appointment).where(Appointment.status == "pending", Appointment.id != late.id)
        ).one()
        with app.test_request_context():
            manage = f"/my/visit/{make_token('manage', appointment.patient_id, appointment.id)}"
        db.session.get(Course, other_course_id).state = "on_hold"
        db.session.commit()
    pages += [client.get(manage), client.get(manage + "/move")]
    client.post(manage + "/cancel", data={"reason": "not_needed"})
    pages.append(client.get(manage))  # cancelled
    pages.append(
        client.post("/my/links", data={"email": "x@example.test", "date_of_birth": "1980-05-17"})
    )
    pages.append(client.get("/my/links?sent=1"))
    app.config["PATIENT_LINK_MAX_AGE_DAYS"] = -1
    pages.append(client.get(book))  # expired
    app.config["PATIENT_LINK_MAX_AGE_DAYS"] = 120
    app.config["PATIENT_PAGE_LIMIT_PER_MINUTE"] = 0
    pages.append(client.get(book))  # too many
    for response in pages:
        assert response.status_code < 500
        body = response.get_data(as_text=True)
        if response.status_code in (301, 302, 303):
            continue
        assert_no_clinical_words(body)
    assert any("cannot be moved or cancelled online" in p.get_data(as_text=True) for p in pages)


def test_every_patient_message_is_free_of_clinical_words(app):
    """Window reminders, the appointment reminder, every notice (the online booking
    confirmation among them), the reactivation message and the links email."""
    with app.app_context():
        clinic = open_clinic()
        patient, course = due_patient()
        appointment = visit(
            patient, clinic["chairs"][0], clinic["maintenance"], utcnow() + timedelta(days=3)
        )
        db.session.commit()
        settings = get_settings()
        patient = db.session.get(Patient, patient.id)
        messages = [
            window_message(Reminder(kind=kind), patient=patient, course=course, settings=settings)
            for kind in ("window_upcoming", "window_closing")
        ]
        messages.append(
            appointment_message(
                Reminder(kind="appointment"),
                patient=patient,
                appointment=appointment,
                settings=settings,
            )
        )
        clock = Clock.for_settings(utcnow(), settings)
        messages += [
            notice_message(
                Reminder(kind=kind),
                patient=patient,
                appointment=appointment,
                clock=clock,
                settings=settings,
            )
            for kind in NOTICE_KINDS
        ]
        messages.append(
            reactivation_message(
                Reminder(kind="reactivation"), patient=patient, course=course, settings=settings
            )
        )
        messages.append(links_message(patient, settings, visits=[appointment], course=None))
        messages.append(links_message(patient, settings, visits=[], course=course))
        for message in messages:
            for body in _bodies(message):
                assert_no_clinical_words(body)


def test_waitlist_offer_page_and_email_are_free_of_clinical_words(app):
    """The offer email and the offer page (open, taken, expired) for a patient whose record is
    full of clinical words."""
    from tracker.models import WaitlistEntry, WaitlistOffer
    from tracker.reminders.offers import offer_message

    with app.app_context():
        clinic = open_clinic()
        patient, course = due_patient()
        entry = WaitlistEntry(patient_id=patient.id, course_id=course.id, added_by="patient")
        db.session.add(entry)
        db.session.flush()
        offer = WaitlistOffer(
            entry_id=entry.id,
            patient_id=patient.id,
            chair_id=clinic["chairs"][0].id,
            appointment_type_id=clinic["maintenance"].id,
            start_at=utcnow() + timedelta(days=3),
            expires_at=utcnow() + timedelta(hours=12),
        )
        db.session.add(offer)
        db.session.commit()
        reminder = Reminder(kind="waitlist_offer", waitlist_offer_id=offer.id)
        for body in _bodies(offer_message(reminder, patient=patient, settings=get_settings())):
            assert_no_clinical_words(body)
        with app.test_request_context():
            token = make_token("offer", patient.id, offer.id)
        offer_id = offer.id
    client = app.test_client()
    pages = [client.get(f"/my/offer/{token}").get_data(as_text=True)]
    with app.app_context():
        db.session.get(WaitlistOffer, offer_id).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    pages.append(client.get(f"/my/offer/{token}").get_data(as_text=True))
    assert "Book this time" in pages[0] and "This offer has run out." in pages[1]
    for page in pages:
        assert_no_clinical_words(page)


def test_checklist_page_and_its_reminder_are_free_of_clinical_words(app):
    """The day-before reminder with its checklist link, and the checklist page (open, saved, a
    field error, a cancelled visit) for a patient whose record is full of clinical words."""
    from tracker.services.checklist import items_for, seed_defaults

    with app.app_context():
        clinic = open_clinic()
        seed_defaults(clinic["maintenance"])
        patient, _ = due_patient()
        appointment = visit(
            patient, clinic["chairs"][0], clinic["maintenance"], utcnow() + timedelta(days=1)
        )
        db.session.commit()
        settings = get_settings()
        message = appointment_message(
            Reminder(kind="appointment"),
            patient=db.session.get(Patient, patient.id),
            appointment=appointment,
            settings=settings,
        )
        bodies = _bodies(message)
        driver = next(item.id for item in items_for(clinic["maintenance"].id) if item.asks_driver)
        with app.test_request_context():
            url = f"/my/visit/{make_token('manage', patient.id, appointment.id)}/checklist"
        appointment_id = appointment.id
    assert all(url in body for body in bodies[1:])  # text and HTML both link to the questions
    client = app.test_client()
    pages = [client.get(url)]
    pages.append(
        client.post(
            url,
            data={
                f"answer_{driver}": "yes",
                f"driver_name_{driver}": "Sam",
                f"driver_phone_{driver}": "no",
            },
        )
    )
    saved = client.post(url, data={f"answer_{driver}": "no"})
    pages.append(client.get(saved.headers["Location"]))
    with app.app_context():
        db.session.get(Appointment, appointment_id).status = "cancelled"
        db.session.commit()
    pages.append(client.get(url))
    assert [p.status_code for p in pages] == [200, 400, 200, 200]
    for body in bodies + [p.get_data(as_text=True) for p in pages]:
        assert_no_clinical_words(body)


def test_check_in_message_and_pages_are_free_of_clinical_words(app):
    """The check-in email, and the check-in page (questions, a field error, thank you, a
    finished course, an expired link) for a patient whose record is full of clinical words:
    nothing but the clinic's chosen questions in their published words."""
    from tracker.check_ins import settings as check_ins
    from tracker.outcomes.instruments import INSTRUMENTS
    from tracker.reminders.check_ins import check_in_message

    with app.app_context():
        open_clinic()
        check_ins.update_settings(
            "system",
            {
                "enabled": True,
                "days": "7",
                "instruments": ["pain_nrs", "phq9", "gad7"],
                "phq9_threshold": 10,
                "pain_return_percent": 30,
            },
        )
        patient, course = due_patient(days_since_anchor=7)
        db.session.commit()
        message = check_in_message(
            Reminder(kind="check_in"),
            patient=db.session.get(Patient, patient.id),
            course=course,
            settings=get_settings(),
        )
        bodies = _bodies(message)
        course_id = course.id
    # The link as the email gives it (text and HTML alike), followed as a path.
    url = re.search(r"/my/check-in/[\w.-]+", bodies[1]).group(0)
    assert url in bodies[2]
    client = app.test_client()
    pages = [client.get(url), client.post(url, data={"q1_1": "99"})]
    sent = client.post(url, data={"q1_1": "4", "q2_1": "1", "relief_worn_off": "yes"})
    pages.append(client.get(sent.headers["Location"]))
    with app.app_context():
        db.session.get(Course, course_id).state = "discharged"
        db.session.commit()
    pages.append(client.get(url))
    app.config["PATIENT_LINK_MAX_AGE_DAYS"] = -1
    pages.append(client.get(url))
    app.config["PATIENT_LINK_MAX_AGE_DAYS"] = 120
    assert [p.status_code for p in pages] == [200, 400, 200, 200, 400]
    questions = [text for code in ("pain_nrs", "phq9", "gad7") for text in INSTRUMENTS[code].items]
    for body in bodies:
        assert_no_clinical_words(body)
    for page in [p.get_data(as_text=True).replace(url, "/my/check-in/TOKEN") for p in pages]:
        for text in questions:  # the published questions are the page's one clinical content
            page = page.replace(text, "")
        assert_no_clinical_words(page)
        for word in ("PHQ", "GAD", "NRS", "score"):
            assert word not in page
