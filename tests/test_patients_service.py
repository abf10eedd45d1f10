"""services.patients and the patient page's drawings, called directly."""
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.patients import charts
from tracker.scheduling import window_for
from tracker.services.errors import RuleError
from tracker.services.patients import create_patient, update_patient

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
    update_patient(patient, {**VALUES, "email_opt_out": True}, actor="test", today=TODAY, now=later)
    assert patient.email_opt_out_at == later and not patient.may_email
    update_patient(patient, {**VALUES, "email_opt_out": True}, actor="test", today=TODAY, now=NOW)
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
