"""Routes of the worklist area: who needs a maintenance booking, and whose window opens soon."""
import csv
import io
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional
from zoneinfo import ZoneInfo

from flask import (
    Blueprint, Response, current_app, render_template, request, stream_with_context, url_for,
)
from flask_login import current_user, login_required

from ..csv_safe import safe_row
from ..bounds import requested_page
from ..check_ins.decisions import due_rows
from ..extensions import db
from ..models import Patient, WaitlistEntry, utcnow
from ..saving import acting_user, save
from ..patients.minimum import sees_clinical
from ..security import local_path
from ..services import outreach, search, waitlist
from ..vocabulary import MAINTENANCE_STATUS as STATUS_LABELS
from ..services.clinic import clinic_today, get_settings
from ..services.courses import open_course_for
from ..services.errors import RuleError
from ..status import clock_for, stream
from .forms import CallForm, ReactivationForm, UpcomingFilterForm, WaitlistAddForm, WorklistFilterForm
from .queries import URGENCY, export_rows, upcoming_page, worklist_page

bp = Blueprint("worklist", __name__, url_prefix="/worklist")
log = logging.getLogger(__name__)

# The first nine columns are those of the first export (programs read them); contact details
# and the recall log come after.
EXPORT_COLUMNS = ("mrn", "last_name", "first_name", "status", "anchor", "window_opens",
                  "window_closes", "booked", "next_appointment", "date_of_birth", "phone", "email",
                  "last_contact", "last_contact_outcome", "calls")


@dataclass(frozen=True)
class WorklistRow:
    """One patient line as the page shows it (next appointment in clinic time)."""

    patient_id: int
    mrn: str
    name: str
    status: str
    anchor: Optional[date]
    window_opens: Optional[date]
    window_closes: Optional[date]
    last_series_session: Optional[date]
    booked: bool
    next_appointment: Optional[datetime]
    date_of_birth: date
    phone: Optional[str]
    urgency: str  # "overdue by 12 days", "9 days left" ...
    called: bool  # called in the clinic's quiet days: sorted below the others
    last_contact: Optional[outreach.LastContact]
    messages_sent: int = 0  # emails asking to book again (reactivation) for this window
    no_response: bool = False  # all of them sent, still not booked
    on_waitlist: bool = False  # waiting for an earlier time (services/waitlist.py)


    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def urgency(status: str, today: date, closes: Optional[date], last_session: Optional[date]) -> str:
    """How urgent a row is, in days: overdue by, days left in the window, days since."""
    if status in ("overdue", "lapsed") and closes is not None:
        return f"overdue by {_days((today - closes).days)}"
    if status == "due" and closes is not None:
        return f"{_days((closes - today).days)} left in the window"
    if status == "interrupted" and last_session is not None:
        return f"{_days((today - last_session).days)} since the last session"
    return ""


def _last_contact(row) -> Optional[outreach.LastContact]:
    if row.last_contact_at is None:
        return None
    return outreach.LastContact(row.last_contact_at, row.last_contact_outcome, row.calls)


def _rows(items, zone: ZoneInfo, today: date, most_messages: int = 0) -> list[WorklistRow]:
    """`most_messages`: the clinic's number of reactivation messages (0: none are sent)."""
    return [WorklistRow(r.patient_id, r.mrn, f"{r.last_name}, {r.first_name}", r.status,
                        r.anchor_date, r.window_opens, r.window_closes, r.last_qualifying_on,
                        bool(r.booked),
                        r.next_appointment.astimezone(zone) if r.next_appointment else None,
                        r.date_of_birth, r.phone,
                        urgency(r.status, today, r.window_closes, r.last_qualifying_on),
                        bool(r.called), _last_contact(r), r.messages_sent,
                        0 < most_messages <= r.messages_sent and not r.booked, bool(r.on_waitlist))
            for r in items]


# A patient id no real patient has: url_for builds one URL with it, split around it once.
_ID_MARK = 987654321987


