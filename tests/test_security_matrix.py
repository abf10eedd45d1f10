"""Every route of the app, for every role, against an explicit table; and CSRF on every POST route.

To add a route: add one line per method to ROUTES (anonymous, frontdesk, clinician, admin), and,
if its URL has a new parameter, say where its value comes from in `url_arguments`. The tests
enumerate app.url_map, so a route missing from the table fails them.
"""
from datetime import date, datetime, time, timedelta, timezone

import pytest
from flask import url_for
from werkzeug.security import generate_password_hash

from tracker.extensions import csrf, db
from tracker.models import (
    ApiToken, Appointment, WebhookEndpoint, AppointmentType, Chair, ChecklistItem, ClinicallyDue, ClosedDate, Infusion,
    MonitoringReading, MonitoringSheet, OutcomeMeasure, Protocol, ProtocolPhase, Reminder, StaffSession, User, WaitlistEntry, utcnow,
)

from .conftest import build_app, login
from .factories import make_course, make_patient, make_user

LOGIN = "login"  # a redirect to the login page
LOGS_OUT = {("auth.end_all_sessions", "POST"), ("auth.logout", "POST")}
ROLES = ("anonymous", "frontdesk", "clinician", "admin")

# (endpoint, method): expected answer for (anonymous, frontdesk, clinician, admin).
# An int is the exact status code; LOGIN is a 302 to /login. POSTs carry no form fields, so an
# allowed POST answers with its validation page (200/400) or a redirect (302/303).
ROUTES = {
    # public
    ("static", "GET"): (200, 200, 200, 200),
    ("main.health", "GET"): (200, 200, 200, 200),
    ("auth.login", "GET"): (200, 302, 302, 302),
    ("auth.login", "POST"): (200, 302, 302, 302),
    ("public_reminders.unsubscribe", "GET"): (200, 200, 200, 200),
    ("public_reminders.unsubscribe", "POST"): (302, 302, 302, 302),
    # patient links (the matrix's token is not one of theirs: a clear refusal, nothing changed)
    ("patient_links.book", "GET"): (400, 400, 400, 400),
    ("patient_links.choose", "POST"): (400, 400, 400, 400),
    ("patient_links.held", "GET"): (400, 400, 400, 400),
    ("patient_links.book_held", "POST"): (400, 400, 400, 400),
    ("patient_links.manage", "GET"): (400, 400, 400, 400),
    ("patient_links.confirm", "POST"): (400, 400, 400, 400),
    ("patient_links.call_me", "POST"): (400, 400, 400, 400),
    ("patient_links.cancel", "POST"): (400, 400, 400, 400),
    ("patient_links.move_times", "GET"): (400, 400, 400, 400),
    ("patient_links.move", "POST"): (400, 400, 400, 400),
    ("patient_links.checklist_page", "GET"): (400, 400, 400, 400),
    ("patient_links.save_checklist", "POST"): (400, 400, 400, 400),
    ("patient_links.join_waitlist", "POST"): (400, 400, 400, 400),
    ("patient_links.check_in", "GET"): (400, 400, 400, 400),
    ("patient_links.send_check_in", "POST"): (400, 400, 400, 400),
    ("patient_links.leave_waitlist", "POST"): (400, 400, 400, 400),
    ("patient_links.offer", "GET"): (400, 400, 400, 400),
    ("patient_links.accept_offer", "POST"): (400, 400, 400, 400),
    ("patient_links.resend", "GET"): (200, 200, 200, 200),
    ("patient_links.resend", "POST"): (400, 400, 400, 400),
    # any staff
    ("auth.logout", "POST"): (LOGIN, LOGIN, LOGIN, LOGIN),  # staff: logged out, sent to log in
    # the second login step: without a pending login (a right password first), back to log in
    ("auth.login_code", "GET"): (LOGIN, LOGIN, LOGIN, LOGIN),
    ("auth.login_code", "POST"): (LOGIN, LOGIN, LOGIN, LOGIN),
    ("auth.login_setup", "GET"): (LOGIN, LOGIN, LOGIN, LOGIN),
    ("auth.login_setup", "POST"): (LOGIN, LOGIN, LOGIN, LOGIN),
    # one's own account
    ("auth.account", "GET"): (LOGIN, 200, 200, 200),
    ("auth.change_password", "POST"): (LOGIN, 200, 200, 200),
    ("auth.keep_alive", "POST"): (LOGIN, 302, 302, 302),
    ("auth.end_one_session", "POST"): (LOGIN, 404, 404, 404),  # the world's session is someone else's
    ("auth.end_all_sessions", "POST"): (LOGIN, LOGIN, LOGIN, LOGIN),
    ("auth.two_factor", "GET"): (LOGIN, 200, 200, 200),
    ("auth.two_factor", "POST"): (LOGIN, 200, 200, 200),
    ("auth.two_factor_off", "POST"): (LOGIN, 200, 200, 200),
    ("auth.recovery_codes", "GET"): (LOGIN, 200, 200, 200),
    ("auth.recovery_codes", "POST"): (LOGIN, 404, 404, 404),  # no second factor: no codes to renew
    ("main.index", "GET"): (LOGIN, 302, 302, 302),
    ("worklist.index", "GET"): (LOGIN, 200, 200, 200),
    ("worklist.upcoming", "GET"): (LOGIN, 200, 200, 200),
    ("worklist.export_csv", "GET"): (LOGIN, 200, 200, 200),
    ("worklist.log_call", "POST"): (LOGIN, 303, 303, 303),  # refused, back to the list with why
    ("worklist.reactivation", "POST"): (LOGIN, 303, 303, 303),  # back to the patient page
    ("worklist.waitlist_page", "GET"): (LOGIN, 200, 200, 200),
    ("worklist.add_to_waitlist", "POST"): (LOGIN, 303, 303, 303),  # back to the list
    ("worklist.remove_from_waitlist", "POST"): (LOGIN, 303, 303, 303),  # back to the waitlist
    ("patients.index", "GET"): (LOGIN, 200, 200, 200),
    ("search.results", "GET"): (LOGIN, 200, 200, 200),
    ("search.suggest", "GET"): (LOGIN, 200, 200, 200),
    ("patients.new", "GET"): (LOGIN, 200, 200, 200),
    ("patients.new", "POST"): (LOGIN, 400, 400, 400),
    ("patients.detail", "GET"): (LOGIN, 200, 200, 200),
    ("patients.edit", "GET"): (LOGIN, 200, 200, 200),
    ("patients.edit", "POST"): (LOGIN, 400, 400, 400),
    ("schedule.day", "GET"): (LOGIN, 200, 200, 200),
    ("schedule.week", "GET"): (LOGIN, 200, 200, 200),
    # front desk and clinicians
    ("schedule.book", "GET"): (LOGIN, 200, 200, 200),
    ("schedule.book", "POST"): (LOGIN, 400, 400, 400),
    ("schedule.book_series", "GET"): (LOGIN, 200, 200, 200),
    ("schedule.book_series", "POST"): (LOGIN, 400, 400, 400),
    ("schedule.appointment", "GET"): (LOGIN, 200, 200, 200),
    ("schedule.appointment_ics", "GET"): (LOGIN, 200, 200, 200),
    ("schedule.appointment_status", "POST"): (LOGIN, 303, 303, 303),
    ("schedule.appointment_in_error", "GET"): (LOGIN, 200, 200, 200),
    ("schedule.appointment_in_error", "POST"): (LOGIN, 400, 400, 400),
    ("schedule.reschedule", "GET"): (LOGIN, 200, 200, 200),
    ("schedule.reschedule", "POST"): (LOGIN, 400, 400, 400),
    ("schedule.move", "GET"): (LOGIN, 200, 200, 200),
    ("schedule.move", "POST"): (LOGIN, 400, 400, 400),
    ("schedule.confirm_all", "POST"): (LOGIN, 303, 303, 303),
    # the pre-visit checklist's answers: staff taking them by phone (the front desk included)
    ("schedule.appointment_checklist", "GET"): (LOGIN, 200, 200, 200),
    ("schedule.appointment_checklist", "POST"): (LOGIN, 303, 303, 303),  # no answers: nothing changed
    ("reminders.index", "GET"): (LOGIN, 200, 200, 200),
    # front desk (and admin)
    ("reminders.retry", "POST"): (LOGIN, 303, 403, 303),
    ("reminders.cancel", "POST"): (LOGIN, 303, 403, 303),
    # clinicians (and admin)
    ("patients.open_course", "POST"): (LOGIN, 403, 400, 400),
    ("patients.course_action", "POST"): (LOGIN, 403, 400, 400),
    ("patients.discharge", "GET"): (LOGIN, 403, 200, 200),
    ("patients.discharge", "POST"): (LOGIN, 403, 400, 400),
    ("patients.record_infusion", "GET"): (LOGIN, 403, 200, 200),
    ("patients.record_infusion", "POST"): (LOGIN, 403, 400, 400),
    ("patients.infusion_in_error", "GET"): (LOGIN, 403, 200, 200),
    ("patients.infusion_in_error", "POST"): (LOGIN, 403, 400, 400),
    ("schedule.complete", "GET"): (LOGIN, 403, 200, 200),
    ("schedule.complete", "POST"): (LOGIN, 403, 400, 400),
    ("monitoring.sheet", "GET"): (LOGIN, 403, 200, 200),
    ("monitoring.add_reading", "POST"): (LOGIN, 403, 400, 400),
    ("monitoring.times", "POST"): (LOGIN, 403, 400, 400),
    ("monitoring.release", "POST"): (LOGIN, 403, 400, 400),
    ("monitoring.reading_in_error", "GET"): (LOGIN, 403, 200, 200),
    ("monitoring.reading_in_error", "POST"): (LOGIN, 403, 400, 400),
    ("outcomes.record", "GET"): (LOGIN, 403, 200, 200),
    ("outcomes.record", "POST"): (LOGIN, 403, 400, 400),
    ("outcomes.measure_in_error", "GET"): (LOGIN, 403, 200, 200),
    ("outcomes.measure_in_error", "POST"): (LOGIN, 403, 400, 400),
    # admin
    ("admin.index", "GET"): (LOGIN, 403, 403, 200),
    ("admin.users", "GET"): (LOGIN, 403, 403, 200),
    ("admin.new_user", "GET"): (LOGIN, 403, 403, 200),
    ("admin.new_user", "POST"): (LOGIN, 403, 403, 200),
    ("admin.edit_user", "GET"): (LOGIN, 403, 403, 200),
    ("admin.edit_user", "POST"): (LOGIN, 403, 403, 303),
    ("admin.reset_user_password", "POST"): (LOGIN, 403, 403, 200),
    ("admin.unlock", "POST"): (LOGIN, 403, 403, 303),
    ("admin.two_factor_off", "POST"): (LOGIN, 403, 403, 303),
    ("admin.settings", "GET"): (LOGIN, 403, 403, 200),
    ("admin.settings", "POST"): (LOGIN, 403, 403, 200),
    ("admin.audit", "GET"): (LOGIN, 403, 403, 200),
    # esketamine REMS forms: clinicians only
    ("rems.worklist", "GET"): (LOGIN, 403, 200, 200),
    ("rems.form", "GET"): (LOGIN, 403, 200, 200),
    ("rems.save_form", "POST"): (LOGIN, 403, 400, 400),
    ("rems.filed", "POST"): (LOGIN, 403, 400, 400),  # no form written yet
    ("rems.in_error", "GET"): (LOGIN, 403, 200, 200),
    ("rems.in_error", "POST"): (LOGIN, 403, 400, 400),
    ("rems.course", "GET"): (LOGIN, 403, 200, 200),
    ("rems.course", "POST"): (LOGIN, 403, 303, 303),  # turned on (turning off needs a reason)
    ("monitoring.settings", "GET"): (LOGIN, 403, 403, 200),
    ("protocols.index", "GET"): (LOGIN, 403, 403, 200),
    ("protocols.new", "GET"): (LOGIN, 403, 403, 200),
    ("protocols.new", "POST"): (LOGIN, 403, 403, 400),
    ("protocols.edit", "GET"): (LOGIN, 403, 403, 200),
    ("protocols.edit", "POST"): (LOGIN, 403, 403, 400),
    ("monitoring.settings", "POST"): (LOGIN, 403, 403, 400),
    # check-ins: the clinic's settings (admins); a clinician accepts or dismisses an entry
    ("check_ins.settings", "GET"): (LOGIN, 403, 403, 200),
    ("check_ins.settings", "POST"): (LOGIN, 403, 403, 400),
    ("check_ins.accept", "POST"): (LOGIN, 403, 303, 303),
    ("check_ins.dismiss", "GET"): (LOGIN, 403, 200, 200),
    ("check_ins.dismiss", "POST"): (LOGIN, 403, 400, 400),  # no reason given
    ("schedule.chairs", "GET"): (LOGIN, 403, 403, 200),
    ("schedule.chairs", "POST"): (LOGIN, 403, 403, 400),
    ("schedule.chair_update", "POST"): (LOGIN, 403, 403, 400),
    ("schedule.chair_active", "POST"): (LOGIN, 403, 403, 303),
    ("schedule.hours", "GET"): (LOGIN, 403, 403, 200),
    ("schedule.hours", "POST"): (LOGIN, 403, 403, 303),
    ("schedule.closed_dates", "GET"): (LOGIN, 403, 403, 200),
    ("schedule.closed_dates", "POST"): (LOGIN, 403, 403, 400),
    ("schedule.closed_date_delete", "POST"): (LOGIN, 403, 403, 303),
    ("schedule.closed_day", "GET"): (LOGIN, 200, 200, 200),
    ("schedule.closed_day_cancel", "POST"): (LOGIN, 303, 303, 303),
    ("schedule.appointment_types", "GET"): (LOGIN, 403, 403, 200),
    ("schedule.appointment_types", "POST"): (LOGIN, 403, 403, 400),
    ("schedule.appointment_type_update", "POST"): (LOGIN, 403, 403, 400),
    ("schedule.capacity", "GET"): (LOGIN, 403, 403, 200),
    ("schedule.capacity", "POST"): (LOGIN, 403, 403, 400),
    ("schedule.checklist_items", "GET"): (LOGIN, 403, 403, 200),
    ("schedule.checklist_items", "POST"): (LOGIN, 403, 403, 400),
    ("schedule.checklist_item_update", "POST"): (LOGIN, 403, 403, 400),
    ("api_tokens.index", "GET"): (LOGIN, 403, 403, 200),
    ("api_tokens.index", "POST"): (LOGIN, 403, 403, 400),
    ("api_tokens.revoke", "POST"): (LOGIN, 403, 403, 303),
    # the JSON API: a session never authenticates it (bearer tokens only); its document is public
    ("api.openapi", "GET"): (200, 200, 200, 200),
    ("api.patients", "GET"): (401, 401, 401, 401),
    ("api.patient", "GET"): (401, 401, 401, 401),
    ("api.free_slots", "GET"): (401, 401, 401, 401),
    ("api.worklist", "GET"): (401, 401, 401, 401),
    ("api.appointments", "GET"): (401, 401, 401, 401),
    ("api.appointment", "GET"): (401, 401, 401, 401),
    ("api.book", "POST"): (401, 401, 401, 401),
    ("api.move", "POST"): (401, 401, 401, 401),
    ("api.cancel", "POST"): (401, 401, 401, 401),
    ("api.confirm", "POST"): (401, 401, 401, 401),
    # FHIR R4 (read only): the API's bearer tokens only; the CapabilityStatement is public
    ("fhir.metadata", "GET"): (200, 200, 200, 200),
    ("fhir.patients", "GET"): (401, 401, 401, 401),
    ("fhir.patient", "GET"): (401, 401, 401, 401),
    ("fhir.appointments", "GET"): (401, 401, 401, 401),
    ("fhir.appointment", "GET"): (401, 401, 401, 401),
    ("fhir.locations", "GET"): (401, 401, 401, 401),
    ("fhir.location", "GET"): (401, 401, 401, 401),
    ("fhir.schedules", "GET"): (401, 401, 401, 401),
    ("fhir.schedule", "GET"): (401, 401, 401, 401),
    ("fhir.slots", "GET"): (401, 401, 401, 401),
    ("fhir.slot", "GET"): (401, 401, 401, 401),
    # calendar feeds: anyone's own; chairs' by admins; the secret URL needs no login
    ("feeds.index", "GET"): (LOGIN, 200, 200, 200),
    ("feeds.issue_mine", "POST"): (LOGIN, 200, 200, 200),
    ("feeds.revoke_mine", "POST"): (LOGIN, 303, 303, 303),
    ("feeds.issue_chair", "POST"): (LOGIN, 403, 403, 200),
    ("feeds.revoke_chair", "POST"): (LOGIN, 403, 403, 303),
    ("public_feeds.subscription", "GET"): (404, 404, 404, 404),  # an unknown secret
    ("webhooks.index", "GET"): (LOGIN, 403, 403, 200),
    ("webhooks.index", "POST"): (LOGIN, 403, 403, 400),
    ("webhooks.endpoint", "GET"): (LOGIN, 403, 403, 200),
    ("webhooks.set_active", "POST"): (LOGIN, 403, 403, 303),
    ("webhooks.send_test", "POST"): (LOGIN, 403, 403, 303),  # to a closed local port: logged, retried
}

