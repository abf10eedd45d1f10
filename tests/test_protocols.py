"""Protocols through the services and pages: the shipped templates, a course walking its
protocol, statuses in SQL equal to Python for phased courses, the missed-dose proposal a
clinician confirms, and the admin page refusing phases that leave a gap or overlap."""

import re
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tracker import scheduling
from tracker.extensions import db
from tracker.models import AuditEvent, Course, Protocol
from tracker.services import protocols as protocol_service
from tracker.services.clinic import get_settings
from tracker.services.courses import advance_phase, open_course, return_to_previous_phase
from tracker.services.errors import RuleError
from tracker.services.infusions import record_infusion
from tracker.services.protocols import PhasePlan, check_phases
from tracker.status import clock_for, status_expr

from .factories import local_noon, make_patient

START = date(2026, 3, 2)


def _protocol(name: str) -> Protocol:
    protocol_service.ensure_templates()
    return db.session.scalar(select(Protocol).where(Protocol.name == name))


def _open(name: str, **kw) -> Course:
    return open_course(
        make_patient(),
        get_settings(),
        actor="test",
        opened_on=START,
        indication="TRD",
        protocol=_protocol(name),
        **kw,
    )


def _give(course: Course, day: date, today: date | None = None) -> None:
    record_infusion(
        course,
        actor="test",
        settings=get_settings(),
        today=today or day,
        given_at=local_noon(day),
        require_early_reason=False,
    )


def test_shipped_templates_pass_their_own_rules(app_ctx):
    """The four shipped templates are saved once and each passes check_phases."""
    protocol_service.ensure_templates()
    protocol_service.ensure_templates()
    names = db.session.scalars(select(Protocol.name).order_by(Protocol.name)).all()
    assert names == ["Esketamine, TRD (label)", "IV ketamine, CRPS", "Standard course", "Taper"]
    for protocol in db.session.scalars(select(Protocol)):
        check_phases(protocol_service.plans_of(protocol))


def test_esketamine_course_walks_its_phases(app_ctx):
    """Opened on the esketamine template, a course is due at once, follows its 3-4 day cadence
    for four weeks, then the weekly phase takes its numbers and its window."""
    course = _open("Esketamine, TRD (label)")
    assert (course.state, course.min_days, course.max_days) == ("maintenance", 3, 4)
    for day in [START + timedelta(weeks=w, days=d) for w in range(4) for d in (0, 3)]:
        _give(course, day)
    assert course.phase_position == 1 and course.window_closes == date(2026, 3, 30)
    _give(course, date(2026, 3, 30))
    assert course.phase_position == 2 and (course.min_days, course.max_days) == (7, 7)
    assert (course.window_opens, course.window_closes) == (date(2026, 4, 6), date(2026, 4, 6))
    assert protocol_service.phase_name(course) == "Weekly"


def test_crps_course_keeps_the_patients_own_days(app_ctx):
    """On IV ketamine, CRPS the series is ten sessions; days set for the patient during the
    series are the maintenance window's, not the template's."""
    course = _open("IV ketamine, CRPS", series_planned=4, min_days=30, max_days=90)
    assert (course.series_planned, course.state) == (10, "series_in_progress")
    course.min_days, course.max_days = 45, 120
    days = [
        START + timedelta(days=n) for n in range(14) if (START + timedelta(days=n)).weekday() < 5
    ]
    for day in days[:10]:
        _give(course, day)
    assert course.state == "maintenance" and course.phase_position == 2
    assert (course.min_days, course.max_days) == (45, 120)
    assert course.window_opens == days[9] + timedelta(days=45)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(
        ["Esketamine, TRD (label)", "Taper", "IV ketamine, CRPS", "Standard course"]
    ),
    gaps=st.lists(st.integers(1, 120), max_size=12),
    offset=st.integers(-5, 400),
)
def test_sql_status_matches_python_on_phased_courses(app_ctx, name, gaps, offset):
    """For courses walked through any shipped protocol, the SQL status equals course_status
    with the course's stored numbers (the current phase's), on any day."""
    course = _open(name)
    day = START
    for gap in gaps:
        _give(course, day)
        day += timedelta(days=gap)
    settings_row = get_settings()
    on = (course.last_qualifying_on or START) + timedelta(days=offset)
    sql = db.session.scalar(
        select(status_expr(clock_for(on, settings_row))).where(Course.id == course.id)
    )
    python = scheduling.course_status(
        state=course.state,
        mode=course.mode,
        on=on,
        anchor_date=course.anchor_date,
        last_qualifying_on=course.last_qualifying_on,
        min_days=course.min_days,
        max_days=course.max_days,
        lapse_grace_days=settings_row.lapse_grace_days,
        series_max_gap_days=settings_row.series_max_gap_days,
    )
    assert sql == python
    if course.window_opens is not None:
        assert course.window_opens <= course.window_closes
    db.session.rollback()


