"""Clinically due: entries raised by a check-in, on the worklist in their own section before any
window opens; a clinician accepts (due now until the next session) or dismisses (with a reason,
audited); the front desk sees the entry but no score; the relief duration on the patient page."""

from datetime import timedelta

from sqlalchemy import select

from tracker.check_ins import decisions, service
from tracker.check_ins import settings as check_in_settings
from tracker.extensions import db
from tracker.models import AuditEvent, CheckInSettings, ClinicallyDue, Course, utcnow
from tracker.outcomes import service as outcomes
from tracker.services.clinic import clinic_today, get_settings
from tracker.services.infusions import record_infusion

from .check_in_fixtures import answers, check_in_patient, link
from .patient_link_fixtures import local


def raised(app, client, **extra):
    """A patient ten days after a session whose check-in (PHQ-9 of 10) raised an entry."""
    with app.app_context():
        patient, course = check_in_patient(last_name="Zimmerwald")
        url = link(app, patient, course)
        ids = patient.id, course.id
    assert client.post(url, data=answers(**extra)).status_code == 303
    with app.app_context():
        entry = db.session.scalars(select(ClinicallyDue)).one()
        return (*ids, entry.id)


def test_worklist_shows_the_entry_with_the_score_for_clinicians_only(app, client, login_as):
    """Before the window opens (day 10 of 30), the patient is on the worklist as clinically due;
    the clinician sees the score, the front desk the reason in words and no score."""
    patient_id, _, _ = raised(app, app.test_client())
    login_as("clinician")
    page = client.get("/worklist/").get_data(as_text=True)
    assert "Clinically due" in page and "Zimmerwald" in page
    assert "PHQ-9 10 (rule: 10 or more)" in page and ">Accept<" in page
    client.post("/logout")
    login_as("frontdesk")
    for url in ("/worklist/", f"/patients/{patient_id}"):
        page = client.get(url).get_data(as_text=True)
        assert "A check-in score crossed a clinic rule" in page and "Zimmerwald" in page
        assert "PHQ-9 10" not in page and "rule: 10" not in page
        assert ">Accept<" not in page


def test_front_desk_cannot_accept_or_dismiss(app, client, login_as):
    """Accepting and dismissing are a clinician's (403 for the front desk, nothing changed)."""
    _, _, entry_id = raised(app, app.test_client())
    login_as("frontdesk")
    assert client.post(f"/check-ins/due/{entry_id}/accept").status_code == 403
    assert (
        client.post(f"/check-ins/due/{entry_id}/dismiss", data={"reason": "x"}).status_code == 403
    )
    with app.app_context():
        assert db.session.get(ClinicallyDue, entry_id).state == "open"


def test_accept_makes_the_patient_due_now_until_the_next_session(app, client, login_as):
    """Accepted: shown as due now, audited; a new qualifying session ends it."""
    patient_id, course_id, entry_id = raised(app, app.test_client())
    user = login_as("clinician")
    done = client.post(f"/check-ins/due/{entry_id}/accept", data={"next": "/worklist/"})
    assert done.status_code == 303
    page = client.get("/worklist/").get_data(as_text=True)
    assert "Due now" in page and "until the next session" in page
    with app.app_context():
        entry = db.session.get(ClinicallyDue, entry_id)
        assert (entry.state, entry.decided_by_id) == ("accepted", user.id)
        event = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity == "clinically_due", AuditEvent.action == "accepted"
            )
        ).one()
        assert event.user_id == user.id and event.patient_id == patient_id
        again = client.post(f"/check-ins/due/{entry_id}/accept", follow_redirects=True)
        assert "already decided" in again.get_data(as_text=True)
        today = clinic_today()
        record_infusion(
            db.session.get(Course, course_id),
            actor="system",
            settings=get_settings(),
            today=today,
            given_at=local(today, 9),
            require_early_reason=False,
        )
        db.session.commit()
    assert 'id="clinically-due"' not in client.get("/worklist/").get_data(as_text=True)


