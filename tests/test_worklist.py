"""The worklist page, its filters, pagination, CSV export and the opening-soon tab."""
import csv
import io
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from tracker.extensions import db

from .course_helpers import book, maintenance_course, series_course
from .factories import local_noon, make_course, make_patient


CLINIC_ZONE = ZoneInfo("America/New_York")  # the default clinic settings


def today():
    """Today at the clinic (what clinic_today() gives with default settings)."""
    return datetime.now(CLINIC_ZONE).date()


def ago(days):
    """The clinic-local date `days` before today (the page always uses today)."""
    return today() - timedelta(days=days)


def soon(days, hour=10):
    """An aware instant `days` from today at `hour` clinic time."""
    day = today() + timedelta(days=days)
    return datetime.combine(day, time(hour), tzinfo=CLINIC_ZONE).astimezone(timezone.utc)


@pytest.fixture
def clinic(app):
    """Patients in every state; returns {label: mrn}. Windows are 30/90 days, grace 90, gap 14."""
    with app.app_context():
        made = {
            "overdue_old": maintenance_course(ago(170), mrn="OVD-OLD", last_name="Olsen"),
            "overdue_new": maintenance_course(ago(100), mrn="OVD-NEW", last_name="Novak"),
            "due_late": maintenance_course(ago(85), mrn="DUE-LATE", last_name="Duarte"),
            "due_early": maintenance_course(ago(31), mrn="DUE-EARLY", last_name="Early"),
            "due_unanchored": maintenance_course(None, mrn="DUE-NONE", last_name="Nobody"),
            "interrupted": series_course(ago(20), mrn="INT-1", last_name="Ibrahim"),
            "lapsed": maintenance_course(ago(200), mrn="LAP-1", last_name="Lindqvist"),
            "booked_due": maintenance_course(ago(60), mrn="BKD-DUE", last_name="Booker"),
            "booked_overdue": maintenance_course(ago(120), mrn="BKD-OVD", last_name="Bell"),
            "not_yet_due": maintenance_course(ago(20), mrn="NYD-1", last_name="Nakamura"),
            "opens_in_5": maintenance_course(ago(25), mrn="SOON-5", last_name="Santos"),
            "as_needed": maintenance_course(ago(200), mode="as_needed", mrn="PRN-1", last_name="Prn"),
            "series": series_course(ago(3), mrn="SER-1", last_name="Serra"),
        }
        hold = maintenance_course(ago(200), mrn="HOLD-1", last_name="Holder")
        hold.state = "on_hold"
        gone = maintenance_course(ago(200), mrn="GONE-1", last_name="Gone")
        gone.state, gone.closed_on = "discharged", ago(1)
        made["booked_interrupted"] = series_course(ago(25), mrn="BKD-INT", last_name="Bayer")
        book(made["booked_interrupted"], soon(2), status="booked")
        book(made["booked_due"], soon(3), status="booked")
        book(made["booked_overdue"], soon(4), status="pending")
        book(made["lapsed"], soon(5), status="cancelled")  # a cancelled booking does not count
        db.session.commit()
        return {label: course.patient.mrn for label, course in made.items()}


WORKLIST_ORDER = ["OVD-OLD", "OVD-NEW", "DUE-NONE", "DUE-LATE", "DUE-EARLY", "INT-1", "LAP-1",
                  "BKD-OVD", "BKD-DUE", "BKD-INT"]


