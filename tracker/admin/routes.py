"""Routes of the admin area: staff accounts, clinic settings, mail settings, the audit trail."""
import logging

from flask import Blueprint, current_app, render_template, request, url_for
from sqlalchemy import false, select

from ..auth.throttle import account_holds
from ..extensions import db
from ..formatting import request_style
from ..mail import outbox_dir
from ..models import User, utcnow
from ..saving import acting_user, save
from ..security import roles_required
from ..services.clinic import get_settings, update_settings
from ..services.errors import RuleError
from ..services.staff import create_user, reset_password, unlock_user, update_user
from ..services.two_factor import reset_two_factor
from . import audit as trail
from .checklist import checklist
from .forms import AuditFilterForm, EditUserForm, NewUserForm, ResetPasswordForm, SettingsForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
log = logging.getLogger(__name__)

# Admin pages owned by other areas, linked from the admin start page once they exist.
OTHER_ADMIN_PAGES = (
    ("schedule.chairs", "Chairs"),
    ("schedule.hours", "Opening hours"),
    ("schedule.closed_dates", "Closed dates"),
    ("schedule.appointment_types", "Appointment types"),
    ("schedule.capacity", "Clinician capacity"),
    ("reminders.index", "Reminders log"),
    ("api_tokens.index", "API tokens"),
    ("webhooks.index", "Webhooks"),
    ("monitoring.settings", "Monitoring ranges"),
    ("check_ins.settings", "Patient check-ins"),
    ("protocols.index", "Protocols and phases"),
)


@bp.before_request
@roles_required("admin")
def admin_only():
    """Every admin page needs an admin (the views say so again, for the route table)."""


def _apply(form, change, message, endpoint: str, **values):
    """The admin pages' save: `message` may read the service's result; back to `endpoint`."""
    return save(form, change, message=message, to=url_for(endpoint, **values))


@bp.get("/")
@roles_required("admin")
def index():
    """Links to everything an admin manages."""
    steps = checklist(get_settings())
    return render_template("admin/index.html", others=OTHER_ADMIN_PAGES, steps=steps,
                           missing=sum(not step.done for step in steps))


@bp.get("/users")
@roles_required("admin")
def users():
    """Staff accounts, a page at a time."""
    page = db.paginate(select(User).order_by(User.email), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    held = account_holds([user.email for user in page.items], current_app.config)
    return render_template("admin/users.html", page=page, held=held)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def new_user():
    """Add a staff account."""
    form = NewUserForm()
    saved = _apply(form, lambda: create_user(email=form.email.data, role=form.role.data, name=form.name.data or "",
                                             password=form.password.data, actor=acting_user()),
                   lambda user: f"Added {user.email} as {user.role}.", "admin.users")
    return saved or render_template("admin/user_new.html", form=form)


def _edit_page(user, form=None, password_form=None):
    held_until = account_holds([user.email], current_app.config).get(user.email)
    return render_template("admin/user_edit.html", user=user, held_until=held_until,
                           form=form or EditUserForm(obj=user),
                           password_form=password_form or ResetPasswordForm(formdata=None))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_user(user_id):
    """Change a staff account's name, role and whether it may log in."""
    user = db.get_or_404(User, user_id)
    form = EditUserForm(obj=user)
    saved = _apply(form, lambda: update_user(acting_user(), user, role=form.role.data, name=form.name.data or "",
                                             active=form.active.data),
                   f"Saved {user.email}.", "admin.edit_user", user_id=user_id)
    return saved or _edit_page(user, form=form)


@bp.post("/users/<int:user_id>/password")
@roles_required("admin")
def reset_user_password(user_id):
    """Give a staff member a new password."""
    user = db.get_or_404(User, user_id)
    password_form = ResetPasswordForm()
    password_form.account_email = user.email
    saved = _apply(password_form, lambda: reset_password(acting_user(), user, password_form.password.data),
                   f"New password set for {user.email}.", "admin.edit_user", user_id=user_id)
    return saved or _edit_page(user, password_form=password_form)


@bp.post("/users/<int:user_id>/unlock")
@roles_required("admin")
def unlock(user_id):
    """Lift a login lock before it runs out."""
    user = db.get_or_404(User, user_id)
    back = url_for("admin.edit_user", user_id=user.id)
    return save(None, lambda: unlock_user(acting_user(), user), message=f"{user.email} may log in again.",
                to=back, validate=False, refused_to=back)


@bp.post("/users/<int:user_id>/two-factor/off")
@roles_required("admin")
def two_factor_off(user_id):
    """Turn off a staff member's two-step login (a lost phone); they set it up again at login."""
    user = db.get_or_404(User, user_id)
    back = url_for("admin.edit_user", user_id=user.id)
    return save(None, lambda: reset_two_factor(acting_user(), user, utcnow()),
                message=f"Two-step login is off for {user.email}; they set it up again at their "
                        "next login if it is required.", to=back, validate=False, refused_to=back)


def mail_settings() -> list[tuple[str, str]]:
    """The mail settings in force, as (label, value) rows; never the password."""
    config = current_app.config
    server = config.get("MAIL_SERVER")
    if not server:
        return [("Delivery", f"No SMTP server: messages are written as .eml files to {outbox_dir()}"),
                ("From address", str(config.get("MAIL_FROM_ADDRESS") or ""))]
    if config.get("MAIL_USE_SSL"):
        tls = "TLS from the start (SMTPS)"
    elif config.get("MAIL_USE_STARTTLS"):
        tls = "STARTTLS"
    else:
        tls = "None (plain text)"
    return [
        ("Server", str(server)),
        ("Port", str(config.get("MAIL_PORT"))),
        ("Encryption", tls),
        ("Login", str(config.get("MAIL_USERNAME") or "none")),
        ("Password", "set (not shown)" if config.get("MAIL_PASSWORD") else "none"),
        ("From address", str(config.get("MAIL_FROM_ADDRESS") or "")),
    ]


@bp.route("/settings", methods=["GET", "POST"])
@roles_required("admin")
def settings():
    """Every clinic setting, with field-level errors; and the mail settings in force."""
    clinic = get_settings()
    form = SettingsForm(obj=clinic)
    saved = _apply(form, lambda: update_settings(acting_user(), form.settings_values()),
                   "Settings saved.", "admin.settings")
    return saved or render_template("admin/settings.html", form=form, mail=mail_settings())


@bp.get("/audit")
@roles_required("admin")
def audit():
    """Who changed what, when: filterable by patient, user, record type and dates; paginated."""
    form = AuditFilterForm(request.args)
    form.user.choices = trail.user_choices()
    form.validate()
    wanted = trail.AuditFilter(
        patient="" if form.patient.errors else (form.patient.data or "").strip(),
        user="" if form.user.errors else (form.user.data or ""),
        entity="" if form.entity.errors else (form.entity.data or "").strip(),
        date_from=None if form.date_from.errors else form.date_from.data,
        date_to=None if form.date_to.errors else form.date_to.data,
    )
    style = request_style()
    zone = style.zone
    try:
        stmt = trail.audit_query(wanted, zone)
    except RuleError as error:  # an unknown patient: say so, and list nothing rather than everyone
        form.patient.errors = list(form.patient.errors) + [str(error)]
        wanted.patient = ""
        stmt = trail.audit_query(wanted, zone).where(false())
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    rows = trail.readable_rows(page.items, style)
    return render_template("admin/audit.html", form=form, page=page, rows=rows, zone=zone)
