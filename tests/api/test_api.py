"""The JSON API through the real app and database: reads, bookings and their rules, roles."""

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Appointment, AuditEvent, ClosedDate

from ..factories import make_patient
from ..schedule_fixtures import (  # noqa: F401
    MONDAY,
    add_appointment,
    at,
    frozen_clock,
    maintenance_patient,
    setup_clinic,
)
from .helpers import bearer

PROBLEM = "application/problem+json"


@pytest.fixture
def clinic(app, api_clock):
    """Three chairs, weekday hours 08-18, a maintenance patient whose window opens 2027-01-14."""
    with app.app_context():
        setup = setup_clinic()
        patient, course = maintenance_patient(
            date(2026, 12, 15), first_name="Dana", last_name="Quill", date_of_birth=date(1971, 2, 3)
        )
        course.indication = "CRPS"
        db.session.commit()
        return {
            "patient": patient.id,
            "mrn": patient.mrn,
            "course": course.id,
            "chairs": [c.id for c in setup["chairs"]],
            "maintenance": setup["maintenance"].id,
        }


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Appointment))


def _book(client, secret, clinic, start="2027-01-14T09:00:00-05:00", chair=0, **more):
    return client.post(
        "/api/v1/appointments",
        headers=bearer(secret),
        json={
            "patient_id": clinic["patient"],
            "appointment_type_id": clinic["maintenance"],
            "chair_id": clinic["chairs"][chair],
            "start_at": start,
            **more,
        },
    )


def test_find_patients_by_name_mrn_and_birth_date(client, api_token, clinic, app):
    """Search as the header search does: name beginnings, MRN, date of birth; paged with a next link."""
    with app.app_context():
        for n in range(3):
            make_patient(first_name="Dana", last_name=f"Other{n}")
        db.session.commit()
    secret = api_token("frontdesk", "read")
    by_name = client.get("/api/v1/patients?q=qui", headers=bearer(secret)).get_json()
    assert [p["id"] for p in by_name["items"]] == [clinic["patient"]]
    by_mrn = client.get(f"/api/v1/patients?q={clinic['mrn']}", headers=bearer(secret)).get_json()
    assert [p["mrn"] for p in by_mrn["items"]] == [clinic["mrn"]]
    by_birth = client.get("/api/v1/patients?q=1971-02-03", headers=bearer(secret)).get_json()
    assert [p["last_name"] for p in by_birth["items"]] == ["Quill"]
    first = client.get("/api/v1/patients?q=dana&per_page=2", headers=bearer(secret)).get_json()
    assert first["meta"]["total"] == 4 and len(first["items"]) == 2 and first["meta"]["pages"] == 2
    second = client.get(first["meta"]["next"], headers=bearer(secret)).get_json()
    assert len(second["items"]) == 2 and second["meta"]["next"] is None
    assert {p["id"] for p in first["items"]}.isdisjoint({p["id"] for p in second["items"]})


def test_bad_date_search_names_the_parameter(client, api_token, clinic):
    """An impossible date of birth is a 422 problem naming q, not a server error."""
    response = client.get("/api/v1/patients?q=1971-02-31", headers=bearer(api_token()))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.get_json()["errors"][0]["field"] == "q"


def test_patient_courses_with_status_and_window(client, api_token, clinic):
    """A patient's course carries the derived status on today's date and its window."""
    patient = client.get(
        f"/api/v1/patients/{clinic['patient']}", headers=bearer(api_token())
    ).get_json()
    (course,) = patient["courses"]
    assert (
        course["state"] == "maintenance" and course["status"] == "not_yet_due"
    )  # today is 2027-01-04
    assert (course["anchor_date"], course["window_opens"], course["window_closes"]) == (
        "2026-12-15",
        "2027-01-14",
        "2027-03-15",
    )


def test_front_desk_never_receives_clinical_fields(client, api_token, clinic):
    """The indication (a diagnosis) reaches clinician tokens only; front desk gets no such key."""
    frontdesk = client.get(
        f"/api/v1/patients/{clinic['patient']}", headers=bearer(api_token("frontdesk"))
    ).get_json()
    clinician = client.get(
        f"/api/v1/patients/{clinic['patient']}", headers=bearer(api_token("clinician"))
    ).get_json()
    assert "indication" not in frontdesk["courses"][0] and "CRPS" not in str(frontdesk)
    assert clinician["courses"][0]["indication"] == "CRPS"
    # The protocol and phase too (a protocol's name may name the treatment).
    assert not {"protocol", "phase", "phase_position"} & set(frontdesk["courses"][0])
    course = clinician["courses"][0]
    assert (course["protocol"], course["phase_position"], course["phases"]) == (
        "Standard course",
        2,
        2,
    )
    assert course["phase"] and course["missed_dose_proposal"] is None