# POST routes that skip the CSRF token check, and why that is safe (asserted below).
CSRF_EXEMPT = {
    "public_reminders.unsubscribe": "RFC 8058 one-click unsubscribe; the signed token is the proof",
    **{f"api.{name}": "a bearer token is the only proof the API accepts; a session gets 401"
       for name in ("book", "move", "cancel", "confirm")},
}

# Fixed URL values that need no database row.
FIXED_ARGUMENTS = {
    ("static", "filename"): "css/app.css",
    ("patients.course_action", "action"): "mode",
    ("public_feeds.subscription", "secret"): "not-a-feed-secret",
    ("patient_links.held", "hold_id"): 1,
    ("patient_links.book_held", "hold_id"): 1,
    ("fhir.patient", "resource_id"): "1",
    ("fhir.appointment", "resource_id"): "window-1-20270114",
    ("fhir.location", "resource_id"): "1",
    ("fhir.schedule", "resource_id"): "1",
    ("fhir.slot", "resource_id"): "busy-1",
    ("outcomes.record", "instrument"): "phq9",
}

# Query-string values some pages need (their value comes from make_world).
QUERY_ARGUMENTS = {
    "schedule.book": ("patient_id",),
    "schedule.book_series": ("patient_id",),
}

_HASH = generate_password_hash("a password nobody types in these tests")


