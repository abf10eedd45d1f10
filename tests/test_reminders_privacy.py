"""Patient mail holds only what DOMAIN.md allows: rendered for a real patient, every template."""
import email
import email.policy
import os
import re
from datetime import date, timedelta
from decimal import Decimal

from tracker.extensions import db
from tracker.reminders import notices
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.services.clinic import get_settings

from .factories import make_user
from .reminder_fixtures import book, booster, local, maintenance_patient

FORBIDDEN_WORDS = ("infusion", "ketamine", "pain", "depression", "crps", "diagnosis", "dose", "mg/kg")
EMAIL_TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates", "email")


RANDOM_IDENTIFIERS = (
    # Message-IDs, signed tokens and calendar UIDs are random; by chance they could hold digits
    # such as "0.75", so they are replaced before the text is searched.
    (re.compile(r"<[^<>@\s]+@[^<>\s]+>"), "<message-id>"),
    (re.compile(r"/unsubscribe/[\w.-]+"), "/unsubscribe/TOKEN"),
    (re.compile(r"^UID:.*$", re.MULTILINE), "UID:uid"),
)


def every_part_as_text(message) -> str:
    """Headers plus every decoded part (text, HTML, attachments), random identifiers masked."""
    chunks = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.is_multipart():
            continue
        content = part.get_content()
        chunks.append(content.decode("utf-8", "replace") if isinstance(content, bytes) else content)
    text = "\n".join(chunks)
    for pattern, replacement in RANDOM_IDENTIFIERS:
        text = pattern.sub(replacement, text)
    return text


def written_messages(app):
    folder = app.config["MAIL_OUTBOX_DIR"]
    found = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as handle:
            found.append(email.message_from_binary_file(handle, policy=email.policy.default))
    return found


def test_every_patient_template_is_minimal(app_ctx):
    """Rendered for a real patient with clinical data, no patient email shows a clinical word or field."""
    settings = get_settings()
    settings.clinic_name = "Ketamine Infusion Pain Centre"  # the clinic's own name must never be used
    settings.display_name = "Riverside Appointments"
    settings.phone = "555-0199"
    settings.address = "12 Elm Street, Springfield"
    db.session.commit()
    anchor = date(2026, 3, 2)
    patient, course = maintenance_patient(
        anchor, first_name="Robin", last_name="Zimmerwald", mrn="MRN-PRIV-77", email="robin@example.test",
        date_of_birth=date(1971, 9, 14), phone="555-0123")
    course.indication = "CRPS of the left arm; depression"
    infusion = course.infusions[0]
    infusion.weight_kg, infusion.dose_mg_per_kg, infusion.total_mg = Decimal("81.5"), Decimal("0.75"), Decimal("61.13")
    infusion.pain_before, infusion.pain_after = 8, 3
    infusion.notes, infusion.adverse_effects = "Ketamine well tolerated", "mild nausea"
    db.session.commit()

    # window_upcoming, then window_closing for the same window, then an appointment reminder.
    assert run_sweep(clock=Clock.on_date(date(2026, 3, 25), settings), manual=True).sent == 1
    assert run_sweep(clock=Clock.on_date(date(2026, 5, 17), settings), manual=True).sent == 1
    book(patient, course, local(date(2026, 5, 20), 10))
    db.session.commit()
    assert run_sweep(clock=Clock.on_date(date(2026, 5, 18), settings), manual=True).sent == 1

    messages = written_messages(app_ctx)
    subjects = [m["Subject"] for m in messages]
    assert len(messages) == 3, subjects
    forbidden_values = [patient.last_name, patient.mrn, "1971-09-14", "14 September 1971", "555-0123",
                        "81.5", "0.75", "61.13", "nausea", "tolerated", "left arm", settings.clinic_name]
    for message in messages:
        text = every_part_as_text(message)
        lowered = text.lower()
        for word in FORBIDDEN_WORDS:
            assert word not in lowered, (message["Subject"], word)
        for value in forbidden_values:
            assert value.lower() not in lowered, (message["Subject"], value)
        assert "Robin" in text and "Riverside Appointments" in text
        assert "555-0199" in text and "12 Elm Street" in text
        assert re.search(r"/unsubscribe/[\w.-]+", text)
        assert message["From"].startswith("Riverside Appointments <")


