"""Admin: the audit trail page, filterable by patient, user, record type and dates, paginated."""
import re
from datetime import datetime, timezone

from sqlalchemy import event as sa_event

from tracker.extensions import db
from tracker.services import audit

from .factories import make_patient, make_user


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def _record(actor, *, entity="patient", entity_id=1, patient=None, action="update", at, before=None, after=None):
    made = audit.record(actor, entity=entity, entity_id=entity_id, patient_id=patient.id if patient else None,
                        action=action, before=before or {"phone": "1"}, after=after or {"phone": "2"})
    made.at = at
    return made


def _rows(response) -> int:
    """Number of event rows on the page."""
    body = response.get_data(as_text=True)
    return len(re.findall(r'<tr>\s*<td><time datetime="[^"]+">[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}</time></td>', body))


def _events(app):
    """Two patients, two staff, the system; events spread over two local days (New York time)."""
    with app.app_context():
        alice, bob = make_patient(mrn="MRN-ALICE"), make_patient(mrn="MRN-BOB")
        nurse, desk = make_user(role="clinician", email="nurse@clinic.test"), make_user(role="frontdesk", email="desk@clinic.test")
        _record(nurse, patient=alice, entity="infusion", action="create", at=_at("2026-03-02T03:00:00"))  # local 03-01 22:00
        _record(desk, patient=alice, at=_at("2026-03-02T15:00:00"))
        _record(desk, patient=bob, at=_at("2026-03-03T15:00:00"))
        _record("patient", patient=bob, action="opt_out", at=_at("2026-03-04T15:00:00"))
        _record(nurse, entity="clinic_settings", action="update", at=_at("2026-03-05T15:00:00"))
        db.session.commit()
        return {"alice": alice.id, "bob": bob.id, "nurse": nurse.id, "desk": desk.id}


def test_trail_shows_who_when_what_before_and_after(client, login_as, app):
    """Each event shows its clinic-local time, actor, record, patient MRN, action and the changed
    values, all in words."""
    _events(app)
    login_as("admin")
    response = client.get("/admin/audit")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and _rows(response) == 5
    assert "Sun 1 Mar 2026, 22:00" in body  # clinic-local time, in the clinic's date style
    assert "nurse@clinic.test" in body and "MRN-ALICE" in body and "<td>Infusion</td>" in body
    assert "Opted out of email" in body and "<td>patient</td>" in body and "opt_out" not in body
    assert '<span class="change-field">Phone</span>: 1 → 2' in body
    assert body.index("Thu 5 Mar 2026") < body.index("Sun 1 Mar 2026, 22:00")  # newest first


def test_filter_by_patient_mrn_or_id(client, login_as, app):
    """The patient filter takes an MRN or a patient id; an unknown one is a field error, no rows."""
    ids = _events(app)
    login_as("admin")
    assert _rows(client.get("/admin/audit?patient=MRN-ALICE")) == 2
    assert _rows(client.get(f"/admin/audit?patient={ids['bob']}")) == 2
    unknown = client.get("/admin/audit?patient=NOPE")
    assert unknown.status_code == 200 and _rows(unknown) == 0
    assert "No patient has this MRN or id." in unknown.get_data(as_text=True)
    huge = client.get("/admin/audit?patient=99999999999999999999")
    assert huge.status_code == 200 and "No patient has this MRN or id." in huge.get_data(as_text=True)


def test_filter_by_user_entity_and_dates(client, login_as, app):
    """Filters by staff member, by 'not staff', by record type, and by a clinic-local date range."""
    ids = _events(app)
    login_as("admin")
    assert _rows(client.get(f"/admin/audit?user={ids['desk']}")) == 2
    assert _rows(client.get("/admin/audit?user=none")) == 1
    assert _rows(client.get("/admin/audit?entity=clinic_settings")) == 1
    assert _rows(client.get("/admin/audit?entity=infusion")) == 1
    assert _rows(client.get("/admin/audit?date_from=2026-03-02")) == 4  # 22:00 on 03-01 local is out
    assert _rows(client.get("/admin/audit?date_to=2026-03-01")) == 1
    assert _rows(client.get("/admin/audit?date_from=2026-03-02&date_to=2026-03-03")) == 2
    combined = client.get(f"/admin/audit?patient=MRN-BOB&user={ids['desk']}&date_from=2026-03-03&date_to=2026-03-03")
    assert _rows(combined) == 1


def test_bad_filters_get_field_errors_not_500s(client, login_as, app):
    """Unreadable dates, a reversed range, an unknown user id or control characters are field errors."""
    _events(app)
    login_as("admin")
    cases = {
        "date_from=yesterday": "Not a valid date value.",
        "date_from=2026-03-05&date_to=2026-03-01": "The end date is before the start date.",
        "date_from=0001-01-01": "Enter a date between 1900 and 2200.",
        "date_to=9999-12-31": "Enter a date between 1900 and 2200.",
        "user=12345": "Not a valid choice.",
        "entity=%07patient": "Not a valid choice.",
        "patient=%0aMRN": "Keep this on one line.",
    }
    for query, message in cases.items():
        response = client.get(f"/admin/audit?{query}")
        assert response.status_code == 200, query
        assert message in response.get_data(as_text=True), query


def test_pagination_keeps_the_filters(client, login_as, app):
    """Events come a page at a time, and the page links keep the chosen filters."""
    ids = _events(app)
    app.config["PAGE_SIZE"] = 2
    login_as("admin")
    first = client.get("/admin/audit")
    assert _rows(first) == 2 and "Page 1 of 3" in first.get_data(as_text=True)
    assert _rows(client.get("/admin/audit?page=3")) == 1
    assert _rows(client.get("/admin/audit?page=99")) == 0
    filtered = client.get(f"/admin/audit?user={ids['desk']}&page=1").get_data(as_text=True)
    assert "Page" not in filtered  # two events: one page
    app.config["PAGE_SIZE"] = 1
    filtered = client.get(f"/admin/audit?user={ids['desk']}").get_data(as_text=True)
    assert f"user={ids['desk']}" in re.search(r'<a href="([^"]+)" rel="next"', filtered).group(1)


def _queries(app, client, url) -> int:
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_query_count_does_not_grow_with_the_rows(client, login_as, app):
    """The page runs the same number of queries for 5 events as for 45 across many patients."""
    _events(app)
    login_as("admin")
    few = _queries(app, client, "/admin/audit")
    with app.app_context():
        staff = make_user(role="frontdesk")
        for n in range(40):
            _record(staff, patient=make_patient(), at=_at(f"2026-04-{n % 28 + 1:02d}T12:00:00"))
        db.session.commit()
    many = _queries(app, client, "/admin/audit")
    assert many == few <= 8


def test_values_in_the_trail_are_escaped(client, login_as, app):
    """Stored text with markup is shown as text, never as HTML."""
    with app.app_context():
        patient = make_patient(mrn="<b>MRN</b>")
        _record("import", patient=patient, at=_at("2026-03-02T15:00:00"),
                before={"notes": "<script>alert(1)</script>"}, after={"notes": "\"><img src=x onerror=alert(2)>"})
        db.session.commit()
    login_as("admin")
    body = client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body and "<img src=x" not in body and "<b>MRN</b>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "&lt;b&gt;MRN&lt;/b&gt;" in body
