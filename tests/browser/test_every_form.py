"""Every form of the app, found from its pages, sent in Chromium as it opens and once with a
valid change.

As it opens: when the browser lets the form go, the server answers without a 500 (and a
refusal is said on the page); when the browser refuses it (a `required`, a pattern), the server
must refuse the same values too, or the browser blocks what the clinic could do (the series
form's seven `required` weekday boxes were that bug). Every form with a field a person can
change is also sent once with a valid change from CHANGES, and must then succeed; a new form
without an entry fails the test.
"""

import re
from datetime import timedelta

import pyotp

from tracker.extensions import db
from tracker.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentType,
    Chair,
    ClinicallyDue,
    ClosedDate,
    MonitoringReading,
    MonitoringSheet,
    OutcomeMeasure,
    WebhookEndpoint,
    utcnow,
)
from tracker.reminders.unsubscribe import make_token
from tracker.services import checklist
from tracker.services import courses as course_service
from tracker.services.clinic import clinic_today, get_settings
from tracker.services.protocols import standard_protocol

from ..factories import DEFAULT_PASSWORD, make_patient, make_user
from .conftest import log_in
from .helpers import add_appointment, complete_series, local_instant, set_up_clinic
from .test_every_page import page_urls, patient_link_ids

# Forms outside the page's own job: the header's log-out button, the idle warning's "stay logged in",
# and the header's patient search (on every page; tests/browser/test_header_search.py covers it).
NOT_PAGE_FORMS = {"/logout", "/account/keep-alive"}
# Forms that end the sender's own session; the test logs in again after each.
LOGS_OUT = {"/account/sessions/end-all"}
FORMS_JS = """() => Array.from(document.forms).map((form, index) => {
    if (form.classList.contains('header-search')) return null;
    const button = form.querySelector('button:not([type=button]), input[type=submit]');
    return {
        index, method: (form.getAttribute('method') || 'get').toLowerCase(),
        action: new URL(form.getAttribute('action') || location.href, location.href).pathname,
        // A closed disclosure's button has no innerText: its textContent then.
        button: button ? (button.innerText.trim() || button.textContent.trim() || button.value || '').trim() : '',
        editable: Array.from(form.elements).some(e => e.name && e.type !== 'hidden' && e.type !== 'submit'
                                                    && e.tagName !== 'BUTTON'),
        valid: form.noValidate || form.checkValidity(),
        invalid: Array.from(form.elements).filter(e => e.willValidate && !e.validity.valid).map(e => e.name),
    };
})"""


def fill(label: str, value):
    """A change that types `value` (or value() when it is a function) into the first field
    labelled `label`."""
    return lambda form: form.get_by_label(label, exact=True).first.fill(
        value() if callable(value) else value
    )


def choose(label: str, option: str):
    """A change that picks the option labelled `option` of the select labelled `label`."""
    return lambda form: form.get_by_label(label, exact=True).first.select_option(label=option)


def pick_start(index: int):
    """A change that picks the index-th free start of the day shown."""
    return lambda form: form.get_by_role("radio").nth(index).check()


def series_tuesday_thursday(form):
    """Mondays, Wednesdays and Fridays become Tuesdays and Thursdays, at 10:00."""
    weekdays = form.get_by_role("group", name="Weekdays")
    for day in ("Monday", "Wednesday", "Friday"):
        weekdays.get_by_label(day).uncheck()
    for day in ("Tuesday", "Thursday"):
        weekdays.get_by_label(day).check()
    form.get_by_label("Time (clinic time)").fill("10:00")


def new_patient(form):
    """The required fields of a new patient."""
    form.get_by_label("MRN").fill("MRN-FORM-1")
    form.get_by_label("First name").fill("Form")
    form.get_by_label("Last name").fill("Tester")
    form.get_by_label("Date of birth").fill("1980-04-12")


def answer_yes(question: str):
    """A change that answers yes to the checklist question containing `question`."""
    return lambda form: (
        form.get_by_role("group", name=re.compile(question)).get_by_label("Yes").check()
    )