def _methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def app_routes(app) -> list[tuple[str, str]]:
    """Every (endpoint, method) the app answers, from its url_map."""
    return sorted({(rule.endpoint, method) for rule in app.url_map.iter_rules() for method in _methods(rule)})


def make_world() -> dict:
    """Real rows for every URL parameter: a patient in maintenance with an infusion, an
    appointment, a reminder, a chair, a type, a closed date and a spare staff account."""
    from tracker.reminders.unsubscribe import make_token

    patient = make_patient()
    given = datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)
    course = make_course(patient, state="maintenance", qualifying_count=6, last_qualifying_on=given.date(),
                         anchor_date=given.date(), window_opens=date(2026, 4, 1), window_closes=date(2026, 5, 31))
    infusion = Infusion(course=course, patient_id=patient.id, given_at=given, given_on=given.date(),
                        outcome="completed", pain_before=7, pain_after=3)
    chair = Chair(name=f"Chair for {patient.mrn}")
    kind = AppointmentType(name=f"Type for {patient.mrn}", prep_min=15, infusion_min=40, recovery_min=45)
    closed = ClosedDate(on=date(2026, 12, 25) + timedelta(days=patient.id * 400), reason="Holiday")
    db.session.add_all([infusion, chair, kind, closed])
    db.session.flush()
    start = datetime.combine(date.today() + timedelta(days=3), time(15, 0), tzinfo=timezone.utc)
    appointment = Appointment(uid=f"matrix-{patient.id}@clinic.test", patient_id=patient.id, course_id=course.id,
                              appointment_type_id=kind.id, chair_id=chair.id, start_at=start,
                              end_at=start + timedelta(minutes=100), status="booked")
    db.session.add(appointment)
    db.session.flush()
    reminder = Reminder(dedupe_key=f"matrix-{patient.id}", kind="window_upcoming", patient_id=patient.id,
                        course_id=course.id, due_at=utcnow(), status="failed", attempts=5)
    spare = User(email=f"spare{patient.id}@clinic.test", role="frontdesk", name="Spare", password_hash=_HASH)
    db.session.add_all([reminder, spare])
    db.session.flush()
    api_token = ApiToken(user_id=spare.id, prefix="trk_matrix", token_hash=f"{patient.id:064d}", scope="read")
    hook = WebhookEndpoint(url="http://127.0.0.1:9/closed", events="appointment.booked", secret="whsec_matrix")
    db.session.add_all([api_token, hook])
    spare_session = StaffSession(user_id=spare.id, token_hash=f"matrix-{patient.id:057d}",
                                 expires_at=utcnow() + timedelta(hours=1))
    db.session.add(spare_session)
    entry = WaitlistEntry(patient_id=patient.id, course_id=course.id, added_by="staff")
    db.session.add(entry)
    db.session.flush()
    sheet = MonitoringSheet(infusion_id=infusion.id, patient_id=patient.id, started_at=given)
    db.session.add(sheet)
    db.session.flush()
    reading = MonitoringReading(sheet_id=sheet.id, kind="baseline", taken_at=given, heart_rate=70)
    measure = OutcomeMeasure(patient_id=patient.id, instrument="gad7", taken_at=given, taken_on=given.date(),
                             answers=[1] * 7, complete=True, score=7, band="Mild")
    item = ChecklistItem(appointment_type_id=kind.id, label="Driver", prompt="Who takes you home?",
                         asks_driver=True)
    due = ClinicallyDue(patient_id=patient.id, course_id=course.id, session_on=given.date(),
                        reason="relief_worn_off", raised_at=given, raised_on=given.date())
    protocol = Protocol(name=f"Protocol for {patient.mrn}", phases=[
        ProtocolPhase(position=1, name="Every month", rule="window", unit="sessions", first=1,
                      min_days=28, max_days=35, advance="count")])
    db.session.add_all([reading, measure, item, due, protocol])
    db.session.flush()
    return {
        "due_id": due.id,
        "protocol_id": protocol.id,
        "item_id": item.id,
        "reading_id": reading.id, "measure_id": measure.id,
        "patient_id": patient.id, "course_id": course.id, "infusion_id": infusion.id,
        "appointment_id": appointment.id, "reminder_id": reminder.id, "chair_id": chair.id,
        "type_id": kind.id, "closed_id": closed.id, "user_id": spare.id, "token": make_token(patient.id),
        "token_id": api_token.id, "endpoint_id": hook.id,
        "session_id": spare_session.id, "entry_id": entry.id,
    }


