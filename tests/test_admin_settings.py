"""Admin: every clinic setting with field-level errors, audited; the mail settings in force."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from tracker.admin.forms import SettingsForm
from tracker.extensions import db
from tracker.models import AuditEvent, ClinicSettings

from .test_admin_users import errors

NEW_VALUES = {
    "clinic_name": "Riverside Pain Clinic", "display_name": "Riverside appointments",
    "phone": "+1 555 0199", "address": "12 River Road\nSpringfield", "timezone": "Europe/London",
    "default_min_days": "28", "default_max_days": "84", "default_series_planned": "10",
    "lapse_grace_days": "60", "series_max_gap_days": "10", "max_dose_mg_per_kg": "2.5",
    "upcoming_days": "21", "window_upcoming_days": "5", "window_closing_days": "10",
    "appointment_hours": "24", "send_hours_start": "9", "send_hours_end": "18", "digest_hour": "6",
    "max_send_attempts": "4", "default_prep_min": "20", "default_recovery_min": "30",
    "date_style": "long", "time_style": "12h",
    "dose_change_warn_percent": "40",
    "date_order": "DMY", "recall_quiet_days": "5",
    # patient self-service
    "online_min_notice_hours": "48", "online_horizon_days": "30", "online_cutoff_hours": "12",
    "online_late_cancel": "y", "online_bookings_confirmed": "y",
    "reactivation_messages": "3", "reactivation_interval_days": "10",
    "waitlist_offers": "2", "waitlist_offer_hours": "6",
    # staff logins
    "idle_timeout_minutes": "20", "two_factor_for_everyone": "y",
}


def _current(app) -> dict:
    with app.app_context():
        settings = db.session.get(ClinicSettings, 1)
        return {name: str(getattr(settings, name)) for name in NEW_VALUES}


def test_every_setting_is_edited_on_exactly_one_page():
    """Each ClinicSettings column (but the id) has a field on the settings page or on the capacity
    page, never on both."""
    from tracker.schedule.forms import CapacityForm

    columns = {c.name for c in ClinicSettings.__table__.columns} - {"id"}
    fields = {name for names in SettingsForm.GROUPS.values() for name in names}
    capacity = {name for name in CapacityForm.__dict__ if name in columns}
    assert capacity == {"max_concurrent_per_clinician", "slot_step_min"}
    assert fields | capacity == columns and not fields & capacity
    assert fields == set(NEW_VALUES)


def test_settings_page_shows_current_values(client, login_as):
    """Every setting is shown in a labelled field holding its current value."""
    login_as("admin")
    body = client.get("/admin/settings").get_data(as_text=True)
    for name in NEW_VALUES:
        assert f'<label for="{name}">' in body
    assert '<option selected value="America/New_York">America/New York</option>' in body
    assert 'value="30"' in body and 'value="90"' in body
    assert '<option selected value="weekday">Wed 2 Dec 2026</option>' in body


def test_saving_every_setting_is_audited(client, login_as, app):
    """A valid form saves every value and records one audit event with only what changed."""
    admin = login_as("admin")
    response = client.post("/admin/settings", data=NEW_VALUES)
    assert response.status_code == 303
    with app.app_context():
        settings = db.session.get(ClinicSettings, 1)
        for name, value in NEW_VALUES.items():
            stored = getattr(settings, name)
            if isinstance(stored, Decimal):
                assert stored == Decimal(value)
            elif isinstance(stored, bool):  # a ticked checkbox posts "y"
                assert stored is (value == "y"), name
            else:
                assert str(stored) == value, name
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity == "clinic_settings"))
        assert (event.action, event.user_id, event.patient_id) == ("update", admin.id, None)
        assert event.changes["before"]["timezone"] == "America/New_York"
        assert event.changes["after"]["timezone"] == "Europe/London"
        assert event.changes["after"]["max_dose_mg_per_kg"] == "2.500"
        assert set(event.changes["after"]) == set(NEW_VALUES)
    again = client.post("/admin/settings", data=NEW_VALUES)  # nothing changed: nothing audited
    assert again.status_code == 303
    with app.app_context():
        assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "clinic_settings")).all()) == 1


@pytest.mark.parametrize("changes, field, message", [
    ({"default_min_days": "60", "default_max_days": "45"}, "default_max_days", "The window cannot close before it opens"),
    ({"send_hours_start": "18", "send_hours_end": "18"}, "send_hours_end", "The sending hours must end after they start."),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Not a valid choice."),
    ({"timezone": "../../etc/passwd"}, "timezone", "Not a valid choice."),
    ({"timezone": ""}, "timezone", "Choose the clinic&#39;s time zone."),
    ({"date_style": "%Y"}, "date_style", "Not a valid choice."),
    ({"time_style": "36h"}, "time_style", "Not a valid choice."),
    ({"clinic_name": "  "}, "clinic_name", "Enter the clinic name."),
    ({"display_name": "Clinic\r\nBcc: everyone@example.org"}, "display_name", "Keep this on one line."),
    ({"phone": "555\x07"}, "phone", "Remove the control characters from this field."),
    ({"address": "x" * 301}, "address", "Field cannot be longer than 300 characters."),
    ({"default_min_days": "-1"}, "default_min_days", "Enter a whole number from 0 to 3650."),
    ({"default_series_planned": "0"}, "default_series_planned", "Enter a whole number from 1 to 30."),
    ({"default_series_planned": "31"}, "default_series_planned", "Enter a whole number from 1 to 30."),
    ({"lapse_grace_days": "ninety"}, "lapse_grace_days", "Enter a whole number."),
    ({"lapse_grace_days": "99999999999999999999"}, "lapse_grace_days", "Enter a whole number from 0 to 3650."),
    ({"max_dose_mg_per_kg": "NaN"}, "max_dose_mg_per_kg", "Enter a number."),
    ({"max_dose_mg_per_kg": "sNaN"}, "max_dose_mg_per_kg", "Enter a number."),
    ({"max_dose_mg_per_kg": "Infinity"}, "max_dose_mg_per_kg", "Enter a number."),
    ({"max_dose_mg_per_kg": "0"}, "max_dose_mg_per_kg", "Enter a dose from 0.001 to 100."),
    ({"digest_hour": "24"}, "digest_hour", "Enter a whole number from 0 to 23."),
    ({"appointment_hours": ""}, "appointment_hours", "Enter a whole number."),
    ({"max_send_attempts": "0"}, "max_send_attempts", "Enter a whole number from 1 to 20."),
])
def test_bad_values_get_field_errors_and_change_nothing(client, login_as, app, changes, field, message):
    """Each bad value is named on its own field (announced next to it) and nothing is saved."""
    login_as("admin")
    before = _current(app)
    response = client.post("/admin/settings", data={**NEW_VALUES, **changes})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    shown = re.search(rf'<p class="error" id="{field}-error" role="alert">([^<]*)</p>', body)
    assert shown and message.replace("'", "&#39;") in shown.group(1), errors(response)
    assert f'aria-describedby="{field}-error"' in body or f'{field}-error"' in body
    assert _current(app) == before
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.entity == "clinic_settings")) is None


def test_service_refuses_what_the_database_would(app_ctx):
    """update_settings itself refuses min > max and start >= end as field errors (never a failed commit)."""
    from tracker.services.clinic import update_settings
    from tracker.services.errors import RuleError

    with pytest.raises(RuleError) as caught:
        update_settings(None, {"default_min_days": 100, "default_max_days": 50})
    assert caught.value.field == "default_max_days"
    db.session.rollback()
    with pytest.raises(RuleError) as caught:
        update_settings(None, {"send_hours_start": 20, "send_hours_end": 8})
    assert caught.value.field == "send_hours_end"


def test_mail_settings_shown_without_the_password(client, login_as, app):
    """With SMTP configured the page shows server, port, TLS mode and sender, never the password."""
    app.config.update(MAIL_SERVER="smtp.clinic.test", MAIL_PORT=587, MAIL_USE_STARTTLS=True,
                      MAIL_USERNAME="mailer", MAIL_PASSWORD="hunter2-very-secret",
                      MAIL_FROM_ADDRESS="reminders@clinic.test")
    login_as("admin")
    body = client.get("/admin/settings").get_data(as_text=True)
    for shown in ("smtp.clinic.test", "587", "STARTTLS", "reminders@clinic.test", "set (not shown)"):
        assert shown in body
    assert "hunter2-very-secret" not in body


def test_mail_settings_without_a_server_say_where_mail_goes(client, login_as, app):
    """Without SMTP the page says messages are written as .eml files to the outbox folder."""
    app.config.update(MAIL_SERVER=None)
    login_as("admin")
    body = client.get("/admin/settings").get_data(as_text=True)
    assert "No SMTP server" in body and app.config["MAIL_OUTBOX_DIR"] in body


def test_mail_settings_name_the_instance_outbox_by_default(client, login_as, app):
    """With no outbox folder set, the page names the folder the file backend really writes to."""
    import os

    app.config.update(MAIL_SERVER=None, MAIL_OUTBOX_DIR=None)
    login_as("admin")
    body = client.get("/admin/settings").get_data(as_text=True)
    assert os.path.join(app.instance_path, "outbox") in body


def test_mail_settings_with_implicit_tls(client, login_as, app):
    """SMTPS (TLS from the start) is named as such."""
    app.config.update(MAIL_SERVER="smtp.clinic.test", MAIL_PORT=465, MAIL_USE_SSL=True, MAIL_PASSWORD=None)
    login_as("admin")
    body = client.get("/admin/settings").get_data(as_text=True)
    assert "TLS from the start (SMTPS)" in body and "465" in body
