"""FHIR R4 through the real app and database: every resource validates with the fhir.resources
models; searches, paging, roles and refusals (OperationOutcome, never a server error)."""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.extensions import db
from tracker.models import Appointment, AppointmentType
from tracker.services import appointments as service

from ..schedule_fixtures import (
    MONDAY,
    NOW,
    ZONE,
    add_appointment,
    at,
    maintenance_patient,
    setup_clinic,
)
from .fhir_checks import read
from .helpers import bearer


@pytest.fixture
def fhir_clock(frozen_clock):
    """The app's clock frozen at Monday 2027-01-04 07:00 (the FHIR reads' today is MONDAY)."""
    return frozen_clock


@pytest.fixture
def clinic(app, fhir_clock):
    """Three chairs; Dana (window 2027-01-14 to 2027-03-15, unbooked); Eli (window open,
    booked on Tuesday at 09:00 on chair 1, and a cancelled visit before it)."""
    with app.app_context():
        setup = setup_clinic()
        dana, dana_course = maintenance_patient(
            date(2026, 12, 15), first_name="Dana", last_name="Quill"
        )
        dana_course.indication = "CRPS"
        eli, eli_course = maintenance_patient(
            date(2026, 11, 20), first_name="Eli", last_name="Marsh"
        )
        eli_course.indication = "Fibromyalgia"
        chair = setup["chairs"][0]
        kind = setup["maintenance"]
        tuesday = MONDAY + timedelta(days=1)
        booked = add_appointment(eli, chair, kind, at(tuesday, 9), course=eli_course)
        booked.notes = "Prefers the window seat"
        cancelled = add_appointment(
            eli, chair, kind, at(MONDAY, 9), status="cancelled", course=eli_course
        )
        cancelled.cancel_reason = "patient"
        db.session.commit()
        return {
            "dana": dana.id,
            "dana_mrn": dana.mrn,
            "dana_course": dana_course.id,
            "eli": eli.id,
            "booked": booked.id,
            "cancelled": cancelled.id,
            "chairs": [c.id for c in setup["chairs"]],
            "maintenance": kind.id,
            "series": setup["series"].id,
        }


def get(client, path, secret, status=200):
    return read(client.get(path, headers=bearer(secret)), status)


def test_metadata_is_a_capability_statement_without_a_token(client):
    """/fhir/metadata needs no token and lists every resource read and searched."""
    statement = read(client.get("/fhir/metadata"))
    assert (
        statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    )
    (rest,) = statement["rest"]
    types = {r["type"]: r for r in rest["resource"]}
    assert set(types) == {"Patient", "Appointment", "Location", "Schedule", "Slot"}
    assert {p["name"] for p in types["Appointment"]["searchParam"]} >= {"patient", "date"}


def test_every_resource_needs_a_live_token(client, login_as, app):
    """No token or a wrong one: 401 OperationOutcome with a bearer challenge; a logged-in
    browser session is no FHIR credential."""
    for headers in ({}, bearer("trk_not-a-token")):
        response = client.get("/fhir/Patient", headers=headers)
        outcome = read(response, 401)
        assert outcome["issue"][0]["code"] == "login"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    login_as("admin")
    read(client.get("/fhir/Appointment"), 401)


def test_patient_read_and_search(client, api_token, clinic):
    """A patient by id, by MRN, by name beginnings and by birth date; an unknown id is a 404."""
    secret = api_token("frontdesk", "read")
    patient = get(client, f"/fhir/Patient/{clinic['dana']}", secret)
    assert patient["identifier"][0]["value"] == clinic["dana_mrn"]
    assert patient["name"][0] == {"family": "Quill", "given": ["Dana"]}
    by_mrn = get(client, f"/fhir/Patient?identifier={clinic['dana_mrn']}", secret)
    assert [e["resource"]["id"] for e in by_mrn["entry"]] == [str(clinic["dana"])]
    by_name = get(client, "/fhir/Patient?name=qui", secret)
    assert by_name["total"] == 1 and by_name["type"] == "searchset"
    assert by_name["entry"][0]["fullUrl"].endswith(f"/fhir/Patient/{clinic['dana']}")
    everyone = get(client, "/fhir/Patient?_count=1", secret)
    assert everyone["total"] == 2 and len(everyone["entry"]) == 1
    following = {link["relation"]: link["url"] for link in everyone["link"]}["next"]
    second = get(client, following.split("localhost", 1)[1], secret)
    assert second["entry"][0]["resource"]["id"] != everyone["entry"][0]["resource"]["id"]
    assert "next" not in {link["relation"] for link in second["link"]}
    outcome = get(client, "/fhir/Patient/999999", secret, 404)
    assert outcome["issue"][0]["code"] == "not-found"
    get(client, "/fhir/Patient/not-a-number", secret, 404)


