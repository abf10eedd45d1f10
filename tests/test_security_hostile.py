"""Hostile input: random and nasty text posted to every form never gets a 500, and what is
stored is shown back escaped."""
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import ClinicSettings, Patient, User
from tracker.validators import name_problem, normalized_name

from .test_security_matrix import app_routes, make_world, url_arguments

PAYLOADS = [
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "<svg/onload=alert(1)>",
    "'; DROP TABLE patients; --", "' OR '1'='1", "1; SELECT pg_sleep(5)", "{{ 7*7 }}", "${7*7}",
    "%s%s%s%n", "\x00", "nul\x00inside", "\x1b[31mred", "\r\nBcc: everyone@example.org", "\u2028",
    "\u202egnp.exe", "\ufeff", "🦔💉🏥👩🏽‍⚕️", "Zoë Ñúñez-O'Brien", "A" * 5000, "é" * 300, "NaN", "sNaN",
    "Infinity", "-1", "99999999999999999999", "1e999", "2026-02-30", "0001-01-01", "9999-12-31",
    "0", "", " ", "../../etc/passwd", "javascript:alert(1)", "a@b.c", "x" * 255 + "@example.org",
]
hostile_text = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(max_size=120),
    st.lists(st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=12)), min_size=1, max_size=4).map("".join),
    st.text(alphabet=st.characters(max_codepoint=0x9F, categories=["Cc"]), max_size=8),
)
SETTINGS = settings(max_examples=12, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           # one app and database serve all examples of a test
                                           HealthCheck.function_scoped_fixture])


class FormFinder(HTMLParser):
    """Every <form> on a page: method, action and its controls (name, kind, options)."""

    def __init__(self):
        super().__init__()
        self.forms, self._form, self._select = [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"method": (attrs.get("method") or "get").upper(), "action": attrs.get("action"),
                          "fields": {}}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and attrs.get("name"):
            kind = attrs.get("type", "text") if tag == "input" else tag
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            field = self._form["fields"].setdefault(attrs["name"], {"kind": kind, "options": []})
            if kind in ("radio", "checkbox") and attrs.get("value"):
                field["options"].append(attrs["value"])
            if tag == "select":
                self._select = field
        elif tag == "option" and self._select is not None:
            self._select["options"].append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def discover_forms(app, client) -> list[dict]:
    """The forms on every GET page of the app (as an admin, who may see them all), de-duplicated."""
    found = {}
    for endpoint, method in app_routes(app):
        if method != "GET" or endpoint == "static":
            continue
        with app.app_context():
            world = make_world()
            db.session.commit()
            with app.test_request_context():
                page_url = url_for(endpoint, **url_arguments(app, endpoint, world))
        response = client.get(page_url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        finder = FormFinder()
        finder.feed(response.get_data(as_text=True))
        for form in finder.forms:
            action = form["action"] or page_url
            if urlsplit(action).path in ("/logout", "/account/sessions/end-all"):
                continue  # these log the admin out (tested on their own)
            form["fields"].pop("csrf_token", None)
            # one of each kind: /chairs/1 and /chairs/2 (fields chair1-name, chair2-name) are alike
            key = (form["method"], re.sub(r"\d+", "N", urlsplit(action).path),
                   tuple(sorted(re.sub(r"\d+", "N", name) for name in form["fields"])))
            found.setdefault(key, dict(form, action=action, page=endpoint))
    return list(found.values())


def _value(data, field):
    """A value for one control: usually hostile text, sometimes one of its real options."""
    if field["options"] and data.draw(st.booleans()):
        return data.draw(st.sampled_from(field["options"]))
    if field["kind"] == "checkbox":
        return data.draw(st.sampled_from(["y", "", "on", None]))
    return data.draw(hostile_text)


def _admin_client(app):
    from .conftest import login
    from .factories import make_user

    with app.app_context():
        admin = make_user(role="admin")
        db.session.commit()
        db.session.refresh(admin)
        db.session.expunge(admin)
    client = app.test_client()
    login(client, admin)
    return client, admin


def test_every_form_survives_hostile_input(app):
    """Random values in every control of every form on every page: never a 500 (an exception
    here would surface as a 500 in production)."""
    client, _ = _admin_client(app)
    forms = discover_forms(app, client)
    paths = {urlsplit(f["action"]).path for f in forms}
    assert {"/admin/settings", "/admin/users/new", "/patients/new"} <= paths, paths
    failures = []
    for form in forms:
        @SETTINGS
        @given(st.data())
        def post_hostile(data):
            values = {name: _value(data, field) for name, field in form["fields"].items()}
            values = {k: v for k, v in values.items() if v is not None}
            if form["method"] == "POST":
                response = client.post(form["action"], data=values)
            else:
                response = client.get(form["action"], query_string=values)
            assert response.status_code < 500, (form["action"], values)
            response.close()

        try:
            post_hostile()
        except Exception as error:  # collect every form's failure, not just the first
            failures.append(f"{form['method']} {form['action']} (on {form['page']}): {type(error).__name__}: {error}"[:2000])
        if client.get("/admin/").status_code != 200:  # a hostile post must not end the session
            failures.append(f"{form['method']} {form['action']} logged the admin out")
            client, _ = _admin_client(app)
    assert not failures, "\n\n".join(failures)


@SETTINGS
@given(email=hostile_text, password=hostile_text)
def test_login_form_survives_hostile_input(app, email, password):
    """The login form answers every random email/password with a page, never a 500."""
    response = app.test_client().post("/login", data={"email": email, "password": password})
    has_nul = "\x00" in email + password
    assert response.status_code in ((400,) if has_nul else (200, 429))


NAMES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"]),
                min_size=1, max_size=60).filter(lambda s: s.strip()) | st.sampled_from(
    ["<script>alert('x')</script>", "\"><img src=x onerror=alert(1)>", "Robert'); DROP TABLE users;--",
     "{{ config }}", "🦔 Zoë & Ñúñez <b>bold</b>"])