def test_a_patients_courses_and_protocols_are_read_in_the_same_statements_however_many(
    app, client, api_token, clinic
):
    """A clinician's read of a patient names each course's protocol and phase: two more
    courses, on two shipped protocols, add no statement (no read per course)."""
    from sqlalchemy import event

    from tracker.models import Course, Protocol
    from tracker.services import protocols as protocol_service

    secret = api_token("clinician")

    def statements() -> tuple[int, dict]:
        seen: list[str] = []

        def note(conn, cursor, statement, *rest):
            seen.append(statement)

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", note)
            try:
                response = client.get(
                    f"/api/v1/patients/{clinic['patient']}", headers=bearer(secret)
                )
            finally:
                event.remove(db.engine, "before_cursor_execute", note)
        assert response.status_code == 200
        return len(seen), response.get_json()

    few, _ = statements()
    with app.app_context():
        protocol_service.ensure_templates()
        for name in ("Taper", "Esketamine, TRD (label)"):
            protocol = db.session.scalar(select(Protocol).where(Protocol.name == name))
            db.session.add(
                Course(
                    patient_id=clinic["patient"],
                    state="discharged",
                    opened_on=date(2025, 1, 1),
                    closed_on=date(2025, 6, 1),
                    indication="CRPS",
                    series_planned=1,
                    min_days=30,
                    max_days=90,
                    discharge_reason="goals met",
                    protocol_id=protocol.id,
                )
            )
        db.session.commit()
    many, document = statements()
    assert sorted(c["protocol"] for c in document["courses"]) == [
        "Esketamine, TRD (label)",
        "Standard course",
        "Taper",
    ]
    assert many == few


def test_book_then_list_by_day_and_patient(client, api_token, clinic, app):
    """Booking answers 201 with Location and ETag; the day's and the patient's lists show it."""
    secret = api_token("frontdesk")
    response = _book(client, secret, clinic)
    assert response.status_code == 201, response.get_json()
    booked = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/appointments/{booked['id']}")
    assert response.headers["ETag"] == booked["etag"]
    assert booked["status"] == "pending" and booked["start_at"] == "2027-01-14T09:00:00-05:00"
    assert (
        booked["end_at"] == "2027-01-14T10:40:00-05:00" and booked["course_id"] == clinic["course"]
    )
    day = client.get("/api/v1/appointments?day=2027-01-14", headers=bearer(secret)).get_json()
    assert [a["id"] for a in day["items"]] == [booked["id"]]
    assert (
        client.get("/api/v1/appointments?day=2027-01-15", headers=bearer(secret)).get_json()[
            "items"
        ]
        == []
    )
    mine = client.get(
        f"/api/v1/appointments?patient_id={clinic['patient']}", headers=bearer(secret)
    )
    assert mine.status_code == 200, mine.get_json()
    assert [a["id"] for a in mine.get_json()["items"]] == [booked["id"]]
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity == "appointment"))
        assert event.action == "create" and event.user_id is not None


@pytest.mark.parametrize(
    "start, field, words",
    [
        ("2027-01-14T07:00:00-05:00", "start_at", "open"),  # before opening hours
        ("2027-01-16T09:00:00-05:00", "start_at", "closed"),  # a Saturday
        ("2027-01-15T09:00:00-05:00", "start_at", "closed"),  # a closed date
    ],
)
def test_booking_rules_of_the_pages_apply(client, api_token, clinic, app, start, field, words):
    """Outside hours, a closed weekday or a closed date: a problem naming the field, nothing saved."""
    with app.app_context():
        db.session.add(ClosedDate(on=date(2027, 1, 15), reason="Staff training"))
        db.session.commit()
    response = _book(client, api_token(), clinic, start=start)
    assert response.status_code in (409, 422) and response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["errors"][0]["field"] == field and words in problem["detail"].lower()
    assert _count(app) == 0


def test_taken_chair_refused(client, api_token, clinic, app):
    """The same chair at the same time twice: the second is a 409 on chair_id and is not saved."""
    secret = api_token()
    assert _book(client, secret, clinic).status_code == 201
    other = client.post(
        "/api/v1/appointments",
        headers=bearer(secret),
        json={
            "patient_id": _other_patient(app),
            "appointment_type_id": clinic["maintenance"],
            "chair_id": clinic["chairs"][0],
            "start_at": "2027-01-14T09:30:00-05:00",
        },
    )
    assert other.status_code == 409 and other.mimetype == PROBLEM
    assert _count(app) == 1