def _links() -> dict[str, tuple[str, str]]:
    """Per linked page, the URL around a patient id.

    One url_for per page rather than one per row: a row's URL is prefix + id + suffix.
    """
    return {name: tuple(url_for(endpoint, patient_id=_ID_MARK).split(str(_ID_MARK), 1))
            for name, endpoint in (("patient", "patients.detail"), ("book", "schedule.book"),
                                   ("call", "worklist.log_call"),
                                   ("waitlist", "worklist.add_to_waitlist"))}


def _search(form: WorklistFilterForm, settings, today: date) -> search.SearchQuery | None:
    """The worklist's search box as the one patient search's query (None when empty)."""
    text = form.search
    return search.parse(text, date_order=settings.date_order, today=today) if text else None


def _page_number() -> int:
    return requested_page()


@bp.get("/")
@login_required
def index():
    """Patients due, overdue, lapsed or with an interrupted series: unbooked and urgent first."""
    form = WorklistFilterForm(request.args)
    form.validate()
    settings = get_settings()
    clock = clock_for(clinic_today(), settings)
    zone = ZoneInfo(settings.timezone)
    page = worklist_page(clock, statuses=form.statuses, booked=form.booked_filter,
                         search=_search(form, settings, clock.on), page=_page_number(),
                         per_page=current_app.config["PAGE_SIZE"],
                         called_since=outreach.called_since(clock.on, settings.recall_quiet_days, zone),
                         not_called_only=form.not_called_only)
    clinical = sees_clinical(acting_user())
    return render_template("worklist/index.html", form=form, page=page, today=clock.on,
                           rows=_rows(page.items, zone, clock.on, settings.reactivation_messages),
                           # Clinically due (tracker/check_ins): before any window opens; no
                           # score for the front desk.
                           clinically_due=due_rows(clinical=clinical), clinical=clinical,
                           links=_links(),
                           urgency=URGENCY, labels=STATUS_LABELS, zone=zone,
                           quiet_days=settings.recall_quiet_days, outcomes=outreach.OUTCOME_LABELS,
                           back=request.full_path.rstrip("?"),
                           export_args=_filter_args(request.args))


@bp.get("/upcoming")
@login_required
def upcoming():
    """Patients whose maintenance window opens within the next N days (soonest first)."""
    form = UpcomingFilterForm(request.args)
    settings = get_settings()
    days = form.days.data if form.validate() and form.days.data else settings.upcoming_days
    clock = clock_for(clinic_today(), settings)
    page = upcoming_page(clock, days=days, page=_page_number(),
                         per_page=current_app.config["PAGE_SIZE"])
    return render_template("worklist/upcoming.html", form=form, page=page, days=days,
                           today=clock.on, rows=_rows(page.items, ZoneInfo(settings.timezone), clock.on),
                           links=_links())


def _filter_args(args) -> dict:
    return {k: v for k, v in args.items() if k in ("status", "booked", "contact", "q") and v}


@bp.get("/export.csv")
@login_required
def export_csv():
    """The filtered worklist as CSV, streamed row by row in page order."""
    form = WorklistFilterForm(request.args)
    form.validate()
    settings = get_settings()
    clock = clock_for(clinic_today(), settings)
    zone = ZoneInfo(settings.timezone)
    statement = export_rows(clock, statuses=form.statuses, booked=form.booked_filter,
                            search=_search(form, settings, clock.on),
                            called_since=outreach.called_since(clock.on, settings.recall_quiet_days, zone),
                            not_called_only=form.not_called_only)
    log.info("worklist exported by user %s", current_user.id)

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(safe_row(EXPORT_COLUMNS))
        for number, row in enumerate(stream(db.session, statement), start=1):
            start = row.next_appointment
            contact = row.last_contact_at
            writer.writerow(safe_row([
                row.mrn, row.last_name, row.first_name, row.status, _iso(row.anchor_date),
                _iso(row.window_opens), _iso(row.window_closes), "yes" if row.booked else "no",
                start.astimezone(zone).isoformat() if start else "",
                _iso(row.date_of_birth), row.phone or "", row.email or "",
                contact.astimezone(zone).isoformat() if contact else "",
                row.last_contact_outcome or "", row.calls,
            ]))
            if number % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="worklist-{clock.on.isoformat()}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _iso(day: Optional[date]) -> str:
    return day.isoformat() if day else ""


