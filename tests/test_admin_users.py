"""Admin: staff accounts (list, add, edit role/name/active, reset password, unlock)."""
import re
from datetime import timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AuditEvent, LoginAttempt, User, utcnow

from .conftest import login
from .factories import DEFAULT_PASSWORD, make_user

NEW_PASSWORD = "violet tram kettle 42"


def errors(response) -> list[str]:
    """The field error messages shown on a page."""
    return [m.strip() for m in re.findall(r'<p class="error" id="[^"]+" role="alert">([^<]*)</p>',
                                          response.get_data(as_text=True))]


def _make(app, **kw):
    with app.app_context():
        user = make_user(**kw)
        db.session.commit()
        return user.id, user.email


def test_admin_start_page_links_to_every_admin_page(client, login_as, app):
    """The admin page links to staff, settings, audit, and the schedule/reminder admin pages present."""
    login_as("admin")
    body = client.get("/admin/").get_data(as_text=True)
    for url in ("/admin/users", "/admin/users/new", "/admin/settings", "/admin/audit"):
        assert f'href="{url}"' in body
    for url in ("/schedule/chairs", "/schedule/hours", "/schedule/closed-dates",
                "/schedule/appointment-types", "/schedule/capacity", "/reminders/"):
        assert f'href="{url}"' in body


def test_users_list_is_paginated(client, login_as, app):
    """The staff list shows accounts a page at a time, with role and status."""
    app.config["PAGE_SIZE"] = 3
    admin = login_as("admin")
    for _ in range(4):
        _make(app, role="clinician")
    first = client.get("/admin/users").get_data(as_text=True)
    assert "5 accounts" in first and "Page 1 of 2" in first
    assert admin.email in first
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second
    assert client.get("/admin/users?page=99").status_code == 200
    assert client.get("/admin/users?page=-1").status_code == 200


def test_add_user_who_can_then_log_in(client, login_as, app):
    """An admin adds a frontdesk account; it is audited and its owner can log in."""
    admin = login_as("admin")
    response = client.post("/admin/users/new", data={
        "email": " New.Desk@Clinic.test ", "name": "New Desk", "role": "frontdesk",
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/users")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new.desk@clinic.test"))
        assert (user.role, user.name, user.active) == ("frontdesk", "New Desk", True)
        assert user.password_hash.startswith("scrypt:")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity == "user"))
        assert (event.action, event.entity_id, event.user_id) == ("create", user.id, admin.id)
        assert NEW_PASSWORD not in str(event.changes)
    client.post("/logout")
    assert client.post("/login", data={"email": "new.desk@clinic.test", "password": NEW_PASSWORD}).status_code == 302


def test_add_user_errors_are_on_the_fields_and_save_nothing(client, login_as, app):
    """Bad email, weak password, mismatched confirmation, duplicate email: field errors, no account."""
    login_as("admin")
    _, taken = _make(app, role="clinician")
    cases = [
        ({"email": "not-an-email", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
         "Enter an email address like name@example.org."),
        ({"email": "a@clinic.test", "password": "short", "confirm": "short"}, "Use at least 12 characters."),
        ({"email": "a@clinic.test", "password": "Password2026!", "confirm": "Password2026!"},
         "This password is too common or too simple; choose another."),
        ({"email": "a@clinic.test", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
         "The two passwords differ."),
        ({"email": taken.upper(), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
         "An account with this email already exists."),
        ({"email": "a@clinic.test", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "role": "root"},
         "Not a valid choice."),
    ]
    with app.app_context():
        before = len(db.session.scalars(select(User)).all())
    for data, message in cases:
        response = client.post("/admin/users/new", data={"role": "frontdesk", **data})
        assert response.status_code == 200
        assert any(message in error for error in errors(response)), (data, errors(response))
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == before


def test_edit_role_name_and_active(client, login_as, app):
    """An admin changes another account's role, name and active flag; only changes are audited;
    a deactivated account can no longer log in."""
    login_as("admin")
    user_id, email = _make(app, role="frontdesk", name="Old Name")
    page = client.get(f"/admin/users/{user_id}")
    assert page.status_code == 200 and email in page.get_data(as_text=True)
    response = client.post(f"/admin/users/{user_id}", data={"name": "New Name", "role": "clinician"})
    assert response.status_code == 303
    with app.app_context():
        user = db.session.get(User, user_id)
        assert (user.name, user.role, user.active) == ("New Name", "clinician", False)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_id == user_id,
                                                           AuditEvent.action == "update"))
        assert event.changes == {"before": {"name": "Old Name", "role": "frontdesk", "active": True},
                                 "after": {"name": "New Name", "role": "clinician", "active": False}}
    other = app.test_client()
    assert other.post("/login", data={"email": email, "password": DEFAULT_PASSWORD}).status_code == 200


def test_deactivation_ends_an_open_session(client, login_as, app):
    """A deactivated user's existing session stops working at their next request."""
    user_id, email = _make(app, role="frontdesk")
    theirs = app.test_client()
    with app.app_context():
        login(theirs, db.session.get(User, user_id))
    assert theirs.get("/worklist/").status_code == 200
    login_as("admin")
    client.post(f"/admin/users/{user_id}", data={"name": "x", "role": "frontdesk"})  # active unticked
    assert "/login" in theirs.get("/worklist/").headers["Location"]


def test_admin_cannot_demote_or_deactivate_themselves(client, login_as, app):
    """Changing one's own role or unticking one's own active box is refused on that field."""
    admin = login_as("admin")
    demote = client.post(f"/admin/users/{admin.id}", data={"name": "Me", "role": "clinician", "active": "y"})
    assert "You cannot change your own role; ask another admin." in errors(demote)
    deactivate = client.post(f"/admin/users/{admin.id}", data={"name": "Me", "role": "admin"})
    assert "You cannot deactivate your own account." in errors(deactivate)
    with app.app_context():
        me = db.session.get(User, admin.id)
        assert (me.role, me.active) == ("admin", True) and me.name != "Me"
    rename = client.post(f"/admin/users/{admin.id}", data={"name": "Me", "role": "admin", "active": "y"})
    assert rename.status_code == 303  # other changes to one's own account are fine


def _lock(app, email, user_id, ip="127.0.0.1"):
    """Five failed logins for the account from `ip` (the test client's address) a minute ago."""
    with app.app_context():
        at = utcnow() - timedelta(minutes=1)
        for _ in range(5):
            db.session.add(LoginAttempt(email=email, ip=ip, outcome="wrong", user_id=user_id, at=at))
        db.session.commit()


def test_reset_password_and_unlock(client, login_as, app):
    """Resetting a password checks the policy on the field, then lifts a lock; the old password
    stops working and the new one works."""
    login_as("admin")
    user_id, email = _make(app, role="clinician")
    _lock(app, email, user_id)
    weak = client.post(f"/admin/users/{user_id}/password", data={"password": "letmein12345", "confirm": "letmein12345"})
    assert weak.status_code == 200
    assert "This password is too common or too simple; choose another." in errors(weak)
    short = client.post(f"/admin/users/{user_id}/password", data={"password": "short"})
    assert {"Use at least 12 characters.", "Type the password again."} <= set(errors(short))
    local = email.split("@")[0]
    own_name = client.post(f"/admin/users/{user_id}/password",
                           data={"password": f"{local}-kettle-42", "confirm": f"{local}-kettle-42"})
    assert "The password must not contain your email name." in errors(own_name)
    ok = client.post(f"/admin/users/{user_id}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert ok.status_code == 303
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.check_password(NEW_PASSWORD)
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.entity_id == user_id)) == "reset_password"
    other = app.test_client()
    assert other.post("/login", data={"email": email, "password": DEFAULT_PASSWORD}).status_code == 200
    assert other.post("/login", data={"email": email, "password": NEW_PASSWORD}).status_code == 302