def test_stored_appointment_with_chair_as_location(client, api_token, clinic):
    """A visit carries its stored status, start and end in clinic time, the patient and the
    chair (a Location) as participants; a cancelled one its reason."""
    secret = api_token("frontdesk", "read")
    visit = get(client, f"/fhir/Appointment/{clinic['booked']}", secret)
    assert visit["status"] == "booked"
    assert (
        visit["start"] == "2027-01-05T09:00:00-05:00"
        and visit["end"] == "2027-01-05T10:40:00-05:00"
    )
    actors = [p["actor"]["reference"] for p in visit["participant"]]
    assert actors == [f"Patient/{clinic['eli']}", f"Location/{clinic['chairs'][0]}"]
    location = get(client, f"/fhir/{actors[1]}", secret)
    assert location["name"] == "Chair 1" and location["status"] == "active"
    cancelled = get(client, f"/fhir/Appointment/{clinic['cancelled']}", secret)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelationReason"]["coding"][0]["code"] == "patient"


def test_front_desk_receives_no_clinical_values(client, api_token, clinic):
    """The indication and visit notes reach clinician tokens only, in no FHIR answer to front desk."""
    frontdesk, clinician = api_token("frontdesk", "read"), api_token("clinician", "read")
    paths = [
        f"/fhir/Appointment/{clinic['booked']}",
        f"/fhir/Appointment?patient={clinic['eli']}",
        f"/fhir/Appointment?patient={clinic['dana']}",
        f"/fhir/Patient/{clinic['eli']}",
    ]
    for path in paths:
        text = str(get(client, path, frontdesk))
        assert "CRPS" not in text and "Fibromyalgia" not in text and "window seat" not in text
        assert "reasonCode" not in text and "comment" not in text
    visit = get(client, paths[0], clinician)
    assert (
        visit["reasonCode"] == [{"text": "Fibromyalgia"}]
        and visit["comment"] == "Prefers the window seat"
    )
    (window,) = get(client, paths[2], clinician)["entry"]
    assert window["resource"]["reasonCode"] == [{"text": "CRPS"}]


def test_unbooked_window_is_a_proposed_appointment(client, api_token, clinic, app):
    """Dana's window, unbooked, is a proposed Appointment with requestedPeriod = the window;
    Eli's window is booked, so it is not; once Dana is booked her window goes too."""
    secret = api_token("frontdesk", "write")
    dana = get(client, f"/fhir/Appointment?patient=Patient/{clinic['dana']}", secret)
    (entry,) = dana["entry"]
    proposal = entry["resource"]
    assert proposal["status"] == "proposed" and "start" not in proposal
    assert proposal["requestedPeriod"] == [{"start": "2027-01-14", "end": "2027-03-15"}]
    assert proposal["participant"] == [
        {"actor": {"reference": f"Patient/{clinic['dana']}"}, "status": "needs-action"}
    ]
    assert get(client, f"/fhir/Appointment/{proposal['id']}", secret)["id"] == proposal["id"]
    eli = get(client, f"/fhir/Appointment?patient={clinic['eli']}", secret)
    assert {e["resource"]["status"] for e in eli["entry"]} == {"booked", "cancelled"}
    booked = client.post(
        "/api/v1/appointments",
        headers=bearer(secret),
        json={
            "patient_id": clinic["dana"],
            "appointment_type_id": clinic["maintenance"],
            "chair_id": clinic["chairs"][1],
            "start_at": "2027-01-14T09:00:00-05:00",
        },
    )
    assert booked.status_code == 201
    after = get(client, f"/fhir/Appointment?patient={clinic['dana']}", secret)
    assert [e["resource"]["status"] for e in after["entry"]] == ["pending"]
    gone = get(client, f"/fhir/Appointment/{proposal['id']}", secret, 404)
    assert gone["issue"][0]["code"] == "not-found"


def test_appointment_search_by_date_status_and_count(client, api_token, clinic):
    """`date` picks visits by their clinic-local start day, `requested-period` the windows
    touching the range; `status` narrows (an unknown code matches nothing); `_count` pages
    with a next link."""
    secret = api_token("clinician", "read")
    tuesday = get(client, "/fhir/Appointment?date=2027-01-05", secret)
    assert [e["resource"]["id"] for e in tuesday["entry"]] == [str(clinic["booked"])]
    assert tuesday["total"] == 1  # a window has no start: `date` never matches it
    in_window = get(
        client,
        "/fhir/Appointment?requested-period=ge2027-02-01&requested-period=lt2027-02-02",
        secret,
    )
    assert [e["resource"]["status"] for e in in_window["entry"]] == ["proposed"]
    past_window = get(client, "/fhir/Appointment?requested-period=le2027-01-13", secret)
    assert past_window["total"] == 0  # Dana's window opens on the 14th
    unknown = get(client, "/fhir/Appointment?status=not-a-status", secret)
    assert unknown["total"] == 0
    only_booked = get(client, "/fhir/Appointment?status=booked", secret)
    assert [e["resource"]["id"] for e in only_booked["entry"]] == [str(clinic["booked"])]
    first = get(client, "/fhir/Appointment?_count=2", secret)
    assert first["total"] == 3 and len(first["entry"]) == 2
    following = {link["relation"]: link["url"] for link in first["link"]}["next"]
    rest = get(client, following.split("localhost", 1)[1], secret)
    assert [e["resource"]["status"] for e in rest["entry"]] == ["proposed"]
    counted = get(client, "/fhir/Appointment?_count=0", secret)
    assert counted["total"] == 3 and counted["entry"] == []