@bp.post("/<int:patient_id>/calls")
@login_required
def log_call(patient_id: int):
    """Log a call from a worklist row in one step; back to the same page of the list."""
    db.get_or_404(Patient, patient_id)
    form = CallForm()
    back = local_path(form.next.data) or url_for(".index")

    def change():
        return outreach.log_attempt(patient_id, outcome=form.outcome.data, note=form.note.data or "",
                                    actor=acting_user(), now=utcnow())

    def message(attempt) -> str:
        patient = db.session.get(Patient, attempt.patient_id)
        return f"Call logged for {patient.full_name}: {outreach.OUTCOME_LABELS[attempt.outcome]}."

    return save(form, change, message=message, to=back, refused_to=back)


@bp.post("/<int:patient_id>/reactivation")
@login_required
def reactivation(patient_id: int):
    """Stop or restart the emails asking this patient to book again; back to their page."""
    db.get_or_404(Patient, patient_id)
    form = ReactivationForm()
    back = url_for("patients.detail", patient_id=patient_id)
    stop = form.stop.data == "yes"

    def change():
        return outreach.set_reactivation_stopped(patient_id, stop, actor=acting_user(), now=utcnow())

    done = "Emails asking to book again are stopped." if stop else "Emails asking to book again are back on."
    return save(form, change, message=done, to=back, refused_to=back)


@bp.app_template_global()
def patient_calls(patient) -> list:
    """A patient's latest calls and emails asking to book, newest first, for the patient page."""
    return outreach.outreach_log(patient.id)


@bp.get("/waitlist")
@login_required
def waitlist_page():
    """Who is waiting for an earlier time (longest first), and every offer made, newest first."""
    entries, offers = waitlist.staff_lists(utcnow())
    return render_template("worklist/waitlist.html", entries=entries, offers=offers,
                           weekday_names=WEEKDAY_NAMES, form=WaitlistAddForm(formdata=None))


@bp.post("/<int:patient_id>/waitlist")
@login_required
def add_to_waitlist(patient_id: int):
    """Put a patient on the waitlist from their worklist row (every weekday); back to the list."""
    db.get_or_404(Patient, patient_id)
    form = WaitlistAddForm()
    back = local_path(form.next.data) or url_for(".index")

    def change():
        patient = db.session.get(Patient, patient_id)
        if patient is None:
            raise RuleError("This patient is not on file any more.", None)
        return waitlist.join(patient, open_course_for(patient_id), "0123456", actor=acting_user(),
                             now=utcnow())

    def message(entry) -> str:
        patient = db.session.get(Patient, entry.patient_id)
        return f"{patient.full_name} is on the waitlist for an earlier time."

    return save(form, change, message=message, to=back, refused_to=back)


@bp.post("/waitlist/<int:entry_id>/remove")
@login_required
def remove_from_waitlist(entry_id: int):
    """Take a patient off the waitlist (their place is kept as ended); back to the waitlist."""
    db.get_or_404(WaitlistEntry, entry_id)
    form = WaitlistAddForm()
    back = url_for(".waitlist_page")

    def change():
        return waitlist.remove(entry_id, actor=acting_user(), now=utcnow())

    def message(entry) -> str:
        patient = db.session.get(Patient, entry.patient_id)
        return f"{patient.full_name} is off the waitlist."

    return save(form, change, message=message, to=back, refused_to=back)


WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@bp.app_template_global()
def reactivation_form() -> ReactivationForm:
    """The form of the patient page's stop/restart button."""
    return ReactivationForm(formdata=None)


@bp.app_template_global()
def call_outcome_label(outcome: str) -> str:
    """A call's outcome in the clinic's words."""
    return outreach.OUTCOME_LABELS.get(outcome, outcome)