def steps(*changes):
    """Several changes in order."""
    return lambda form: [change(form) for change in changes]


def _day(offset: int) -> str:
    return (clinic_today() + timedelta(days=offset)).isoformat()


def _now_local() -> str:
    return f"{_day(0)}T09:00"


PASSWORD = "a fresh long passphrase 42"


def first_option(label: str):
    """A change that picks the first real option (after "Choose…") of the select labelled `label`."""
    return lambda form: form.get_by_label(label, exact=True).first.select_option(index=1)


def code_from_the_page(form):
    """Types the code an authenticator app would show for the set-up key on the page."""
    secret = form.page.locator("code.secret-key").inner_text().replace(" ", "")
    form.get_by_label("Code shown by the app", exact=True).fill(pyotp.TOTP(secret).now())


def rems_answers(form):
    """The REMS form answered: dose, devices, lot, 125 minutes of monitoring, the pressures the
    sheet lacks, and each yes/no question."""
    from datetime import datetime

    started = form.get_by_label("Monitoring started (clinic time)").input_value()
    ended = datetime.strptime(started, "%Y-%m-%dT%H:%M") + timedelta(minutes=125)
    form.get_by_label("Monitoring ended (clinic time)").fill(ended.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Dose given (mg)").fill("56")
    form.get_by_label("Number of devices (28 mg each)").select_option("2")
    form.get_by_label("Lot number").fill("LOT-1")
    for moment, (systolic, diastolic) in {
        "before dosing": ("128", "82"),
        "at about 40 minutes": ("140", "90"),
        "at the end of monitoring": ("124", "78"),
    }.items():
        form.get_by_label(f"Systolic {moment} (mmHg)").fill(systolic)
        form.get_by_label(f"Diastolic {moment} (mmHg)").fill(diastolic)
    for question in ("Sedation", "Dissociation", "Respiratory depression", "Serious adverse event"):
        form.get_by_role("group", name=question, exact=True).get_by_label("No").check()


# (page endpoint, the form's submit button): a valid change a person could make.
CHANGES = {
    ("api_tokens.index", "Issue token"): first_option("Acts as"),
    ("auth.account", "Change password"): steps(
        fill("Current password", DEFAULT_PASSWORD),
        fill("New password", PASSWORD),
        fill("New password again", PASSWORD),
    ),
    ("auth.two_factor", "Turn on two-step login"): code_from_the_page,
    ("patients.discharge", "Discharge"): fill("Reason for discharge", "Moved away"),
    ("patients.infusion_in_error", "Mark entered in error"): fill(
        "Why was this entered in error?", "Recorded on the wrong patient"
    ),
    ("schedule.appointment_in_error", "Mark entered in error"): fill(
        "Why was this entered in error?", "Booked twice"
    ),
    ("webhooks.index", "Add address"): fill("Address (URL)", "http://127.0.0.1:9/new-hook"),
    ("admin.audit", "Filter"): choose("Record type", "Appointment"),
    ("admin.settings", "Save settings"): fill("Display and sender name", "Riverside Clinic"),
    ("admin.edit_user", "Save"): fill("Name", "Robin Fielding"),
    ("admin.edit_user", "Set new password"): steps(
        fill("New password", PASSWORD), fill("New password again", PASSWORD)
    ),
    ("admin.new_user", "Add account"): steps(
        fill("Email", "new.desk@clinic.test"),
        fill("Password", PASSWORD),
        fill("Password again", PASSWORD),
    ),
    ("patients.index", "Search"): fill("Name, MRN, date of birth, phone or email", "Whitfield"),
    ("monitoring.sheet", "Save reading"): fill("Heart rate (bpm)", "72"),
    ("monitoring.sheet", "Save times"): fill(
        "Monitoring stopped (clinic time)", lambda: f"{_day(-40)}T12:00"
    ),
    ("monitoring.sheet", "Record discharge"): fill("Left with", "Sam Lee (partner)"),
    ("monitoring.reading_in_error", "Mark entered in error"): fill(
        "Why was this entered in error?", "Cuff slipped"
    ),
    ("rems.form", "Save REMS form"): rems_answers,
    ("monitoring.settings", "Save monitoring settings"): fill(
        "Minutes between interval readings", "10"
    ),
    ("outcomes.record", "Save PHQ-9"): choose(
        "1. Little interest or pleasure in doing things", "1: Several days"
    ),
    ("outcomes.measure_in_error", "Mark entered in error"): fill(
        "Why was this entered in error?", "Wrong patient"
    ),
    ("protocols.edit", "Save protocol"): fill("Description", "The clinic's usual course."),
    ("protocols.new", "Save protocol"): steps(
        fill("Name", "Monthly boosters"),
        fill("Phase name", "Monthly"),
        fill("From", "1"),
        fill("Min days", "28"),
        fill("Max days", "35"),
    ),
    ("patients.detail", "Save interval"): fill("Window closes after (days)", "80"),
    ("patients.detail", "Save mode"): choose("Maintenance mode", "As needed (no window)"),
    ("patients.detail", "Put on hold"): fill("Reason for the hold", "Travelling for a month"),
    ("patients.edit", "Save"): fill("Phone", "(704) 555-0101"),
    # As it opens the form records a session now (it carries the last weight and dose forward);
    # a second completed one today would be an early booster, so this one stopped early.
    ("patients.record_infusion", "Save infusion"): steps(
        fill("Date and time (clinic time)", _now_local), choose("Outcome", "Stopped early")
    ),
    ("patients.new", "Add patient"): new_patient,
    ("reminders.index", "Filter"): fill("Patient name or MRN", "Whitfield"),
    ("schedule.appointment_types", "Save Maintenance 40 min"): fill("Recovery (minutes)", "50"),
    ("schedule.appointment_types", "Save Series 4 h"): fill("Recovery (minutes)", "40"),
    ("schedule.appointment_types", "Add appointment type"): fill("Name", "Booster 2 h"),
    # The pre-visit checklist: the seeded type's default questions, and those the type added
    # above starts with.
    **{
        ("schedule.checklist_items", f"Save {label} ({kind})"): fill(
            "Label for staff", f"{label} check"
        )
        for label in ("Fasting", "Driver", "Medicine holds", "No alcohol")
        for kind in ("Maintenance 40 min", "Booster 2 h")
    },
    ("schedule.checklist_items", "Add question"): steps(
        fill("Label for staff", "Clothes"),
        fill("Question the patient answers", "I will wear loose, warm clothes."),
    ),
    ("schedule.appointment_checklist", "Save answers"): answer_yes("nothing to eat"),
    ("patient_links.checklist_page", "Save my answers"): answer_yes("nothing to eat"),
    ("schedule.appointment", "Cancel appointment"): choose(
        "Reason for cancelling", "Patient cancelled"
    ),
    ("schedule.complete", "Save the session"): fill("Pain before (0-10)", "6"),
    ("schedule.move", "Show free times"): fill("Day", lambda: _day(2)),
    ("schedule.move", "Move to this time"): pick_start(3),
    ("schedule.reschedule", "Show free times"): fill("Day", lambda: _day(2)),
    ("schedule.reschedule", "Cancel and book this time"): pick_start(4),
    ("schedule.book", "Show free times"): fill("Day", lambda: _day(3)),
    ("schedule.book", "Book"): pick_start(1),
    ("schedule.book_series", "Book the series"): series_tuesday_thursday,
    ("schedule.capacity", "Save"): fill(
        "Maximum concurrent infusions per supervising clinician", "4"
    ),
    ("schedule.chairs", "Save Chair 1"): fill("Chair name", "Window chair"),
    ("schedule.chairs", "Save Chair 2"): fill("Position", "7"),
    ("schedule.chairs", "Save Chair 3"): fill("Chair name", "Quiet room"),
    ("schedule.chairs", "Add chair"): fill("Chair name", "Chair 4"),
    ("schedule.closed_dates", "Close on this date"): steps(
        fill("Date", lambda: _day(200)), fill("Reason (e.g. public holiday)", "Holiday")
    ),
    ("schedule.day", "Show"): fill("Date", lambda: _day(1)),
    ("schedule.hours", "Save opening hours"): fill("Closes", "18:30"),
    ("schedule.week", "Show"): fill("Week of", lambda: _day(7)),
    ("patient_links.resend", "Send me my links"): steps(
        fill("Your email address", "dana@example.test"), fill("Your date of birth", "1980-04-12")
    ),
    ("search.results", "Search"): fill("Name, MRN, date of birth, phone or email", "Whitfield"),
    ("worklist.index", "Show"): fill("Name, MRN, birth date or phone", "Whitfield"),
    ("worklist.upcoming", "Show"): fill("Window opens within (days)", "30"),
    ("check_ins.settings", "Save check-in settings"): fill("Days after each session", "7, 14"),
    ("check_ins.dismiss", "Dismiss"): fill("Why dismiss it?", "Seen in clinic yesterday"),
    ("patient_links.check_in", "Send my answers"): lambda form: (
        form.get_by_role("group", name="Has your relief worn off?").get_by_label("Yes").check()
    ),
}


def world(app) -> dict:
    """Fresh records for the URLs of one page: a maintenance patient with an appointment
    tomorrow, a series patient, a spare staff account."""
    with app.app_context():
        today = clinic_today()
        # Earlier worlds' visits give way to this one's (PostgreSQL refuses two active blocks on
        # one chair at once): each moves years ahead (past the closed dates), to a day of its own.
        for earlier in db.session.scalars(
            db.select(Appointment).where(Appointment.status.in_(ACTIVE_STATUSES))
        ):
            length = earlier.end_at - earlier.start_at
            earlier.start_at = local_instant(today + timedelta(days=2000 + earlier.id), 9)
            earlier.end_at = earlier.start_at + length
        db.session.flush()
        patient = make_patient(first_name="Dana", last_name="Whitfield")
        complete_series(patient, today - timedelta(days=40))
        # The admin forms rename chairs and types as the test goes: take them by their place.
        chair = db.session.scalars(
            db.select(Chair).where(Chair.active.is_(True)).order_by(Chair.position)
        ).first()
        kind = db.session.scalars(
            db.select(AppointmentType).where(AppointmentType.for_series.is_(False))
        ).first()
        checklist.seed_defaults(kind)  # the questions a type added on the admin page starts with
        appointment = add_appointment(
            patient, chair, kind, local_instant(today + timedelta(days=1), 11), status="booked"
        )
        # A visit that began three hours ago, for recording its session (not in the future).
        began = add_appointment(patient, chair, kind, utcnow() - timedelta(hours=3))
        series = make_patient(first_name="Sami", last_name="Okoro")
        course_service.open_course(
            series,
            get_settings(),
            actor="system",
            opened_on=today,
            indication="CRPS",
            series_planned=6,
            min_days=30,
            max_days=90,
        )
        spare = make_user(role="frontdesk")
        links = patient_link_ids(app, patient, appointment)
        infusion = patient.courses[0].infusions[0]
        sheet = MonitoringSheet(
            infusion_id=infusion.id, patient_id=patient.id, started_at=infusion.given_at
        )
        db.session.add(sheet)
        db.session.flush()
        reading = MonitoringReading(
            sheet_id=sheet.id, kind="baseline", taken_at=infusion.given_at, heart_rate=70
        )
        measure = OutcomeMeasure(
            patient_id=patient.id,
            instrument="phq9",
            taken_at=infusion.given_at,
            taken_on=infusion.given_on,
            answers=[1] * 9,
            complete=True,
            score=9,
            band="Mild",
        )
        closed = ClosedDate(on=today + timedelta(days=300 + patient.id), reason="Holiday")
        hook = WebhookEndpoint(
            url="http://127.0.0.1:9/closed", events="appointment.booked", secret="whsec_forms"
        )
        due = ClinicallyDue(
            patient_id=patient.id,
            course_id=patient.courses[0].id,
            session_on=infusion.given_on,
            reason="relief_worn_off",
            raised_at=utcnow(),
            raised_on=today,
        )
        db.session.add_all([reading, measure, closed, hook, due])
        db.session.commit()
        return {
            **links,
            "due_id": due.id,
            "patient_id": patient.id,
            "appointment_id": appointment.id,
            "user_id": spare.id,
            "token": make_token(patient.id),
            "series_patient_id": series.id,
            "infusion_id": infusion.id,
            "course_id": patient.courses[0].id,
            "closed_id": closed.id,
            "endpoint_id": hook.id,
            "protocol_id": standard_protocol().id,
            "reading_id": reading.id,
            "measure_id": measure.id,
            "instrument": "phq9",
            "began_id": began.id,
        }


# Forms the browser lets go as they open whose server answer is a field error: each needs what
# only a person can give (a new patient's name, a webhook's address) or a choice no default may
# make for them (which time, why cancel, whom a token acts as, the reason for a hold, a discharge
# or an entry in error).
REFUSED_AS_THEY_OPEN = {
    ("api_tokens.index", "Issue token"),
    ("patients.discharge", "Discharge"),
    ("patients.infusion_in_error", "Mark entered in error"),
    ("schedule.appointment_in_error", "Mark entered in error"),
    ("webhooks.index", "Add address"),
    ("patients.new", "Add patient"),
    ("patient_links.resend", "Send me my links"),
    ("patients.detail", "Put on hold"),
    ("monitoring.sheet", "Save reading"),
    ("monitoring.sheet", "Record discharge"),
    ("monitoring.reading_in_error", "Mark entered in error"),
    ("outcomes.record", "Save PHQ-9"),
    ("outcomes.measure_in_error", "Mark entered in error"),
    ("rems.form", "Save REMS form"),  # the lot number and devices only the nurse knows
    ("protocols.new", "Save protocol"),  # a name and phases only an admin can give
    ("schedule.appointment", "Cancel appointment"),
    ("schedule.book", "Book"),
    ("schedule.move", "Move to this time"),
    ("schedule.reschedule", "Cancel and book this time"),
    ("check_ins.dismiss", "Dismiss"),  # the reason is the clinician's to give
    ("patient_links.check_in", "Send my answers"),  # nothing answered yet
}


def urls_for(app, ids: dict) -> dict:
    """{endpoint: path} of every page; a series patient's for the series form, a visit under
    way for recording a session."""
    urls = dict(page_urls(app, ids))
    urls["schedule.book_series"] = f"/schedule/book-series?patient_id={ids['series_patient_id']}"
    urls["schedule.complete"] = f"/schedule/appointments/{ids['began_id']}/complete"
    return urls


def page_forms(page) -> list[dict]:
    """The page's own forms as the browser sees them."""
    return [
        spec for spec in page.evaluate(FORMS_JS) if spec and spec["action"] not in NOT_PAGE_FORMS
    ]


def find_form(page, path: str, spec: dict) -> int | None:
    """Open the page afresh; the index of the form with that method and button (or, when the
    button now reads otherwise, e.g. a renamed chair, that action), if still there."""
    page.goto(path)
    forms = page_forms(page)
    return next(
        (
            f["index"]
            for f in forms
            if (f["method"], f["button"]) == (spec["method"], spec["button"])
        ),
        next(
            (
                f["index"]
                for f in forms
                if (f["method"], f["action"]) == (spec["method"], spec["action"])
            ),
            None,
        ),
    )


def send(page, index: int, *, check: bool = True) -> tuple[int, dict]:
    """Send form `index` with its submit button; the status of the first answer (a redirect's
    own status, not its target's) and the page's alerts."""
    form = page.locator("form").nth(index)
    if not check:
        form.evaluate("f => { f.noValidate = true; }")
    with page.expect_navigation() as navigation:
        form.evaluate("""f => f.requestSubmit(
            f.querySelector('button:not([type=button]), input[type=submit]') || undefined)""")
    request = navigation.value.request
    while request.redirected_from is not None:
        request = request.redirected_from
    alerts = page.get_by_role("alert").all_inner_texts()
    return request.response().status, alerts


def open_details(page, index: int) -> None:
    """Open the disclosure a rare action's form sits in, so a person could see it."""
    page.locator("form").nth(index).evaluate(
        "f => { const d = f.closest('details'); if (d) d.open = true; }"
    )


def test_every_form_as_it_opens_and_with_a_valid_change(journey, live_app):
    """Each form of every page: sent as it opens, the browser's checks match the server's (no
    form the browser blocks while the server would accept it; no 500; a refusal is said on the
    page); sent once with a valid change, it succeeds."""
    with live_app.app_context():
        set_up_clinic(chairs=3)
        admin = make_user(role="admin")
        db.session.commit()
        email = admin.email
    page = journey.page
    log_in(page, email)
    problems, missing, sent, refused = [], [], [], []
    for endpoint in sorted(urls_for(live_app, world(live_app))):
        path = urls_for(live_app, world(live_app))[endpoint]
        page.goto(path)
        for spec in page_forms(page):
            key = (endpoint, spec["button"])
            for attempt in ("as it opens", "with a change"):
                if attempt == "with a change" and not spec["editable"]:
                    break
                change = CHANGES.get(key)
                if attempt == "with a change" and change is None:
                    missing.append(key)
                    break
                index = find_form(page, path, spec)
                if index is None:  # an earlier form of the page changed its records: fresh ones
                    path = urls_for(live_app, world(live_app))[endpoint]
                    index = find_form(page, path, spec)
                assert index is not None, f"{key}: the form is gone from a fresh {path}"
                if attempt == "with a change":
                    open_details(page, index)
                    with live_app.app_context():  # the changes read the clinic's today
                        change(page.locator("form").nth(index))
                    valid = (
                        page.locator("form")
                        .nth(index)
                        .evaluate("f => f.noValidate || f.checkValidity()")
                    )
                    if not valid:
                        problems.append(f"{key} {attempt}: the browser blocks it")
                        continue
                    status, alerts = send(page, index)
                    if status >= 400:
                        problems.append(f"{key} {attempt}: {status} {alerts}")
                elif spec["valid"]:
                    status, alerts = send(page, index)
                    if (
                        status >= 500
                        or status not in (200, 302, 303, 400)
                        or (status == 400 and not alerts)
                    ):
                        problems.append(f"{key} {attempt}: {status} {alerts}")
                    if status == 400:
                        refused.append(key)
                else:
                    # The browser blocks it: the server must refuse the same values.
                    status, alerts = send(page, index, check=False)
                    if status != 400:
                        problems.append(
                            f"{key} {attempt}: the browser blocks {spec['invalid']} "
                            f"but the server answers {status}"
                        )
                sent.append((key, attempt))
                if spec["action"] in LOGS_OUT:  # it ended this very session, as it should
                    log_in(page, email)
    assert problems == [], "\n".join(problems)
    assert missing == [], f"add a valid change for these forms to CHANGES: {missing}"
    unused = set(CHANGES) - {key for key, _ in sent}
    assert not unused, f"CHANGES names forms no page has: {sorted(unused)}"
    assert len(sent) >= 60  # every page's forms were sent, not skipped
    assert set(refused) == REFUSED_AS_THEY_OPEN, (
        f"refused but not listed: {sorted(set(refused) - REFUSED_AS_THEY_OPEN)}; "
        f"listed but accepted: {sorted(REFUSED_AS_THEY_OPEN - set(refused))}"
    )
    journey.finish("every-form")
