"""services.patients and the patient page's drawings, called directly."""
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AuditEvent, Patient
from tracker.patients import charts
from tracker.scheduling import window_for
from tracker.services.errors import RuleError
from tracker.services.patients import (
    clean_values,
    create_patient,
    phone_problem,
    possible_duplicates,
    update_patient,
)

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)
VALUES = {"mrn": " P-1 ", "first_name": " Ana ", "last_name": "Silva", "date_of_birth": date(1960, 1, 2),
          "email": "ana@example.org", "phone": "", "email_consent": True, "email_opt_out": False}


def test_create_trims_and_records_consent_time(app_ctx):
    """Text is trimmed, an empty phone is None, consent is stamped with the time given."""
    patient = create_patient(VALUES, actor="test", today=TODAY, now=NOW)
    assert (patient.mrn, patient.first_name, patient.phone) == ("P-1", "Ana", None)
    assert patient.consent_recorded_at == NOW and patient.email_opt_out_at is None
    event = db.session.scalar(select(AuditEvent))
    assert (event.actor, event.action, event.patient_id) == ("test", "create", patient.id)


@pytest.mark.parametrize("changes, field", [
    ({"mrn": "P-1"}, "mrn"),
    ({"date_of_birth": date(2026, 11, 27)}, "date_of_birth"),
    ({"date_of_birth": date(1850, 1, 1)}, "date_of_birth"),
    ({"email": "not-an-address"}, "email"),
    ({"last_name": "   "}, "last_name"),
])
def test_create_refuses_bad_values_on_their_field(app_ctx, changes, field):
    """Duplicate MRN, future or implausible birth date, bad email, blank name: RuleError on the field."""
    create_patient(VALUES, actor="test", today=TODAY)
    with pytest.raises(RuleError) as error:
        create_patient({**VALUES, "mrn": "P-2", **changes}, actor="test", today=TODAY)
    assert error.value.field == field


def test_opt_out_then_fresh_consent(app_ctx):
    """An opt-out is stamped once and stops email; a fresh consent clears it with a new stamp."""
    patient = create_patient(VALUES, actor="test", today=TODAY, now=NOW)
    later = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    opted_out = {**VALUES, "email_consent": False, "email_opt_out": True}
    update_patient(patient, opted_out, actor="test", today=TODAY, now=later)
    assert patient.email_opt_out_at == later and not patient.may_email
    update_patient(patient, opted_out, actor="test", today=TODAY, now=NOW)
    assert patient.email_opt_out_at == later  # the first opt-out time is kept
    update_patient(patient, VALUES, actor="test", today=TODAY, now=later)
    assert patient.email_opt_out_at is None and patient.consent_recorded_at == later and patient.may_email


def test_unchanged_edit_is_not_audited(app_ctx):
    """Saving a patient without changes adds no audit event."""
    patient = create_patient(VALUES, actor="test", today=TODAY, now=NOW)
    update_patient(patient, VALUES, actor="test", today=TODAY, now=NOW)
    assert len(db.session.scalars(select(AuditEvent)).all()) == 1


def test_timeline_orders_marks_and_clamps_today():
    """Anchor, opens and closes sit left to right; a today long past the lapse sits at the right edge."""
    window = window_for(date(2026, 3, 13), 30, 90)
    line = charts.timeline(window, date(2027, 6, 1), window.lapsed_from(90), [date(2026, 3, 13)])
    assert line.anchor.x < line.opens.x < line.closes.x < line.overdue_end_x <= line.today.x
    assert line.today_clamped and line.today.x == charts.TIMELINE_RIGHT
    assert [s.day for s in line.sessions] == [date(2026, 3, 13)]
    inside = charts.timeline(window, date(2026, 5, 1), window.lapsed_from(90), [])
    assert not inside.today_clamped and inside.opens.x < inside.today.x < inside.closes.x


def test_pain_chart_scale_and_gaps():
    """Pain 10 is drawn at the top, 0 at the bottom; a missing score leaves no point."""
    sessions = [SimpleNamespace(given_at=datetime(2026, 3, d, tzinfo=timezone.utc), given_on=date(2026, 3, d),
                                pain_before=before, pain_after=after)
                for d, before, after in ((2, 10, 0), (4, 6, None), (6, None, None))]
    chart = charts.pain_chart(sessions)
    assert [p.day.day for p in chart.points] == [2, 4]
    assert chart.points[0].y_before == charts.CHART_TOP and chart.points[0].y_after == charts.CHART_BOTTOM
    assert chart.line("y_after").count(",") == 1
    assert charts.pain_chart(sessions[2:]) is None


def test_consent_and_opt_out_together_is_a_field_error(app_ctx):
    """Both boxes ticked is refused on the opt-out field; nothing is saved."""
    with pytest.raises(RuleError) as error:
        create_patient({**VALUES, "email_opt_out": True}, actor="test", today=TODAY, now=NOW)
    assert error.value.field == "email_opt_out"
    assert db.session.scalars(select(Patient)).all() == []


@pytest.mark.parametrize("phone, good", [
    ("555-0100", True), ("+1 (555) 010-0199", True), ("020 7946 0958 ext. 12", True), ("555.0100 x3", True),
    ("12345", False), ("call me", False), ("555-0100-555-0100-99", False), ("+44 +20 7946", False),
])
def test_phone_numbers_are_checked_for_shape(phone, good):
    """7 to 15 digits with the usual separators and an optional extension; anything else is refused."""
    assert (phone_problem(phone) is None) is good


def test_possible_duplicates_by_name_and_birth_email_or_phone(app_ctx):
    """The same name and date of birth (any case), the same email, or the same phone digits match."""
    existing = create_patient(VALUES, actor="test", today=TODAY, now=NOW)
    by_name = clean_values({**VALUES, "mrn": "X1", "first_name": VALUES["first_name"].upper(),
                            "email": None, "phone": None})
    by_email = clean_values({**VALUES, "mrn": "X2", "first_name": "Other", "date_of_birth": date(1999, 1, 1)})
    other = clean_values({**VALUES, "mrn": "X3", "first_name": "Other", "email": "else@example.org",
                          "phone": None})
    assert possible_duplicates(by_name) == [existing]
    assert possible_duplicates(by_email) == [existing]
    assert possible_duplicates(other) == []
    assert possible_duplicates(by_name, patient_id=existing.id) == []
    existing.phone = "(555) 010-0199"
    by_phone = clean_values({**VALUES, "mrn": "X4", "first_name": "Other", "email": None, "phone": "555 010 0199"})
    assert possible_duplicates(by_phone) == [existing]