def _other_patient(app) -> int:
    with app.app_context():
        patient = make_patient()
        db.session.commit()
        return patient.id


def test_cancel_needs_the_current_etag(client, api_token, clinic, app):
    """No If-Match: 428; a stale one: 412 and nothing changes; the current one cancels with the reason."""
    secret = api_token()
    booked = _book(client, secret, clinic).get_json()
    url = f"/api/v1/appointments/{booked['id']}/cancel"
    missing = client.post(url, headers=bearer(secret), json={"reason": "patient"})
    assert missing.status_code == 428 and missing.mimetype == PROBLEM
    stale = client.post(
        url, headers=bearer(secret, **{"If-Match": '"stale"'}), json={"reason": "patient"}
    )
    assert stale.status_code == 412 and stale.headers["ETag"] == booked["etag"]
    bad_reason = client.post(
        url, headers=bearer(secret, **{"If-Match": booked["etag"]}), json={"reason": "bored"}
    )
    assert bad_reason.status_code == 422 and bad_reason.get_json()["errors"][0]["field"] == "reason"
    with app.app_context():
        assert db.session.get(Appointment, booked["id"]).status == "pending"
    done = client.post(
        url, headers=bearer(secret, **{"If-Match": booked["etag"]}), json={"reason": "patient"}
    )
    assert done.status_code == 200
    assert (done.get_json()["status"], done.get_json()["cancel_reason"]) == ("cancelled", "patient")
    again = client.post(
        url,
        headers=bearer(secret, **{"If-Match": done.headers["ETag"]}),
        json={"reason": "patient"},
    )
    assert again.status_code == 409 and "cannot be marked" in again.get_json()["detail"]


def test_confirm_changes_the_etag(client, api_token, clinic):
    """Confirming a pending appointment makes it booked; the old ETag no longer matches."""
    secret = api_token()
    booked = _book(client, secret, clinic).get_json()
    url = f"/api/v1/appointments/{booked['id']}/confirm"
    confirmed = client.post(url, headers=bearer(secret, **{"If-Match": booked["etag"]}), json={})
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "booked"
    assert confirmed.headers["ETag"] != booked["etag"]
    read = client.get(f"/api/v1/appointments/{booked['id']}", headers=bearer(secret))
    assert read.headers["ETag"] == confirmed.headers["ETag"] == read.get_json()["etag"]
    stale = client.post(url, headers=bearer(secret, **{"If-Match": booked["etag"]}), json={})
    assert stale.status_code == 412


def _move(client, secret, clinic, appointment, *, chair=0, start, reason="clinic", **more):
    """POST a move of `appointment` (its document: id and etag) to chair index `chair`."""
    return client.post(
        f"/api/v1/appointments/{appointment['id']}/move",
        headers=bearer(secret, **{"If-Match": appointment["etag"]}),
        json={"chair_id": clinic["chairs"][chair], "start_at": start, "reason": reason, **more},
    )


def _confirmed_and_moved(client, secret, clinic) -> dict:
    """A visit booked at 09:00, confirmed, then moved with the patient's agreement to 09:30 on
    the same chair; the moved appointment's document."""
    booked = _book(client, secret, clinic).get_json()
    confirmed = client.post(
        f"/api/v1/appointments/{booked['id']}/confirm",
        headers=bearer(secret, **{"If-Match": booked["etag"]}),
        json={},
    ).get_json()
    moved = _move(
        client, secret, clinic, confirmed, start="2027-01-14T09:30:00-05:00", patient_agreed=True
    )
    assert moved.status_code == 200, moved.get_json()
    return moved.get_json()


def test_move_is_in_place(client, api_token, clinic, app):
    """A move keeps the appointment (id, calendar UID), raises its SEQUENCE, writes one move
    row in its history and one audit event, as the schedule page's move does; no second
    appointment is made and nothing is cancelled."""
    secret = api_token()
    booked = _book(client, secret, clinic).get_json()
    with app.app_context():
        uid = db.session.get(Appointment, booked["id"]).uid
    moved = _move(
        client, secret, clinic, booked, chair=1, start="2027-01-18T13:00:00-05:00", reason="patient"
    )
    assert moved.status_code == 200, moved.get_json()
    document = moved.get_json()
    assert document["id"] == booked["id"] and document["rescheduled_from_id"] is None
    assert document["start_at"] == "2027-01-18T13:00:00-05:00"
    assert document["chair_id"] == clinic["chairs"][1] and document["status"] == "pending"
    assert moved.headers["ETag"] == document["etag"] != booked["etag"]
    assert _count(app) == 1
    with app.app_context():
        from tracker.models import AppointmentStatusChange

        kept = db.session.get(Appointment, booked["id"])
        assert (kept.uid, kept.sequence, kept.cancel_reason) == (uid, 1, None)
        (row,) = db.session.scalars(
            select(AppointmentStatusChange).where(
                AppointmentStatusChange.appointment_id == booked["id"],
                AppointmentStatusChange.moved_from_at.is_not(None),
            )
        ).all()
        assert (row.reason, row.moved_from_chair_id, row.moved_to_chair_id) == (
            "patient",
            clinic["chairs"][0],
            clinic["chairs"][1],
        )
        assert (
            db.session.scalar(
                select(func.count()).where(
                    AuditEvent.action == "move", AuditEvent.entity_id == kept.id
                )
            )
            == 1
        )