def test_every_visit_notice_is_minimal(app_ctx):
    """Booked, moved and cancelled notices (text, HTML and .ics) hold no clinical word or field."""
    settings = get_settings()
    settings.clinic_name = "Ketamine Infusion Pain Centre"
    settings.display_name = "Riverside Appointments"
    settings.phone = "555-0199"
    settings.address = "12 Elm Street, Springfield"
    patient, course = maintenance_patient(
        date(2026, 3, 2), first_name="Robin", last_name="Zimmerwald", mrn="MRN-PRIV-78",
        email="robin@example.test", date_of_birth=date(1971, 9, 14), phone="555-0123")
    course.indication = "CRPS of the left arm; depression"
    course.infusions[0].notes = "Ketamine well tolerated"
    visit = book(patient, course, local(date(2026, 5, 20), 10))
    visit.notes = "bring pain diary"
    now = local(date(2026, 5, 1), 10)
    clock = Clock.for_settings(now, settings)
    assert notices.visit_booked(visit, now=now, settings=settings)
    db.session.commit()
    assert run_sweep(clock=clock, manual=True).sent == 1
    visit.start_at += timedelta(days=1)
    visit.end_at += timedelta(days=1)
    visit.sequence += 1
    assert notices.visit_moved(visit, now=now, settings=settings)
    db.session.commit()
    assert run_sweep(clock=clock, manual=True).sent == 1
    visit.status, visit.cancel_reason = "cancelled", "clinic"
    assert notices.visit_cancelled(visit, now=now, settings=settings)
    db.session.commit()
    assert run_sweep(clock=clock, manual=True).sent == 1
    messages = written_messages(app_ctx)
    assert len(messages) == 3
    forbidden_values = [patient.last_name, patient.mrn, "1971-09-14", "555-0123", "left arm", "diary",
                        "tolerated", settings.clinic_name, "Maintenance"]
    for message in messages:
        text = every_part_as_text(message)
        for word in FORBIDDEN_WORDS:
            assert word not in text.lower(), (message["Subject"], word)
        for value in forbidden_values:
            assert value.lower() not in text.lower(), (message["Subject"], value)
        assert "Robin" in text and "Riverside Appointments" in text and "555-0199" in text
        assert "12 Elm Street" in text and re.search(r"/unsubscribe/[\w.-]+", text)


def test_every_template_pair_is_complete_and_used(app_ctx):
    """Each email kind has a .txt and an .html template, and each patient kind is rendered above."""
    names = {name.rsplit(".", 1)[0] for name in os.listdir(EMAIL_TEMPLATES) if not name.startswith("_")}
    for name in names:
        assert os.path.exists(os.path.join(EMAIL_TEMPLATES, f"{name}.txt"))
        assert os.path.exists(os.path.join(EMAIL_TEMPLATES, f"{name}.html"))
    # The self-service pairs (and reactivation) are rendered in tests/test_patient_links_privacy.py.
    assert names == {"window_upcoming", "window_closing", "appointment", "staff_digest",
                     "visit_booked_online", "patient_links", "visit_booked", "visit_moved", "visit_cancelled",
                     "reactivation", "waitlist_offer", "check_in"}


def test_staff_digest_carries_counts_and_a_link_only(app_ctx):
    """The staff digest counts the unbooked patients per status and links to the worklist; it
    names no patient, no MRN and nothing clinical."""
    make_user(role="frontdesk")
    patient, course = maintenance_patient(date(2026, 2, 1), first_name="Sam", last_name="Quill")
    course.indication = "Chronic migraine"
    booster_day = date(2026, 2, 20)
    booster(course, booster_day)
    db.session.commit()
    on = booster_day + timedelta(days=40)
    assert run_sweep(clock=Clock.for_settings(local(on, 7), get_settings())).sent == 1
    (message,) = written_messages(app_ctx)
    text = every_part_as_text(message)
    assert "Quill" not in text and "Sam" not in text and patient.mrn not in text
    for word in ("migraine", "infusion", "ketamine", "pain", "dose"):
        assert word not in text.lower()
    plain = message.get_body(("plain",)).get_content()
    assert "Unbooked patients on the worklist for Wed 1 Apr 2026: 1." in plain
    assert "Due: 1" in plain and "Overdue: 0" in plain and "/worklist/" in plain
    html = message.get_body(("html",)).get_content()
    assert re.search(r'<a href="[^"]*/worklist/"[^>]*>Open the worklist</a>', html)


