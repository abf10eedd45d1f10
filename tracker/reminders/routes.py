"""Routes of the reminders area: the reminders log, retry and cancel; the public unsubscribe page."""
import logging
from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import false, select
from sqlalchemy.orm import joinedload

from ..extensions import csrf, db
from ..models import Patient, Reminder, User
from ..saving import acting_user, save
from ..security import local_path, roles_required
from ..services import search
from ..services.clinic import clinic_today, clinic_zone, get_settings
from . import actions
from .forms import KIND_CHOICES, STATUS_CHOICES, ReminderActionForm, ReminderFilterForm
from .heartbeat import heartbeat_problem
from .unsubscribe import opt_out, read_link, sent_to_current_address

bp = Blueprint("reminders", __name__, url_prefix="/reminders")
public_bp = Blueprint("public_reminders", __name__)
log = logging.getLogger(__name__)

PATIENT_PAGE_LIMIT = 20


def filtered_reminders(form: ReminderFilterForm):
    """The log's query for valid filters: newest due first, patients eager-loaded."""
    query = select(Reminder).options(joinedload(Reminder.patient))
    if form.status.data:
        query = query.where(Reminder.status == form.status.data)
    if form.kind.data:
        query = query.where(Reminder.kind == form.kind.data)
    if form.patient_id.data:
        query = query.where(Reminder.patient_id == form.patient_id.data)
    text = (form.patient.data or "").strip()
    if text:
        found = search.matching_ids(search.parse(text, date_order=get_settings().date_order,
                                                 today=clinic_today()))
        query = query.where(Reminder.patient_id.in_(found) if found is not None else false())
    return query.order_by(Reminder.due_at.desc(), Reminder.id.desc())


@bp.get("/")
@roles_required("frontdesk", "clinician")
def index():
    """The reminders log: every planned and sent reminder, filterable by status, kind, patient."""
    form = ReminderFilterForm(request.args)
    if request.args and not form.validate():
        query = select(Reminder).where(Reminder.id.is_(None))  # bad filter: show the errors, no rows
    else:
        query = filtered_reminders(form)
    page = db.paginate(query, per_page=current_app.config.get("PAGE_SIZE", 50), error_out=False)
    user_ids = {r.user_id for r in page.items if r.user_id}
    staff = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    filter_patient = db.session.get(Patient, form.patient_id.data) if form.patient_id.data and not form.errors else None
    return render_template("reminders/index.html", form=form, page=page, staff=staff,
                           action_form=ReminderActionForm(), back=request.full_path.rstrip("?"),
                           filter_patient=filter_patient, statuses=STATUS_CHOICES, kinds=KIND_CHOICES)


def _back_to(value: str | None) -> str:
    """A local path to return to after an action (never another site)."""
    return local_path(value) or url_for("reminders.index")


def _act(reminder_id: int, action, done: str):
    form = ReminderActionForm()
    reminder = db.get_or_404(Reminder, reminder_id)
    if not form.validate_on_submit():
        abort(400)
    back = _back_to(form.back.data)
    return save(form, lambda: action(reminder, actor=acting_user()), message=done, to=back, validate=False,
                refused_to=back)


@bp.post("/<int(max=2147483647):reminder_id>/retry")
@roles_required("frontdesk")
def retry(reminder_id):
    """Queue a failed reminder again (the next sweep sends it)."""
    return _act(reminder_id, actions.retry, "Reminder queued again; the next sweep sends it.")


@bp.post("/<int(max=2147483647):reminder_id>/cancel")
@roles_required("frontdesk")
def cancel(reminder_id):
    """Cancel a pending reminder."""
    return _act(reminder_id, actions.cancel, "Reminder cancelled.")


@bp.app_template_global()
def patient_reminders(patient, limit: int = PATIENT_PAGE_LIMIT) -> list:
    """A patient's reminders, latest due first (one query), for the patient page."""
    return db.session.scalars(
        select(Reminder).where(Reminder.patient_id == patient.id)
        .order_by(Reminder.due_at.desc(), Reminder.id.desc()).limit(limit)
    ).all()


@bp.app_template_global()
def scheduler_heartbeat_problem():
    """None while a scheduler is alive; else what the admin warning should say."""
    return heartbeat_problem()


@bp.app_template_filter("clinic_time")
def clinic_time(moment) -> str:
    """An instant as clinic-local 'YYYY-MM-DD HH:MM'."""
    if moment is None:
        return "—"
    if "reminders_clinic_zone" not in g:  # one settings query per request, not one per row
        g.reminders_clinic_zone = clinic_zone()
    return moment.astimezone(g.reminders_clinic_zone).strftime("%Y-%m-%d %H:%M")


@public_bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click unsubscribe POSTs without a CSRF token; the signed link is the proof
def unsubscribe(token):
    """GET: confirm; POST (the button, or a mail client's one-click): record the opt-out."""
    settings = get_settings()
    link = read_link(token)
    patient = db.session.get(Patient, link[0]) if link is not None else None
    if patient is None:
        return render_template("reminders/unsubscribe.html", state="invalid", settings=settings), 400
    if not sent_to_current_address(patient, link[1]):  # the address changed since this was sent
        return render_template("reminders/unsubscribe.html", state="address_changed", settings=settings), 400
    if request.method == "POST":
        if opt_out(patient):
            db.session.commit()
        if request.form.get("List-Unsubscribe") == "One-Click":
            return render_template("reminders/unsubscribe.html", state="done", settings=settings)
        return redirect(url_for("public_reminders.unsubscribe", token=token))
    state = "done" if patient.email_opt_out_at is not None else "confirm"
    return render_template("reminders/unsubscribe.html", state=state, settings=settings, token=token)