def test_move_with_the_patients_agreement_stays_confirmed(client, api_token, clinic, app):
    """A confirmed visit moved with patient_agreed stays confirmed; later the same day on the
    same chair is allowed (its own old block is not in the way)."""
    moved = _confirmed_and_moved(client, api_token(), clinic)
    assert moved["status"] == "booked"
    assert moved["start_at"] == "2027-01-14T09:30:00-05:00"


@pytest.mark.parametrize(
    "moved_first, move, statuses, field, kept_status",
    [
        # Onto the time it already has (after a move): a problem on start_at.
        (True, {"start": "2027-01-14T09:30:00-05:00"}, (422,), "start_at", "booked"),
        # A late cancellation is no reason for a move: a problem on reason.
        (
            True,
            {"chair": 1, "start": "2027-01-14T11:00:00-05:00", "reason": "late-cancel"},
            (422,),
            "reason",
            "booked",
        ),
        # Onto a Sunday: refused.
        (False, {"start": "2027-01-17T10:00:00-05:00"}, (409, 422), None, "pending"),
    ],
    ids=["same-time", "old-reason", "sunday"],
)
def test_refused_move_keeps_the_old_appointment(
    client, api_token, clinic, app, moved_first, move, statuses, field, kept_status
):
    """A refused move is a problem (naming the field where there is one) and the appointment
    stays as it was: same status and time, no second appointment."""
    secret = api_token()
    if moved_first:
        before = _confirmed_and_moved(client, secret, clinic)
    else:
        before = _book(client, secret, clinic).get_json()
    refused = _move(client, secret, clinic, before, **move)
    assert refused.status_code in statuses and refused.mimetype == PROBLEM
    if field is not None:
        assert refused.get_json()["errors"][0]["field"] == field
    with app.app_context():
        kept = db.session.get(Appointment, before["id"])
        assert kept.status == kept_status
        assert kept.start_at == datetime.fromisoformat(before["start_at"])
    assert _count(app) == 1


def test_free_slots_inside_the_range(client, api_token, clinic, app):
    """Free blocks fall between the dates asked for, on open days, skipping a booked chair time."""
    secret = api_token("frontdesk", "read")
    with app.app_context():
        from tracker.models import AppointmentType, Chair, Patient

        for chair_id in clinic["chairs"]:
            add_appointment(
                db.session.get(Patient, _other_patient_in(app)),
                db.session.get(Chair, chair_id),
                db.session.get(AppointmentType, clinic["maintenance"]),
                at(date(2027, 1, 14), 8),
            )
        db.session.commit()
    url = (
        f"/api/v1/patients/{clinic['patient']}/free-slots?appointment_type_id={clinic['maintenance']}"
        "&from=2027-01-14&to=2027-01-15&limit=5"
    )
    found = client.get(url, headers=bearer(secret)).get_json()
    assert found["window_opens"] == "2027-01-14" and len(found["slots"]) == 5
    starts = [s["start_at"] for s in found["slots"]]
    assert starts[0] == "2027-01-14T09:45:00-05:00"  # chairs taken 08:00-09:40; 15-minute steps
    assert all(s[:10] in ("2027-01-14", "2027-01-15") for s in starts)


def test_free_slots_page_by_cursor(client, api_token, clinic):
    """Free slots come `limit` at a time; meta.next carries a cursor, and the pages together
    are the same slots as one long list, none twice; the last page has no next."""
    secret = api_token("frontdesk", "read")
    base = (
        f"/api/v1/patients/{clinic['patient']}/free-slots?appointment_type_id={clinic['maintenance']}"
        "&from=2027-01-14&to=2027-01-14"
    )
    whole = client.get(base + "&limit=30", headers=bearer(secret)).get_json()
    assert whole["meta"]["next"] is None and whole["meta"]["next_cursor"] is None
    pages, url = [], base + "&limit=4"
    while url:
        page = client.get(url, headers=bearer(secret)).get_json()
        assert len(page["slots"]) <= 4 and page["meta"]["limit"] == 4
        pages.append(page["slots"])
        url = page["meta"]["next"]
    assert len(pages) > 2
    assert [s for p in pages for s in p] == whole["slots"]