def test_schedule_and_slots_per_chair(client, api_token, clinic):
    """Each chair has a Schedule (actor: its Location); its Slots are the booked blocks (busy)
    and the free blocks the booking rules find (free, the type's length, never overlapping)."""
    secret = api_token("frontdesk", "read")
    schedules = get(client, "/fhir/Schedule", secret)
    assert schedules["total"] == 3
    chair = clinic["chairs"][0]
    schedule = get(client, f"/fhir/Schedule/{chair}", secret)
    assert schedule["actor"][0]["reference"] == f"Location/{chair}"
    tuesday = get(
        client, f"/fhir/Slot?schedule=Schedule/{chair}&start=2027-01-05&_count=100", secret
    )
    slots = [e["resource"] for e in tuesday["entry"]]
    busy = [s for s in slots if s["status"] == "busy"]
    assert [(s["id"], s["start"]) for s in busy] == [
        (f"busy-{clinic['booked']}", "2027-01-05T09:00:00-05:00")
    ]
    free = [s for s in slots if s["status"] == "free"]
    assert free and all(s["schedule"]["reference"] == f"Schedule/{chair}" for s in free)
    # 08:00 would run into the 09:00 visit; the first free start is the step after it ends
    assert free[0]["start"] == "2027-01-05T10:45:00-05:00"
    busy_span = (busy[0]["start"], busy[0]["end"])
    assert all(s["end"] <= busy_span[0] or s["start"] >= busy_span[1] for s in free)
    # the same free times the API's booking rules give: a slot read back is still free
    again = get(client, f"/fhir/Slot/{free[0]['id']}", secret)
    assert again == free[0]
    only_free = get(
        client, f"/fhir/Slot?schedule={chair}&start=2027-01-05&status=free&_count=100", secret
    )
    assert {e["resource"]["status"] for e in only_free["entry"]} == {"free"}


def test_booked_slot_is_no_longer_free(client, api_token, clinic, app):
    """A free Slot, once its time is booked through the API, reads as a 404 and the search
    shows the busy block in its place."""
    secret = api_token("frontdesk", "write")
    chair = clinic["chairs"][2]
    search = get(
        client,
        f"/fhir/Slot?schedule=Schedule/{chair}&start=2027-01-06&status=free&_count=1",
        secret,
    )
    (entry,) = search["entry"]
    slot = entry["resource"]
    assert slot["serviceType"][0]["coding"][0]["code"] == str(clinic["maintenance"])
    assert "next" in {link["relation"] for link in search["link"]}
    booked = client.post(
        "/api/v1/appointments",
        headers=bearer(secret),
        json={
            "patient_id": clinic["dana"],
            "appointment_type_id": clinic["maintenance"],
            "chair_id": chair,
            "start_at": slot["start"],
        },
    )
    assert booked.status_code == 201
    gone = get(client, f"/fhir/Slot/{slot['id']}", secret, 404)
    assert gone["issue"][0]["code"] == "not-found"
    after = get(client, f"/fhir/Slot?schedule=Schedule/{chair}&start=2027-01-06&_count=1", secret)
    assert after["entry"][0]["resource"]["status"] == "busy"


def test_slot_length_follows_the_service_type(client, api_token, clinic):
    """service-type picks the appointment type: a series block lasts its five hours."""
    secret = api_token("frontdesk", "read")
    series = get(
        client,
        f"/fhir/Slot?schedule=Schedule/{clinic['chairs'][1]}&start=2027-01-07"
        f"&status=free&service-type={clinic['series']}&_count=1",
        secret,
    )
    slot = series["entry"][0]["resource"]
    assert (slot["start"], slot["end"]) == (
        "2027-01-07T08:00:00-05:00",
        "2027-01-07T13:00:00-05:00",
    )