def test_dismiss_needs_a_reason_and_is_audited(app, client, login_as):
    """No reason: a field error and nothing changed; with one: dismissed, kept, audited, gone
    from the worklist."""
    _, _, entry_id = raised(app, app.test_client())
    login_as("clinician")
    form = client.get(f"/check-ins/due/{entry_id}/dismiss")
    assert form.status_code == 200 and "Why dismiss it?" in form.get_data(as_text=True)
    refused = client.post(f"/check-ins/due/{entry_id}/dismiss", data={"reason": "  "})
    assert refused.status_code == 400
    assert "Say why this entry is dismissed." in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ClinicallyDue, entry_id).state == "open"
    done = client.post(
        f"/check-ins/due/{entry_id}/dismiss",
        data={"reason": "Spoke to the patient: the next visit is soon enough."},
    )
    assert done.status_code == 303
    with app.app_context():
        entry = db.session.get(ClinicallyDue, entry_id)
        assert (entry.state, entry.dismiss_reason) == (
            "dismissed",
            "Spoke to the patient: the next visit is soon enough.",
        )
        assert (
            db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.entity == "clinically_due", AuditEvent.action == "dismissed"
                )
            )
            .one()
            .changes["after"]["dismiss_reason"]
            .startswith("Spoke")
        )
    assert 'id="clinically-due"' not in client.get("/worklist/").get_data(as_text=True)
    assert client.post("/check-ins/due/99999/accept").status_code == 404


def test_one_entry_per_session_waits_for_a_clinician(app, client):
    """A second check-in after the same session (relief worn off and a PHQ-9 of 10 again) adds
    no second entry while the first is open; after a dismissal a new one may be raised."""
    with app.app_context():
        patient, course = check_in_patient()
        now, today = utcnow(), clinic_today()
        for reason in ("relief_worn_off", "phq9_threshold"):
            service.raise_due(
                course, reason, "", session_on=course.last_qualifying_on, now=now, today=today
            )
        assert len(db.session.scalars(select(ClinicallyDue)).all()) == 1
        entry = db.session.scalars(select(ClinicallyDue)).one()
        decisions.dismiss(entry, actor="system", reason="seen", now=now)
        assert (
            service.raise_due(
                course,
                "phq9_threshold",
                "",
                session_on=course.last_qualifying_on,
                now=now,
                today=today,
            )
            is not None
        )


def test_pain_back_near_baseline_raises_an_entry(app, client):
    """Pain 6 after a baseline of 8 (within 30%): clinically due, with the detail."""
    with app.app_context():
        patient, course = check_in_patient(pain_before=8)
        url = link(app, patient, course)
    assert client.post(url, data={"q1_1": "6"}).status_code == 303
    with app.app_context():
        entry = db.session.scalars(select(ClinicallyDue)).one()
        assert (entry.reason, entry.detail) == (
            "pain_returned",
            "Pain NRS 6, back within 30% of the baseline 8",
        )


def test_patient_page_shows_relief_duration_and_suggested_interval(app, client, login_as):
    """Two sessions, each followed by a PHQ-9 crossing 10 after 20 and 24 days: a median of 22
    days and a suggested interval of 22, with no change to the window."""
    with app.app_context():
        patient, course = check_in_patient(days_since_session=60)
        first = course.last_qualifying_on
        second = first + timedelta(days=30)
        record_infusion(
            course,
            actor="system",
            settings=get_settings(),
            today=second,
            given_at=local(second, 10),
            require_early_reason=False,
        )
        for day, total in (
            (first + timedelta(days=20), [2] * 5 + [0] * 4),
            (second + timedelta(days=24), [3] * 4 + [0] * 5),
        ):
            outcomes.record_measure(
                patient,
                actor="system",
                instrument="phq9",
                answers=total,
                taken_at=local(day, 9),
                taken_on=day,
                today=clinic_today(),
                course_id=course.id,
            )
        db.session.commit()
        patient_id, min_days = patient.id, course.min_days
    login_as("clinician")
    page = client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "a median of 22 days" in page and "Suggested interval:</strong> 22 days" in page
    assert f"the window now opens {min_days} days after a session" in page
    with app.app_context():
        assert db.session.get(Course, course.id).min_days == min_days
    client.post("/logout")
    login_as("frontdesk")
    assert "Observed relief" not in client.get(f"/patients/{patient_id}").get_data(as_text=True)