def test_staff_name_is_stored_and_shown_escaped(app):
    """A staff name with markup is stored as typed and shown as text on the staff pages."""
    client, _ = _admin_client(app)
    with app.app_context():
        from .factories import make_user

        target = make_user(role="frontdesk")
        db.session.commit()
        target_id = target.id

    @SETTINGS
    @given(name=NAMES)
    def save_and_show(name):
        _save_and_show_staff_name(client, app, target_id, name)

    save_and_show()


def _save_and_show_staff_name(client, app, target_id, name):
    response = client.post(f"/admin/users/{target_id}", data={"name": name, "role": "frontdesk", "active": "y"})
    assert response.status_code == 303
    with app.app_context():
        stored = db.session.get(User, target_id).name
    assert stored == name.strip()
    for page in (f"/admin/users/{target_id}", "/admin/users"):
        body = client.get(page).get_data(as_text=True)
        assert escape(stored) in body
        if "<" in stored:
            assert stored not in body


def test_clinic_settings_are_stored_and_shown_escaped(app):
    """Clinic name and address with markup are saved and shown back as text."""
    client, _ = _admin_client(app)

    @SETTINGS
    @given(clinic_name=NAMES, address=NAMES)
    def save_and_show(clinic_name, address):
        _save_and_show_settings(client, app, clinic_name, address)

    save_and_show()


def _save_and_show_settings(client, app, clinic_name, address):
    form = client.get("/admin/settings").get_data(as_text=True)
    finder = FormFinder()
    finder.feed(form)
    values = {}
    with app.app_context():
        current = db.session.get(ClinicSettings, 1)
        settings_form = next(f for f in finder.forms if f["action"] in (None, "", "/admin/settings"))
        for name in settings_form["fields"]:
            if name != "csrf_token":
                values[name] = str(getattr(current, name))
    values.update(clinic_name=clinic_name, address=address)
    assert client.post("/admin/settings", data=values).status_code == 303
    with app.app_context():
        current = db.session.get(ClinicSettings, 1)
        assert (current.clinic_name, current.address) == (clinic_name.strip(), address.strip())
    body = client.get("/admin/settings").get_data(as_text=True)
    for stored in (clinic_name.strip(), address.strip()):
        assert escape(stored) in body
        if "<" in stored:
            assert stored not in body


def test_patient_names_are_stored_and_shown_escaped(app):
    """Patient names with markup, SQL or emoji are saved through /patients/new and shown as text."""
    client, _ = _admin_client(app)

    @SETTINGS
    @given(first=NAMES, last=NAMES)
    def save_and_show(first, last):
        _save_and_show_patient(client, app, first, last)

    save_and_show()


def _save_and_show_patient(client, app, first, last):
    typed = {"first_name": first, "last_name": last}
    # Names are stored in NFKC; one with an invisible character or two alphabets is refused.
    first, last = normalized_name(first), normalized_name(last)
    with app.app_context():
        mrn = f"HOST{db.session.scalar(select(db.func.count(Patient.id))) + 1:06d}"
    response = client.post("/patients/new", data={"mrn": mrn, **typed, "date_of_birth": "1980-05-17"})
    problems = {name: name_problem(value) for name, value in (("first_name", first), ("last_name", last))}
    if any(problems.values()) or not first or not last or max(len(first), len(last)) > 80:
        assert response.status_code == 400
        for name, problem in problems.items():
            if problem:
                assert str(escape(problem)) in response.get_data(as_text=True), name
        return
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    with app.app_context():
        patient = db.session.scalar(select(Patient).where(Patient.mrn == mrn))
        assert (patient.first_name, patient.last_name) == (first, last)
    for page in (f"/patients/{patient.id}", f"/patients/?q={mrn}", f"/admin/audit?patient={mrn}"):
        body = client.get(page).get_data(as_text=True)
        for stored in (first, last):
            assert escape(stored) in body, page
            if "<" in stored:
                assert stored not in body, page