@pytest.mark.parametrize("cursor", ["abc", "s1.!!!", "s1.bm90LWEtbnVtYmVy", "s1." + "A" * 37])
def test_a_cursor_not_ours_is_refused(client, api_token, clinic, cursor):
    """A cursor the API did not give is a 422 naming `cursor`, never a server error."""
    url = (
        f"/api/v1/patients/{clinic['patient']}/free-slots?appointment_type_id={clinic['maintenance']}"
        f"&from=2027-01-14&to=2027-01-14&cursor={cursor}"
    )
    response = client.get(url, headers=bearer(api_token()))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.get_json()["errors"][0]["field"] == "cursor"


def _other_patient_in(app) -> int:
    patient = make_patient()
    db.session.flush()
    return patient.id


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2027-01-15&to=2027-01-14", "to"),
        ("from=2027-01-01&to=2027-06-01", "to"),
        ("from=2027-01-01", "to"),
        ("from=yesterday&to=2027-01-14", "from"),
    ],
)
def test_free_slot_ranges_checked(client, api_token, clinic, query, field):
    """A reversed, too long, half or unreadable range is a 422 naming the parameter."""
    url = f"/api/v1/patients/{clinic['patient']}/free-slots?appointment_type_id={clinic['maintenance']}&{query}"
    response = client.get(url, headers=bearer(api_token()))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert field in [e.get("field") for e in response.get_json()["errors"]]


def test_worklist_lists_due_patients_unbooked_first(client, api_token, clinic, app):
    """The worklist shows due patients with their window, unbooked before booked, filterable."""
    with app.app_context():
        maintenance_patient(date(2026, 11, 20), last_name="Due")  # window opened 2026-12-20
        maintenance_patient(date(2026, 11, 21), last_name="Booked")
        db.session.commit()
    secret = api_token("frontdesk", "read")
    booked_id = client.get("/api/v1/patients?q=Booked", headers=bearer(secret)).get_json()["items"][
        0
    ]["id"]
    writer = api_token("frontdesk", "write")
    with app.app_context():
        from tracker.models import AppointmentType, Chair, Patient

        add_appointment(
            db.session.get(Patient, booked_id),
            db.session.get(Chair, clinic["chairs"][0]),
            db.session.get(AppointmentType, clinic["maintenance"]),
            at(date(2027, 1, 6), 9),
            course=db.session.get(Patient, booked_id).courses[0],
        )
        db.session.commit()
    listing = client.get("/api/v1/worklist", headers=bearer(writer)).get_json()
    assert listing["on"] == "2027-01-04"
    assert [(r["last_name"], r["status"], r["booked"]) for r in listing["items"]] == [
        ("Due", "due", False),
        ("Booked", "due", True),
    ]
    assert listing["items"][0]["window_opens"] == "2026-12-20"
    unbooked = client.get("/api/v1/worklist?booked=false", headers=bearer(secret)).get_json()
    assert [r["last_name"] for r in unbooked["items"]] == ["Due"]
    bad = client.get("/api/v1/worklist?status=sleepy", headers=bearer(secret))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "status"


def test_the_patient_is_told_as_from_the_pages(client, api_token, clinic, app):
    """Booking through the API plans the patient's 'visit booked' notice, as the booking page
    does; a move before it is sent plans no second notice (the booked one carries the new
    time); a cancel of a visit never emailed about plans no cancellation notice."""
    from tracker.models import Reminder

    secret = api_token()
    booked = _book(client, secret, clinic).get_json()

    def kinds() -> list[str]:
        with app.app_context():
            return sorted(
                db.session.scalars(
                    select(Reminder.kind).where(Reminder.appointment_id == booked["id"])
                )
            )

    assert kinds() == ["visit_booked"]
    moved = client.post(
        f"/api/v1/appointments/{booked['id']}/move",
        headers=bearer(secret, **{"If-Match": booked["etag"]}),
        json={
            "chair_id": clinic["chairs"][1],
            "start_at": "2027-01-15T10:00:00-05:00",
            "reason": "clinic",
        },
    ).get_json()
    assert kinds() == ["visit_booked"]
    cancelled = client.post(
        f"/api/v1/appointments/{booked['id']}/cancel",
        headers=bearer(secret, **{"If-Match": moved["etag"]}),
        json={"reason": "patient"},
    )
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert kinds() == ["visit_booked"]