def test_settings_page_checks_its_fields(app, client, login_as):
    """Admins only; bad days or a threshold off the scale are field errors and nothing is saved;
    good values are saved and audited."""
    login_as("clinician")
    assert client.get("/check-ins/settings").status_code == 403
    client.post("/logout")
    login_as("admin")
    assert "Patient check-ins" in client.get("/check-ins/settings").get_data(as_text=True)
    bad = client.post(
        "/check-ins/settings",
        data={"enabled": "y", "days": "7, x", "instruments": ["phq9"], "phq9_threshold": "10"},
    )
    assert bad.status_code == 400 and "whole numbers of days" in bad.get_data(as_text=True)
    off_scale = client.post("/check-ins/settings", data={"days": "7", "phq9_threshold": "28"})
    assert off_scale.status_code == 400 and "from 1 to 27" in off_scale.get_data(as_text=True)
    nothing = client.post("/check-ins/settings", data={"enabled": "y", "days": "7"})
    assert nothing.status_code == 400 and "Choose at least one instrument" in nothing.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(CheckInSettings, 1) is None
    saved = client.post(
        "/check-ins/settings",
        data={
            "enabled": "y",
            "days": "28, 7,14",
            "instruments": ["gad7", "phq9"],
            "phq9_threshold": "12",
            "pain_return_percent": "",
        },
    )
    assert saved.status_code == 303
    with app.app_context():
        settings = check_in_settings.get_check_in_settings()
        assert (settings.enabled, settings.days, settings.instruments) == (
            True,
            "7,14,28",
            "gad7,phq9",
        )
        assert (settings.phq9_threshold, settings.pain_return_percent) == (12, None)
        assert db.session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "check_in_settings")
        ).one()


def test_one_check_in_raises_one_entry_naming_every_score_that_crossed(app, client):
    """Relief worn off with pain 6 (baseline 8) and a PHQ-9 of 10: one entry, for the patient's
    word, whose detail names both scores."""
    with app.app_context():
        patient, course = check_in_patient(pain_before=8)
        url = link(app, patient, course)
    assert client.post(url, data=answers(q1_1="6", relief_worn_off="yes")).status_code == 303
    with app.app_context():
        entry = db.session.scalars(select(ClinicallyDue)).one()
        assert (entry.reason, entry.detail) == (
            "relief_worn_off",
            "Pain NRS 6, back within 30% of the baseline 8; PHQ-9 10 (rule: 10 or more)",
        )


def test_a_score_recorded_by_staff_that_crosses_a_rule_raises_an_entry(app, client, login_as):
    """A PHQ-9 of 12 taken by a clinician (in the clinic or on the phone) raises the entry as a
    check-in's would; an incomplete one and one under the rule raise nothing."""
    with app.app_context():
        patient, _ = check_in_patient(last_name="Okonkwo")
        patient_id = patient.id
        zone = local(clinic_today(), 0).tzinfo
    login_as("clinician")
    new = f"/patients/{patient_id}/outcomes/phq9/new"
    taken = (utcnow() - timedelta(hours=1)).astimezone(zone)

    def phq9(answers):
        data = {"taken_at": taken.strftime("%Y-%m-%dT%H:%M"), "source": "in_clinic"}
        data.update({f"item_{n}": "" if a is None else str(a) for n, a in enumerate(answers, 1)})
        return client.post(new, data=data)

    assert phq9([1] * 9).status_code == 303  # 9: under the rule of 10
    assert phq9([2] * 8 + [None]).status_code == 303  # incomplete: no score
    with app.app_context():
        assert db.session.scalars(select(ClinicallyDue)).all() == []
    assert phq9([2] * 6 + [0] * 3).status_code == 303  # 12
    with app.app_context():
        (entry,) = db.session.scalars(select(ClinicallyDue)).all()
        assert (entry.patient_id, entry.state, entry.reason) == (
            patient_id,
            "open",
            "phq9_threshold",
        )
    page = client.get("/worklist/").get_data(as_text=True)
    assert "Clinically due" in page and "Okonkwo" in page and "PHQ-9 12" in page
