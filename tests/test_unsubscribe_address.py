"""Unsubscribe links are bound to the address they were mailed to."""

import email
import email.policy
import os
import re
from datetime import date

from tracker.extensions import db
from tracker.models import Patient
from tracker.reminders.clock import Clock
from tracker.reminders.sending import run_sweep
from tracker.reminders.unsubscribe import make_token, unsubscribe_path
from tracker.services.clinic import get_settings
from tracker.services.patients import update_patient

from .reminder_fixtures import maintenance_patient

TODAY = date(2026, 3, 25)


def mailed_link(app) -> tuple[int, str]:
    """Send a patient their window reminder (.eml file) and return (patient id, the link's path)."""
    with app.app_context():
        patient, _ = maintenance_patient(date(2026, 3, 2), email="old.address@example.org")
        db.session.commit()
        patient_id = patient.id
        assert run_sweep(clock=Clock.on_date(TODAY, get_settings()), manual=True).sent == 1
    folder = app.config["MAIL_OUTBOX_DIR"]
    (name,) = os.listdir(folder)
    with open(os.path.join(folder, name), "rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    link = re.fullmatch(r"<(https?://[^>]+)>", message["List-Unsubscribe"]).group(1)
    return patient_id, "/" + link.split("/", 3)[3]


def change_address(app, patient_id: int, address: str) -> None:
    """Staff change the patient's email address through the patient service."""
    with app.app_context():
        patient = db.session.get(Patient, patient_id)
        values = {
            name: getattr(patient, name)
            for name in (
                "mrn",
                "first_name",
                "last_name",
                "date_of_birth",
                "phone",
                "email_consent",
            )
        }
        update_patient(
            patient, {**values, "email": address, "email_opt_out": False}, actor="test", today=TODAY
        )
        db.session.commit()


def test_old_link_after_an_address_change_is_refused(app, client):
    """After the address changes, the link mailed to the old one shows a clear refusal on GET
    and POST (one-click too) and records nothing; a link for the new address works."""
    patient_id, path = mailed_link(app)
    assert "Stop reminder emails" in client.get(path).get_data(
        as_text=True
    )  # valid until the change
    change_address(app, patient_id, "new.address@example.org")
    for response in (
        client.get(path),
        client.post(path),
        client.post(path, data={"List-Unsubscribe": "One-Click"}),
    ):
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert "sent to an email address we no longer have for you" in text
        assert "new.address" not in text and "old.address" not in text
    with app.app_context():
        assert db.session.get(Patient, patient_id).email_opt_out_at is None
        fresh = unsubscribe_path(make_token(patient_id, "new.address@example.org"))
    assert client.post(fresh).status_code == 302
    with app.app_context():
        assert db.session.get(Patient, patient_id).email_opt_out_at is not None


def test_a_change_of_letter_case_keeps_the_link(app, client):
    """Re-typing the same address in capitals is not a new address: the link still works."""
    patient_id, path = mailed_link(app)
    change_address(app, patient_id, "Old.Address@EXAMPLE.org")
    assert client.post(path).status_code == 302
    with app.app_context():
        assert db.session.get(Patient, patient_id).email_opt_out_at is not None


def test_link_carries_no_address(app):
    """The token holds a keyed digest, not the address or a plain hash of it."""
    import base64
    import hashlib

    with app.app_context():
        patient, _ = maintenance_patient(date(2026, 3, 2), email="someone@example.org")
        db.session.commit()
        token = make_token(patient.id)
    payload = base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()
    assert "someone" not in payload
    assert hashlib.sha256(b"someone@example.org").hexdigest()[:20] not in payload