def url_arguments(app, endpoint: str, world: dict) -> dict:
    """Values for every variable of the endpoint's URL; a new variable must be added here."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {}
    for name in rule.arguments:
        if (endpoint, name) in FIXED_ARGUMENTS:
            values[name] = FIXED_ARGUMENTS[(endpoint, name)]
        elif name in world:
            values[name] = world[name]
        else:
            raise AssertionError(f"{endpoint}: no value for URL variable <{name}>; add it to make_world "
                                 f"or FIXED_ARGUMENTS in {__name__}")
    for name in QUERY_ARGUMENTS.get(endpoint, ()):
        values[name] = world[name]
    return values


def _answer(response) -> object:
    if response.status_code == 302 and "/login" in response.headers.get("Location", "").split("?")[0]:
        return LOGIN
    return response.status_code


def test_every_route_is_in_the_table(app):
    """No route of the app is missing from the role matrix (and the table names no stale route)."""
    present = set(app_routes(app))
    missing = sorted(present - set(ROUTES))
    assert not missing, f"add these (endpoint, method) pairs to ROUTES: {missing}"
    stale = sorted(set(ROUTES) - present)
    assert not stale, f"these ROUTES entries match no route any more: {stale}"


def test_role_matrix(app):
    """Each role gets the answer the table expects from every route (GET and POST alike)."""
    # Every role opens every patient page from one address within the minute: the rate limit
    # (its own tests) would answer 429 before the route's own answer.
    app.config["PATIENT_PAGE_LIMIT_PER_MINUTE"] = 10_000
    with app.app_context():
        users = {role: make_user(role=role) for role in ROLES[1:]}
        db.session.commit()
        emails = {role: user.email for role, user in users.items()}
    mismatches = []
    for role in ROLES:
        client = app.test_client()
        if role != "anonymous":
            login(client, users[role])
        # logging out ends the session: run those last
        for endpoint, method in sorted(app_routes(app), key=lambda r: (r in LOGS_OUT, r)):
            with app.app_context():
                world = make_world()  # fresh rows: a POST before may have removed the last ones
                db.session.commit()
                with app.test_request_context():
                    url = url_for(endpoint, **url_arguments(app, endpoint, world))
            try:
                response = client.open(url, method=method)
            except Exception as error:  # TESTING propagates exceptions: report them as rows
                got = f"{type(error).__name__}: {error}"
            else:
                got = _answer(response)
                response.close()
            expected = ROUTES.get((endpoint, method))
            if expected is not None and got != expected[ROLES.index(role)]:
                mismatches.append(f"{method} {endpoint} as {role}: expected {expected[ROLES.index(role)]}, got {got}")
    assert not mismatches, "\n".join(mismatches) + f"\n(staff: {sorted(emails.values())})"


@pytest.fixture
def csrf_app(tmp_path):
    """The app with CSRF protection on, as in production."""
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _is_exempt(app, endpoint: str) -> bool:
    view = app.view_functions[endpoint]
    blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else None
    return (f"{view.__module__}.{view.__name__}" in csrf._exempt_views
            or app.blueprints.get(blueprint) in csrf._exempt_blueprints)


def _csrf_token(client, path="/login") -> str:
    import re

    body = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)


def test_every_post_route_needs_a_csrf_token(csrf_app):
    """With CSRF on, every POST route answers 400 to a logged-in admin posting without a token
    (or with a forged one), and nothing changes; only the listed routes are exempt."""
    app = csrf_app
    client = app.test_client()
    with app.app_context():
        admin = make_user(role="admin")
        db.session.commit()
        admin_email = admin.email
    token = _csrf_token(client)
    from .factories import DEFAULT_PASSWORD

    logged_in = client.post("/login", data={"email": admin_email, "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert logged_in.status_code == 302  # a valid token passes
    posts = [endpoint for endpoint, method in app_routes(app) if method == "POST"]
    exempt = {endpoint for endpoint in posts if _is_exempt(app, endpoint)}
    assert exempt == set(CSRF_EXEMPT), f"CSRF-exempt POST routes: {sorted(exempt)}"
    problems = []
    for endpoint in posts:
        if endpoint in exempt:
            continue
        with app.app_context():
            world = make_world()
            db.session.commit()
            with app.test_request_context():
                url = url_for(endpoint, **url_arguments(app, endpoint, world))
        for data in ({}, {"csrf_token": "forged." + token[7:]}):
            response = client.post(url, data=data)
            if response.status_code != 400 or "The form expired" not in response.get_data(as_text=True):
                problems.append(f"POST {endpoint} with {data or 'no token'}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert client.get("/admin/").status_code == 200  # still logged in: the refusals were CSRF, not login


def test_exempt_unsubscribe_post_needs_a_valid_signed_token(csrf_app):
    """The one-click unsubscribe POST has no CSRF token; a forged or tampered link is refused
    and records nothing, while the genuine signed link opts the patient out."""
    from tracker.models import Patient
    from tracker.reminders.unsubscribe import make_token

    app = csrf_app
    with app.app_context():
        patient = make_patient()
        db.session.commit()
        patient_id = patient.id
        with app.test_request_context():
            genuine = make_token(patient_id)
            tampered = genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB")
            urls = [url_for("public_reminders.unsubscribe", token=t) for t in ("forged", tampered, genuine)]
    client = app.test_client()
    for url in urls[:2]:
        assert client.post(url).status_code == 400
        with app.app_context():
            assert db.session.get(Patient, patient_id).email_opt_out_at is None
    assert client.post(urls[2]).status_code in (200, 302, 303)
    with app.app_context():
        assert db.session.get(Patient, patient_id).email_opt_out_at is not None