def page_mrns(html: str) -> list[str]:
    """MRNs in the order the worklist table shows them."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    cells = [part.split("</td>", 1)[0] for part in body.split("<td>")[1:]]
    mrns = ("OVD-", "DUE-", "INT-", "LAP-", "BKD-", "NYD-", "SOON-", "PRN-", "SER-", "HOLD-", "GONE-")
    return [cell for cell in cells if cell.startswith(mrns)]


def test_worklist_shows_who_needs_action_unbooked_and_urgent_first(client, login_as, clinic):
    """Due, overdue, lapsed and interrupted patients only; unbooked first, then by urgency."""
    login_as("frontdesk")
    response = client.get("/worklist/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert page_mrns(html) == WORKLIST_ORDER
    assert "10 patients" in html
    assert "(1 booked)" in html  # the counts line: one booked overdue, one booked due


def test_book_link_only_for_unbooked_rows(app, client, login_as, clinic):
    """Each unbooked row links to booking for that patient; booked rows do not."""
    login_as("frontdesk")
    html = client.get("/worklist/").get_data(as_text=True)
    assert html.count("/schedule/book?patient_id=") == 7
    with app.app_context():
        from sqlalchemy import select

        from tracker.models import Patient

        booked_id = db.session.scalar(select(Patient.id).where(Patient.mrn == "BKD-DUE"))
        unbooked_id = db.session.scalar(select(Patient.id).where(Patient.mrn == "OVD-OLD"))
    assert f"/schedule/book?patient_id={unbooked_id}\"" in html
    assert f"/schedule/book?patient_id={booked_id}\"" not in html
    assert f"/patients/{unbooked_id}\"" in html


@pytest.mark.parametrize("query, expected", [
    ("status=overdue", ["OVD-OLD", "OVD-NEW", "BKD-OVD"]),
    ("status=due", ["DUE-NONE", "DUE-LATE", "DUE-EARLY", "BKD-DUE"]),
    ("status=interrupted", ["INT-1", "BKD-INT"]),
    ("status=lapsed", ["LAP-1"]),
    ("booked=booked", ["BKD-OVD", "BKD-DUE", "BKD-INT"]),
    ("booked=unbooked", WORKLIST_ORDER[:7]),
    ("status=due&booked=unbooked", ["DUE-NONE", "DUE-LATE", "DUE-EARLY"]),
    ("q=OVD-NEW", ["OVD-NEW"]),
    ("q=lind", ["LAP-1"]),
    ("q=alex+book", ["BKD-DUE"]),
    ("q=bayer&status=interrupted&booked=booked", ["BKD-INT"]),
    ("q=nakamura", []),
    ("q=%25", []),  # a literal percent sign, not a wildcard
])
def test_worklist_filters(client, login_as, clinic, query, expected):
    """Status, booked/unbooked and name/MRN search narrow the list and keep its order."""
    login_as("clinician")
    response = client.get(f"/worklist/?{query}")
    assert response.status_code == 200
    assert page_mrns(response.get_data(as_text=True)) == expected


@pytest.mark.parametrize("query", ["status=bogus", "booked=maybe", "page=abc", "page=-3", "page=999",
                                   "q=" + "x" * 200, "q=%25_%5C", "days=abc"])
def test_odd_parameters_never_fail(client, login_as, clinic, query):
    """Unknown filter values, bad page numbers and odd search text give a page, not an error."""
    login_as("frontdesk")
    response = client.get(f"/worklist/?{query}")
    assert response.status_code == 200
    if query.startswith("status="):
        assert "Not a valid choice" in response.get_data(as_text=True)
        assert page_mrns(response.get_data(as_text=True)) == WORKLIST_ORDER


@pytest.mark.parametrize("size", [1, 2, 4])
def test_pages_follow_the_same_order(app, client, login_as, clinic, size):
    """Page by page (read from the start or from the end) lists everyone once, in order."""
    login_as("frontdesk")
    app.config["PAGE_SIZE"] = size
    pages = -(-len(WORKLIST_ORDER) // size)
    seen = []
    for number in range(1, pages + 1):
        html = client.get(f"/worklist/?page={number}").get_data(as_text=True)
        seen += page_mrns(html)
        assert f"Page {number} of {pages}" in html
    assert seen == WORKLIST_ORDER
    last = client.get("/worklist/?page=99").get_data(as_text=True)
    assert page_mrns(last) == WORKLIST_ORDER[(pages - 1) * size:]
    unbooked = []
    for number in range(1, 8):
        unbooked += page_mrns(client.get(f"/worklist/?booked=unbooked&page={number}").get_data(as_text=True))
        if number * size >= 7:
            break
    assert unbooked == WORKLIST_ORDER[:7]


def test_worklist_needs_login(client, clinic):
    """Anonymous visitors are sent to the login page, for the list and the export."""
    for url in ("/worklist/", "/worklist/export.csv", "/worklist/upcoming"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_export_csv_has_the_same_rows_and_filters(client, login_as, clinic):
    """The CSV export lists the filtered worklist in page order with the documented columns."""
    login_as("frontdesk")
    response = client.get("/worklist/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["mrn", "last_name", "first_name", "status", "anchor", "window_opens",
                             "window_closes", "booked", "next_appointment", "date_of_birth",
                             "phone", "email", "last_contact", "last_contact_outcome", "calls"]
    assert [r["mrn"] for r in rows] == WORKLIST_ORDER
    booked = rows[-2]
    assert booked["booked"] == "yes" and booked["status"] == "due"
    assert (rows[-1]["mrn"], rows[-1]["status"], rows[-1]["anchor"]) == ("BKD-INT", "interrupted", "")
    assert booked["anchor"] == ago(60).isoformat()
    assert booked["window_opens"] == ago(30).isoformat() and booked["window_closes"] == ago(-30).isoformat()
    assert booked["next_appointment"] == soon(3).astimezone(ZoneInfo("America/New_York")).isoformat()
    unanchored = rows[2]
    assert (unanchored["anchor"], unanchored["window_closes"], unanchored["booked"]) == ("", "", "no")
    filtered = client.get("/worklist/export.csv?status=overdue&booked=unbooked").get_data(as_text=True)
    assert [r["mrn"] for r in csv.DictReader(io.StringIO(filtered))] == ["OVD-OLD", "OVD-NEW"]


def test_export_neutralises_spreadsheet_formulas(app, client, login_as):
    """A name starting with '=' is exported as text, not as a formula."""
    with app.app_context():
        maintenance_course(ago(100), mrn="CSV-1", last_name="=HYPERLINK(1)", first_name="+Bob")
        db.session.commit()
    login_as("frontdesk")
    row = next(csv.DictReader(io.StringIO(client.get("/worklist/export.csv").get_data(as_text=True))))
    assert (row["last_name"], row["first_name"]) == ("'=HYPERLINK(1)", "'+Bob")


def test_upcoming_lists_windows_opening_soon(app, client, login_as, clinic):
    """The second tab lists windows opening within the clinic's N days, or ?days= instead."""
    login_as("frontdesk")
    html = client.get("/worklist/upcoming").get_data(as_text=True)  # default 14 days
    assert page_mrns(html) == ["SOON-5", "NYD-1"]  # windows opening in 5 and 10 days
    assert page_mrns(client.get("/worklist/upcoming?days=7").get_data(as_text=True)) == ["SOON-5"]
    assert page_mrns(client.get("/worklist/upcoming?days=4").get_data(as_text=True)) == []
    bad = client.get("/worklist/upcoming?days=0")
    assert bad.status_code == 200 and "Choose between 1 and 365 days." in bad.get_data(as_text=True)
    assert page_mrns(bad.get_data(as_text=True)) == ["SOON-5", "NYD-1"]
    assert client.get("/worklist/upcoming?days=abc").status_code == 200