def test_missed_dose_is_proposed_and_changes_nothing_until_confirmed(app_ctx):
    """Weekly phase, last session 04-06: on 04-13 nothing is proposed; on 04-14 the return to
    twice weekly is; confirming moves the course back, with its 3-4 days, and is audited."""
    course = _open("Esketamine, TRD (label)")
    for day in [START + timedelta(weeks=w, days=d) for w in range(4) for d in (0, 3)]:
        _give(course, day)
    _give(course, date(2026, 3, 30))
    _give(course, date(2026, 4, 6))
    assert protocol_service.missed_dose_proposal(course, date(2026, 4, 13)) is None
    with pytest.raises(RuleError):
        return_to_previous_phase(course, actor="test", today=date(2026, 4, 13))
    assert protocol_service.missed_dose_proposal(course, date(2026, 4, 14)) == 1
    assert course.phase_position == 2  # proposing changes nothing
    return_to_previous_phase(course, actor="test", today=date(2026, 4, 14))
    assert (course.phase_position, course.min_days, course.max_days) == (1, 3, 4)
    assert (course.window_opens, course.window_closes) == (date(2026, 4, 9), date(2026, 4, 10))
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "return_to_phase")
    ).one()
    assert event.changes["after"]["phase_position"] == 1
    _give(course, date(2026, 4, 16), today=date(2026, 4, 16))
    assert course.phase_position == 1 and course.phase_started_on == date(2026, 4, 14)


def test_a_clinicians_placing_keeps_the_earlier_sessions_flags(app_ctx):
    """Returning to an earlier phase re-walks from the clinician's placing: the sessions before
    it keep their booster flags (the walk only anchors with them)."""
    course = _open("Esketamine, TRD (label)")
    for day in [START + timedelta(weeks=w, days=d) for w in range(4) for d in (0, 3)]:
        _give(course, day)
    _give(course, date(2026, 3, 30))
    _give(course, date(2026, 4, 6))
    before = [(i.given_on, i.is_booster, i.early, i.late) for i in course.infusions]
    assert sum(flags[1] for flags in before) == 9  # every session after the first
    return_to_previous_phase(course, actor="test", today=date(2026, 4, 14))
    assert [(i.given_on, i.is_booster, i.early, i.late) for i in course.infusions] == before


GOOD = [
    PhasePlan("Twice weekly", "cadence", "weeks", 1, 4, 3, 4, "time"),
    PhasePlan("Weekly", "cadence", "weeks", 5, 8, 7, 7, "time", True),
    PhasePlan("Every 1-2 weeks", "window", "weeks", 9, None, 7, 14, "time", True),
]


def _with(index: int, **changes) -> list[PhasePlan]:
    phases = list(GOOD)
    phases[index] = PhasePlan(**{**phases[index].__dict__, **changes})
    return phases


@pytest.mark.parametrize(
    "phases, field, words",
    [
        (_with(1, first=6), "phases-1-first", "gap"),
        (_with(1, first=4), "phases-1-first", "overlaps"),
        (_with(0, first=2), "phases-0-first", "gap"),
        (_with(1, min_days=9), "phases-1-max_days", "close before it opens"),
        (_with(2, last=20), "phases-2-last", "runs on"),
        (_with(2, rule="series", min_days=None, max_days=None), "phases-2-rule", "window"),
        (_with(1, last=None), "phases-1-last", "end"),
        (_with(0, unit="sessions"), "phases-0-unit", "weeks"),
        (_with(1, min_days=None), "phases-1-min_days", "both"),
        ([], "name", "phases"),
    ],
)
def test_phases_that_cannot_be_walked_are_refused_on_the_field(phases, field, words):
    """A gap, an overlap, min above max, a closed last phase ... each names its field."""
    with pytest.raises(RuleError) as refused:
        check_phases(phases)
    assert refused.value.field == field and words in str(refused.value)


def test_good_phases_pass():
    """The esketamine label phases as typed pass."""
    check_phases(GOOD)


def _form(name: str, phases: list[dict]) -> dict:
    data = {"name": name, "description": "", "active": "y"}
    for index, phase in enumerate(phases):
        for key, value in phase.items():
            data[f"phases-{index}-{key}"] = "" if value is None else value
    return data