def test_reactivation_and_online_booking_messages_are_minimal(app_ctx):
    """The message asking an overdue patient to book again and the online booking confirmation,
    sent by the sweep (text, HTML and .ics), hold no clinical word or field."""
    settings = get_settings()
    settings.clinic_name = "Ketamine Infusion Pain Centre"
    settings.display_name = "Riverside Appointments"
    settings.phone = "555-0199"
    settings.address = "12 Elm Street, Springfield"
    patient, course = maintenance_patient(
        date(2026, 1, 2), first_name="Robin", last_name="Zimmerwald", mrn="MRN-PRIV-79",
        email="robin@example.test", date_of_birth=date(1971, 9, 14), phone="555-0123")
    course.indication = "CRPS of the left arm; depression"
    course.infusions[0].notes = "Ketamine well tolerated"
    db.session.commit()
    overdue_day = date(2026, 4, 10)  # the window closed on 2026-04-02
    assert run_sweep(clock=Clock.for_settings(local(overdue_day, 10), settings)).sent == 1
    visit = book(patient, course, local(date(2026, 4, 20), 10))
    visit.notes = "Booked online"
    now = local(overdue_day, 11)
    assert notices.visit_booked_online(visit, now=now, settings=settings)
    db.session.commit()
    assert run_sweep(clock=Clock.for_settings(now, settings), manual=True).sent == 1
    messages = written_messages(app_ctx)
    assert sorted(m["Subject"] for m in messages) == [
        "Book your next visit with Riverside Appointments", "Your visit on Mon 20 Apr 2026 at 10:00"]
    forbidden_values = [patient.last_name, patient.mrn, "1971-09-14", "555-0123", "left arm",
                        "tolerated", settings.clinic_name, "Maintenance"]
    for message in messages:
        text = every_part_as_text(message)
        for word in FORBIDDEN_WORDS:
            assert word not in text.lower(), (message["Subject"], word)
        for value in forbidden_values:
            assert value.lower() not in text.lower(), (message["Subject"], value)
        assert "Robin" in text and "Riverside Appointments" in text and "555-0199" in text
        assert re.search(r"/unsubscribe/[\w.-]+", text) and "/my/" in text


def test_check_in_message_is_minimal(app_ctx):
    """The check-in message, sent by a real sweep on day 7 for a patient whose record holds
    clinical words and scores: no clinical word, no score, no instrument, no record field."""
    from tracker.check_ins import settings as check_ins
    from tracker.outcomes import service as outcomes

    settings = get_settings()
    settings.clinic_name = "Ketamine Infusion Pain Centre"
    settings.display_name = "Riverside Appointments"
    settings.phone = "555-0199"
    settings.address = "12 Elm Street, Springfield"
    check_ins.update_settings("system", {"enabled": True, "days": "7", "instruments": ["pain_nrs", "phq9"],
                                         "phq9_threshold": 10, "pain_return_percent": 30})
    anchor = date(2026, 3, 2)
    patient, course = maintenance_patient(
        anchor, first_name="Robin", last_name="Zimmerwald", mrn="MRN-PRIV-79", email="robin@example.test",
        date_of_birth=date(1971, 9, 14), phone="555-0123")
    course.indication = "CRPS of the left arm; depression"
    course.infusions[0].notes = "Ketamine well tolerated"
    outcomes.record_measure(patient, actor="system", instrument="phq9", answers=[3, 3, 3, 2, 2, 1, 1, 1, 1],
                            taken_at=local(anchor, 9), taken_on=anchor, today=anchor, course_id=course.id)
    db.session.commit()
    assert run_sweep(clock=Clock.on_date(anchor + timedelta(days=7), settings), manual=True).sent == 1
    [message] = written_messages(app_ctx)
    # The signed link is random: masked, so that by chance it could not spell "nrs".
    text = re.sub(r"/my/check-in/[\w.-]+", "/my/check-in/TOKEN", every_part_as_text(message))
    lowered = text.lower()
    for word in FORBIDDEN_WORDS + ("phq", "score", "nrs", "relief"):
        assert word not in lowered, word
    for value in (patient.last_name, patient.mrn, "1971-09-14", "555-0123", "left arm", "tolerated",
                  settings.clinic_name):
        assert value.lower() not in lowered, value
    # The PHQ-9 total on record (17) is nowhere in what the patient reads: the subject and the
    # bodies, the signed link masked (the Date header may hold a minute :17).
    read = "\n".join([message["Subject"], *(message.get_body((part,)).get_content() for part in ("plain", "html"))])
    assert not re.search(r"\b17\b", re.sub(r"/my/check-in/[\w.-]+", "/my/check-in/TOKEN", read))
    assert "Robin" in text and "Riverside Appointments" in text and "/my/check-in/" in text
    assert re.search(r"/unsubscribe/[\w.-]+", text)
