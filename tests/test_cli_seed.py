"""`flask seed-demo`: logins, booking setup and demo patients in every state."""
import json
import os
import stat

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import (
    Appointment, AppointmentType, AuditEvent, Chair, Course, Infusion, OpeningHours, Patient, User,
)
from tracker.scheduling import STATUSES
from tracker.services.courses import refresh_course


@pytest.fixture
def instance(app, tmp_path):
    """Point the app's instance folder at a temporary directory (the login file goes there)."""
    app.instance_path = str(tmp_path / "instance")
    return tmp_path / "instance"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def login_lines(path) -> dict[str, str]:
    """{email: password} from the demo login file."""
    lines = {}
    for text in path.read_text().splitlines():
        role, email, password = text.split()
        lines[email] = password
    return lines


def test_seed_demo_creates_every_state(app, runner, instance):
    """The default demo covers every status, books some due patients, and sets up chairs."""
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Added 40 demo patients." in result.stdout
    assert "Seeding patients" in result.stderr  # the progress bar
    statuses = {r["status"] for r in json.loads(runner.invoke(args=["due", "--format", "json"]).stdout)}
    assert statuses == set(STATUSES)
    with app.app_context():
        assert count(Patient) == 40 and count(Course) == 40
        assert count(Infusion) > 200
        assert db.session.scalar(select(func.count()).select_from(Infusion).where(Infusion.early)) >= 1
        assert db.session.scalar(select(func.count()).select_from(Infusion).where(
            Infusion.is_booster, ~Infusion.early, ~Infusion.late)) >= 1
        assert count(Chair) == 6 and count(AppointmentType) == 2
        assert sorted(h.weekday for h in db.session.scalars(select(OpeningHours))) == [0, 1, 2, 3, 4]
        assert count(Appointment) >= 3
        assert [e.actor for e in db.session.scalars(select(AuditEvent))] == ["seed-demo"]


def test_seeded_facts_follow_the_service_rules(app, runner, instance):
    """Recomputing each demo course with services.courses.refresh_course changes nothing."""
    assert runner.invoke(args=["seed-demo", "--patients", "24"]).exit_code == 0
    fields = ("state", "qualifying_count", "last_qualifying_on", "anchor_date", "window_opens",
              "window_closes")
    with app.app_context():
        for course in db.session.scalars(select(Course)).all():
            before = [getattr(course, f) for f in fields]
            flags = [(i.id, i.is_booster, i.early, i.late) for i in course.infusions]
            refresh_course(course)
            assert [getattr(course, f) for f in fields] == before
            assert [(i.id, i.is_booster, i.early, i.late) for i in course.infusions] == flags
        db.session.rollback()


def test_demo_logins_work_and_are_kept_private(app, client, runner, instance):
    """Three accounts with strong random passwords, printed and written to a 0600 file."""
    result = runner.invoke(args=["seed-demo", "--patients", "12"])
    assert result.exit_code == 0
    path = instance / "demo-login.txt"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    logins = login_lines(path)
    assert sorted(logins) == ["admin@example.org", "clinician@example.org", "frontdesk@example.org"]
    for email, password in logins.items():
        assert len(password) >= 16 and password in result.stdout
    with app.app_context():
        roles = dict(db.session.execute(select(User.email, User.role)).all())
    assert roles == {"admin@example.org": "admin", "clinician@example.org": "clinician",
                     "frontdesk@example.org": "frontdesk"}
    response = client.post("/login", data={"email": "frontdesk@example.org",
                                           "password": logins["frontdesk@example.org"]})
    assert response.status_code == 302
    assert client.get("/worklist/").status_code == 200


def test_if_empty_leaves_a_used_database_alone(app, runner, instance):
    """--if-empty on a database with data prints the notice and the saved logins, adds nothing."""
    assert runner.invoke(args=["seed-demo", "--patients", "12"]).exit_code == 0
    saved = (instance / "demo-login.txt").read_text()
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0
    assert "Database already has data" in again.stdout
    assert saved.strip() in again.stdout
    with app.app_context():
        assert count(Patient) == 12


def test_if_empty_seeds_an_empty_database(app, runner, instance):
    """--if-empty on a fresh database seeds it."""
    result = runner.invoke(args=["seed-demo", "--if-empty", "--patients", "12"])
    assert result.exit_code == 0 and "Added 12 demo patients." in result.stdout
    with app.app_context():
        assert count(Patient) == 12 and count(User) == 3


def test_seeding_twice_adds_patients_and_keeps_passwords(app, runner, instance):
    """A second run adds more patients with new MRNs and leaves existing accounts' passwords."""
    assert runner.invoke(args=["seed-demo", "--patients", "12"]).exit_code == 0
    first = login_lines(instance / "demo-login.txt")
    second = runner.invoke(args=["seed-demo", "--patients", "12"])
    assert second.exit_code == 0, second.output
    assert "Added 6 chairs" not in second.stdout
    assert login_lines(instance / "demo-login.txt") == first
    with app.app_context():
        assert count(Patient) == 24 and count(Chair) == 6
        assert db.session.scalar(select(func.count(func.distinct(Patient.mrn)))) == 24