def test_admin_edits_a_protocol_and_a_gap_is_refused_on_the_field(app, client, login_as):
    """The admin page lists the templates; a save whose second phase starts at week 6 is
    refused on that field with nothing changed; the fixed form saves and is audited."""
    login_as("admin")
    page = client.get("/admin/protocols/")
    assert page.status_code == 200 and "Esketamine, TRD (label)" in page.text
    with app.app_context():
        protocol_id = _protocol("Taper").id
    phases = [
        dict(
            name="Twice weekly",
            rule="cadence",
            unit="weeks",
            first=1,
            last=4,
            min_days=3,
            max_days=4,
            advance="time",
        ),
        dict(
            name="Weekly",
            rule="cadence",
            unit="weeks",
            first=6,
            last=None,
            min_days=7,
            max_days=7,
            advance="time",
            returns_on_missed_dose="y",
        ),
    ]
    refused = client.post(f"/admin/protocols/{protocol_id}", data=_form("Taper", phases))
    assert refused.status_code == 400
    assert re.search(r'id="phases-1-first-error"[^>]*>[^<]*gap', refused.text)
    with app.app_context():
        assert len(db.session.get(Protocol, protocol_id).phases) == 4
    phases[1]["first"] = 5
    saved = client.post(f"/admin/protocols/{protocol_id}", data=_form("Taper, short", phases))
    assert saved.status_code == 303
    with app.app_context():
        protocol = db.session.get(Protocol, protocol_id)
        assert protocol.name == "Taper, short" and [p.first for p in protocol.phases] == [1, 5]
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.entity == "protocol"))


def test_only_admins_edit_protocols(client, login_as):
    """A clinician gets 403 on the protocol pages."""
    login_as("clinician")
    assert client.get("/admin/protocols/").status_code == 403
    assert client.post("/admin/protocols/new", data={"name": "x"}).status_code == 403


def test_clinician_confirms_a_missed_dose_on_the_patient_page(app, client, login_as, monkeypatch):
    """The patient page shows the proposal; the POST returns the course to the phase before."""
    with app.app_context():
        course = _open("Esketamine, TRD (label)")
        for day in [START + timedelta(weeks=w, days=d) for w in range(4) for d in (0, 3)]:
            _give(course, day)
        _give(course, date(2026, 3, 30))
        db.session.commit()
        patient_id, course_id, version = course.patient_id, course.id, course.version
    monkeypatch.setattr("tracker.services.clinic.clinic_today", lambda: date(2026, 4, 20))
    login_as("clinician")
    page = client.get(f"/patients/{patient_id}").text
    assert "Missed dose: return to “Twice weekly”?" in page
    answer = client.post(
        f"/patients/{patient_id}/courses/{course_id}/return_phase", data={"version": version}
    )
    assert answer.status_code == 303
    with app.app_context():
        assert db.session.get(Course, course_id).phase_position == 1
    assert "Missed dose" not in client.get(f"/patients/{patient_id}").text


def test_opening_a_course_on_a_protocol(app, client, login_as, monkeypatch):
    """The open-course form offers the protocols, the standard one first; choosing Taper puts
    the course on it with its first phase's days."""
    monkeypatch.setattr("tracker.services.clinic.clinic_today", lambda: START)
    with app.app_context():
        patient_id = make_patient().id
        taper = _protocol("Taper").id
        db.session.commit()
    login_as("clinician")
    page = client.get(f"/patients/{patient_id}").text
    assert re.search(r'<option selected value="\d+">Standard course</option>', page)
    answer = client.post(
        f"/patients/{patient_id}/courses",
        data={"open-indication": "CRPS", "open-protocol_id": taper, "open-mode": "scheduled"},
    )
    assert answer.status_code == 303
    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.patient_id == patient_id))
        assert (course.protocol_id, course.min_days, course.max_days) == (taper, 3, 7)


def test_a_clinician_moves_a_course_on_to_the_next_phase(app_ctx):
    """A phase that ends by a clinician's action moves on only when one does: the next phase's
    days apply from its last session, and the last phase cannot move on."""
    protocol = protocol_service.save_protocol(
        None,
        actor="test",
        name="Ask the clinician",
        description="",
        phases=[
            PhasePlan("Weekly", "cadence", "sessions", 1, None, 6, 8, "clinician"),
            PhasePlan("Monthly", "window", "sessions", 1, None, 28, 35, "count"),
        ],
    )
    course = open_course(
        make_patient(), get_settings(), actor="test", opened_on=START, protocol=protocol
    )
    for week in range(12):
        _give(course, START + timedelta(weeks=week))
    assert course.phase_position == 1 and (course.min_days, course.max_days) == (6, 8)
    advance_phase(course, actor="test", today=date(2026, 5, 26))
    last = START + timedelta(weeks=11)
    assert (course.phase_position, course.window_opens) == (2, last + timedelta(days=28))
    with pytest.raises(RuleError):
        advance_phase(course, actor="test", today=date(2026, 5, 26))


def test_a_phase_an_open_course_is_in_cannot_be_dropped(app_ctx):
    """Dropping the weekly and later phases while a course is in the weekly one is refused,
    and nothing changes."""
    course = _open("Esketamine, TRD (label)")
    for day in [START + timedelta(weeks=w, days=d) for w in range(4) for d in (0, 3)]:
        _give(course, day)
    _give(course, date(2026, 3, 30))
    protocol = course.protocol
    with pytest.raises(RuleError, match="phase 2"):
        protocol_service.save_protocol(
            protocol,
            actor="test",
            name=protocol.name,
            description="",
            phases=[PhasePlan("Twice weekly", "window", "weeks", 1, None, 3, 4, "time")],
        )