def test_unlock_button_lifts_a_lock(client, login_as, app):
    """A locked account shows as locked, with an Unlock button that lets its owner back in."""
    login_as("admin")
    user_id, email = _make(app, role="frontdesk")
    _lock(app, email, user_id)
    assert app.test_client().post("/login", data={"email": email, "password": DEFAULT_PASSWORD}).status_code == 429
    assert "login held after failed attempts" in client.get("/admin/users").get_data(as_text=True)
    assert "Unlock login" in client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert client.post(f"/admin/users/{user_id}/unlock").status_code == 303
    assert "Unlock login" not in client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert app.test_client().post("/login", data={"email": email, "password": DEFAULT_PASSWORD}).status_code == 302


def test_unknown_user_is_404(client, login_as):
    """Editing an account that does not exist is a plain 404."""
    login_as("admin")
    assert client.get("/admin/users/999999").status_code == 404
    assert client.post("/admin/users/999999/unlock").status_code == 404


def test_non_admins_are_refused(client, login_as):
    """Front desk and clinicians get 403 from every admin page."""
    login_as("clinician")
    for url in ("/admin/", "/admin/users", "/admin/users/new", "/admin/settings", "/admin/audit"):
        assert client.get(url).status_code == 403
    assert client.post("/admin/users/new", data={"email": "x@clinic.test", "role": "admin",
                                                 "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 403


def test_admin_forms_work_with_csrf_protection_on(tmp_path):
    """With CSRF on (as in production) the tokens the pages carry let each admin form through."""
    from .conftest import build_app

    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    token_re = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    try:
        _, admin_email = _make(app, role="admin")
        target_id, _ = _make(app, role="frontdesk")
        client = app.test_client()
        token = token_re.search(client.get("/login").get_data(as_text=True)).group(1)
        assert client.post("/login", data={"email": admin_email, "password": DEFAULT_PASSWORD,
                                           "csrf_token": token}).status_code == 302
        page = client.get(f"/admin/users/{target_id}").get_data(as_text=True)
        token = token_re.search(page).group(1)
        assert client.post(f"/admin/users/{target_id}", data={"name": "Renamed", "role": "clinician",
                                                              "active": "y", "csrf_token": token}).status_code == 303
        assert client.post(f"/admin/users/{target_id}/password", data={
            "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token}).status_code == 303
        token = token_re.search(client.get("/admin/settings").get_data(as_text=True)).group(1)
        form = client.get("/admin/settings").get_data(as_text=True)
        values = dict(re.findall(r'<input[^>]*id="(\w+)"[^>]*value="([^"]*)"', form))
        values["address"] = ""
        values["csrf_token"] = token
        assert client.post("/admin/settings", data=values).status_code == 303
        with app.app_context():
            user = db.session.get(User, target_id)
            assert (user.name, user.role) == ("Renamed", "clinician") and user.check_password(NEW_PASSWORD)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