def _statements(app, client, url):
    """How many SQL statements one GET issues."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
        assert response.status_code == 200
        response.get_data()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def _add_patients(app, n, start):
    with app.app_context():
        for i in range(start, start + n):
            course = maintenance_course(ago(40 + i % 200), mrn=f"Q{i:04d}")
            if i % 7 == 0:
                book(course, soon(1 + i % 20, hour=8 + i % 9), status="booked")
        for i in range(start, start + n // 10):
            make_course(make_patient(mrn=f"S{i:04d}"), state="series_in_progress",
                        qualifying_count=1, last_qualifying_on=ago(30))
        db.session.commit()


@pytest.mark.parametrize("url", ["/worklist/", "/worklist/?q=Q00", "/worklist/upcoming",
                                 "/worklist/export.csv"])
def test_query_count_does_not_grow_with_patients(app, client, login_as, url):
    """The same number of SQL statements for 5 patients as for 80 (no query per row)."""
    login_as("frontdesk")
    _add_patients(app, 5, 0)
    small = _statements(app, client, url)
    _add_patients(app, 75, 5)
    large = _statements(app, client, url)
    assert small == large
    assert large <= 6, large


def test_statements_reused_across_days_follow_the_day(client, login_as, clinic, freeze_clock):
    """The page built once and reused gives each day's own statuses, counts and order."""
    start = today()
    freeze_clock(local_noon(start))
    login_as("frontdesk")
    first = client.get("/worklist/").get_data(as_text=True)
    freeze_clock(local_noon(start + timedelta(days=400)))
    login_as("frontdesk")  # 400 days on, the first session has long timed out
    later = client.get("/worklist/").get_data(as_text=True)
    freeze_clock(local_noon(start))
    login_as("frontdesk")
    again = client.get("/worklist/").get_data(as_text=True)
    assert page_mrns(first) == page_mrns(again) == WORKLIST_ORDER
    # 400 days on every anchored maintenance window has lapsed and every series is interrupted
    assert "13 patients" in later
    assert 'Lapsed</span> 9 <span class="muted">(2 booked)</span>' in later
    assert 'Series interrupted</span> 3 <span class="muted">(1 booked)</span>' in later
    assert page_mrns(later)[0] == "DUE-NONE"
    assert set(page_mrns(later)[-3:]) == {"BKD-INT", "BKD-OVD", "BKD-DUE"}