@pytest.mark.parametrize(
    "path, field",
    [
        ("/fhir/Appointment?date=2027-02-31", "date"),
        ("/fhir/Appointment?date=ge2027-01-05T09:00", "date"),
        ("/fhir/Appointment?date=0001-01-01", "date"),
        ("/fhir/Appointment?patient=Location/3", "patient"),
        ("/fhir/Appointment?patient=abc", "patient"),
        ("/fhir/Appointment?_count=1000", "_count"),
        ("/fhir/Appointment?_count=-1", "_count"),
        ("/fhir/Appointment?_offset=x", "_offset"),
        ("/fhir/Patient?birthdate=1971-13-01", "birthdate"),
        ("/fhir/Patient?name=%2A%2A", "name"),
        ("/fhir/Slot?start=ge2027-01-01&start=le2027-03-01", "start"),
        ("/fhir/Slot?start=ge2027-03-01&start=le2027-01-01", "start"),
        ("/fhir/Slot?service-type=999", "service-type"),
        ("/fhir/Slot?schedule=Patient/1", "schedule"),
        ("/fhir/Schedule?active=maybe", "active"),
    ],
)
def test_bad_search_parameters_are_operation_outcomes(client, api_token, clinic, path, field):
    """Each unreadable parameter is a 400 OperationOutcome naming it; nothing is a server error."""
    outcome = get(client, path, api_token("frontdesk", "read"), 400)
    assert outcome["issue"][0]["code"] == "invalid" and outcome["issue"][0]["expression"] == [field]


def test_unknown_addresses_methods_and_ids_are_operation_outcomes(client, api_token, clinic):
    """An unknown resource type, a write, odd ids and a NUL: OperationOutcomes, never HTML or a 500."""
    secret = api_token("admin", "write")
    get(client, "/fhir/Observation", secret, 404)
    get(client, "/fhir/Appointment/window-1-20270101", secret, 404)
    get(client, "/fhir/Appointment/" + "9" * 70, secret, 404)
    get(client, "/fhir/Slot/free-1-1-99999999999", secret, 404)
    get(client, "/fhir/Slot/busy-99", secret, 404)
    get(client, f"/fhir/Slot/busy-{clinic['cancelled']}", secret, 404)
    refused = client.post(f"/fhir/Appointment/{clinic['booked']}", headers=bearer(secret), json={})
    read(refused, 405)
    read(client.get("/fhir/Patient?name=a%00b", headers=bearer(secret)), 400)
    with client.application.app_context():
        assert db.session.get(Appointment, clinic["booked"]).status == "booked"


def test_read_only_token_and_every_role_may_read(client, api_token, clinic):
    """FHIR only reads: a read-scope token of each role gets the same visit."""
    for role in ("frontdesk", "clinician", "admin"):
        visit = get(client, f"/fhir/Appointment/{clinic['booked']}", api_token(role, "read"))
        assert visit["id"] == str(clinic["booked"])


def test_free_slot_uses_the_booking_service(client, api_token, clinic, app):
    """The first free Slot of a chair is the first start the booking service proposes there."""
    secret = api_token("frontdesk", "read")
    chair = clinic["chairs"][1]
    fhir_first = get(
        client, f"/fhir/Slot?schedule={chair}&start=2027-01-05&status=free&_count=1", secret
    )
    with app.app_context():
        kind = db.session.get(AppointmentType, clinic["maintenance"])
        (first,) = service.chair_slots(
            kind,
            MONDAY + timedelta(days=1),
            MONDAY + timedelta(days=1),
            chair_ids=[chair],
            now=NOW,
            limit=1,
        )
        expected = first.start
    assert fhir_first["entry"][0]["resource"]["start"] == expected.astimezone(ZONE).isoformat(
        timespec="seconds"
    )


SEARCHES = {
    "/fhir/Patient": ("identifier", "name", "birthdate"),
    "/fhir/Appointment": ("patient", "date", "requested-period", "status"),
    "/fhir/Schedule": ("active",),
    "/fhir/Slot": ("schedule", "start", "status", "service-type"),
}
PARAMETER_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["ge2027-01-05", "lt2027-01-04T09:00:00-05:00", "Patient/1", "Schedule/1", "1",
                     "free", "busy,free", "proposed", "true", "eq2027-02-30", "9" * 20, "-1"]),
)  # fmt: skip


@pytest.mark.slow
def test_generated_searches_never_fail(client, api_token, clinic):
    """Bounded generated searches (any text in every parameter, _count and _offset included):
    a valid Bundle or a 400 OperationOutcome, never a server error."""
    secret = api_token("clinician", "read")

    @given(
        path=st.sampled_from(sorted(SEARCHES)),
        values=st.dictionaries(
            st.sampled_from(
                sorted(
                    {name for names in SEARCHES.values() for name in names} | {"_count", "_offset"}
                )
            ),
            PARAMETER_VALUES,
            max_size=4,
        ),
    )
    @settings(
        max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(path, values):
        response = client.get(path, query_string=values, headers=bearer(secret))
        assert response.status_code in (200, 400), (path, values, response.get_data(as_text=True))
        read(response, response.status_code)

    check()
