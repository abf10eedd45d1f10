"""Esketamine REMS pages (clinicians only): the forms due, a session's form (printable), its
filing and correction, and turning the requirement on or off for a course."""

import math
from dataclasses import dataclass
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from ..extensions import db
from ..in_error_page import confirm_in_error
from ..models import Course, Infusion, Patient, User, utcnow
from ..models.rems import BP_MOMENTS
from ..monitoring import service as monitoring
from ..saving import acting_user, commit, put_error, refused_status, save
from ..security import roles_required
from ..services.clinic import clinic_today, clinic_zone, local_to_utc
from ..services.errors import RuleError, expect_version
from . import rules
from . import service as rems
from .forms import MOMENT_WORDS, FiledForm, RemsAnswersForm, RemsCourseForm

bp = Blueprint("rems", __name__)

FORM = "/patients/<int:patient_id>/sessions/<int:infusion_id>/rems"
RECENTLY_FILED_DAYS = 14


def _session(patient_id: int, infusion_id: int) -> tuple[Patient, Infusion]:
    """The patient and their session (404 when the session is another patient's)."""
    infusion = db.get_or_404(Infusion, infusion_id)
    if infusion.patient_id != patient_id:
        abort(404)
    return db.get_or_404(Patient, patient_id), infusion


def _local(moment):
    """An instant as the clinic wall-clock time a datetime-local field shows."""
    if moment is None:
        return None
    return moment.astimezone(clinic_zone()).replace(tzinfo=None, second=0, microsecond=0)


@dataclass(frozen=True)
class Page:
    """One page of a list, as the pager macro reads it."""

    items: list
    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _page(query) -> Page:
    size = current_app.config["PAGE_SIZE"]
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / size))
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    rows = db.session.execute(query.limit(size).offset((number - 1) * size)).all()
    return Page(list(rows), number, pages)


@bp.get("/rems")
@roles_required("clinician")
def worklist():
    """REMS monitoring forms not yet filed, oldest session first, with their last day to file;
    then the ones filed in the last two weeks."""
    today, zone = clinic_today(), clinic_zone()
    due = _page(rems.due_sessions(filed=False))
    rows = []
    for infusion, patient, form in due.items:
        last_day = rules.due_on(infusion.given_at, zone)
        rows.append(
            {
                "infusion": infusion,
                "patient": patient,
                "form": form,
                "due_on": last_day,
                "words": rules.due_words(last_day, today),
                "overdue": rules.is_overdue(last_day, today),
            }
        )
    filed = db.session.execute(
        rems.due_sessions(filed=True, since=today - timedelta(days=RECENTLY_FILED_DAYS)).limit(
            current_app.config["PAGE_SIZE"]
        )
    ).all()
    filers = {
        u.id: u.label
        for u in db.session.scalars(
            select(User).where(User.id.in_({f.filed_by_id for _, _, f in filed if f.filed_by_id}))
        )
    }
    return render_template(
        "rems/worklist.html",
        rows=rows,
        page=due,
        filed=filed,
        filers=filers,
        today=today,
        recent_days=RECENTLY_FILED_DAYS,
    )


def _initial(infusion: Infusion) -> dict:
    """The form as it opens: the sheet's times and pressures, the session's dose."""
    sheet = monitoring.sheet_for(infusion)
    started = sheet.started_at if sheet else infusion.given_at
    ended = (sheet.stopped_at or sheet.released_at) if sheet else None
    pressures = rules.sheet_pressures(list(sheet.readings) if sheet else [], started)
    values: dict = {
        "monitoring_started_at": _local(started),
        "monitoring_ended_at": _local(ended),
        "dose_mg": int(infusion.total_mg) if infusion.total_mg is not None else None,
    }
    for moment, reading in pressures.items():
        if reading is not None:
            values[f"bp_{moment}_systolic"] = reading.systolic
            values[f"bp_{moment}_diastolic"] = reading.diastolic
    return {"values": values, "pressures": pressures, "started": started}


def _from_record(form) -> dict:
    values = {name: getattr(form, name) for name in rems.ANSWER_FIELDS}
    values["monitoring_started_at"] = _local(form.monitoring_started_at)
    values["monitoring_ended_at"] = _local(form.monitoring_ended_at)
    values["devices"] = str(form.devices) if form.devices else ""
    for name in ("sedation", "dissociation", "respiratory_depression", "serious_adverse_event"):
        value = getattr(form, name)
        values[name] = None if value is None else ("yes" if value else "no")
    values["version"] = form.version
    return values


def _render(patient, infusion, *, answers=None, filed=None, status: int = 200):
    record = rems.live_form(infusion)
    initial = _initial(infusion)
    if answers is None:
        data = _from_record(record) if record else initial["values"]
        answers = RemsAnswersForm(formdata=None, data=data)
    if filed is None:
        filed = FiledForm(
            formdata=None,
            data={"filed_on": clinic_today(), "version": record.version if record else ""},
        )
    last_day = rules.due_on(infusion.given_at, clinic_zone())
    today = clinic_today()
    minutes = None
    if record and record.monitoring_started_at and record.monitoring_ended_at:
        minutes = rules.minutes_between(record.monitoring_started_at, record.monitoring_ended_at)
    return render_template(
        "rems/form.html",
        patient=patient,
        infusion=infusion,
        record=record,
        answers=answers,
        filed=filed,
        pressures=initial["pressures"],
        moments=BP_MOMENTS,
        moment_words=MOMENT_WORDS,
        due_on=last_day,
        due_words=rules.due_words(last_day, today),
        overdue=rules.is_overdue(last_day, today),
        needed=rems.needs_form(infusion),
        filed_by=rems.filed_by(record),
        minutes=minutes,
        min_minutes=rules.MIN_MONITORING_MIN,
    ), status


@bp.get(FORM)
@roles_required("clinician")
def form(patient_id: int, infusion_id: int):
    """The session's REMS monitoring form: filled from the monitoring sheet, printable."""
    patient, infusion = _session(patient_id, infusion_id)
    return _render(patient, infusion)


def _instant(form, name: str):
    value = getattr(form, name).data
    if value is None or getattr(form, name).errors:
        return None
    try:
        return local_to_utc(value, clinic_zone(), name)
    except RuleError as error:
        put_error(form, error)
        return None


@bp.post(FORM)
@roles_required("clinician")
def save_form(patient_id: int, infusion_id: int):
    """Save the form; a missing pressure or under 120 minutes of monitoring is refused on its
    field, with nothing saved."""
    patient, infusion = _session(patient_id, infusion_id)
    form = RemsAnswersForm()
    valid = form.validate_on_submit()
    started = _instant(form, "monitoring_started_at")
    ended = _instant(form, "monitoring_ended_at")
    if valid and started is not None and ended is not None and not form.errors:
        answers = {**form.answers(), "monitoring_started_at": started, "monitoring_ended_at": ended}

        def change():
            record = rems.live_form(infusion)
            if record is not None:
                expect_version(record, form.version.data, "REMS form")
            return rems.save_form(infusion, actor=acting_user(), answers=answers, now=utcnow())

        saved = commit(
            form,
            change,
            on_duplicate=RuleError(
                "Someone saved this form a moment ago; check it, then try again."
            ),
        )
        if saved is not None:
            flash("REMS form saved. Mark it filed once it is sent to the REMS.", "success")
            return redirect(url_for(".form", patient_id=patient_id, infusion_id=infusion_id), 303)
    return _render(patient, infusion, answers=form, status=refused_status(form))


@bp.post(FORM + "/filed")
@roles_required("clinician")
def filed(patient_id: int, infusion_id: int):
    """Mark the form filed with the REMS, on a day, by the person signed in."""
    patient, infusion = _session(patient_id, infusion_id)
    form = FiledForm()
    record = rems.live_form(infusion)
    if record is None:
        if form.validate_on_submit():
            form.form_errors.append("Save the form before marking it filed.")
        return _render(patient, infusion, filed=form, status=400)

    def change():
        expect_version(record, form.version.data, "REMS form")
        return rems.mark_filed(
            record,
            actor=acting_user(),
            filed_on=form.filed_on.data,
            session_on=infusion.given_on,
            today=clinic_today(),
        )

    response = save(
        form,
        change,
        message="Marked filed.",
        to=url_for(".form", patient_id=patient_id, infusion_id=infusion_id),
    )
    if response is not None:
        return response
    return _render(patient, infusion, filed=form, status=refused_status(form))


@bp.route(FORM + "/entered-in-error", methods=["GET", "POST"])
@roles_required("clinician")
def in_error(patient_id: int, infusion_id: int):
    """Confirm, with a reason, that the session's form was entered in error: it stays, struck
    out, and the session needs a new form."""
    patient, infusion = _session(patient_id, infusion_id)
    record = rems.live_form(infusion)
    return confirm_in_error(
        record,
        noun="REMS form",
        mark=rems.mark_in_error,
        problem="This session has no REMS form to mark." if record is None else None,
        template="rems/in_error.html",
        page={"patient": patient, "infusion": infusion, "record": record},
        message="REMS form marked entered in error; the session needs a new form.",
        to=url_for(".form", patient_id=patient_id, infusion_id=infusion_id),
    )


@bp.route("/patients/<int:patient_id>/courses/<int:course_id>/rems", methods=["GET", "POST"])
@roles_required("clinician")
def course(patient_id: int, course_id: int):
    """Turn the REMS monitoring forms on for a course (each session then needs one), or off."""
    course = db.get_or_404(Course, course_id)
    if course.patient_id != patient_id:
        abort(404)
    patient = db.get_or_404(Patient, patient_id)
    row = rems.rems_course(course)
    form = RemsCourseForm()
    if form.validate_on_submit():
        turning_on = row is None or not row.on

        def change():
            if turning_on:
                return rems.turn_on(course, actor=acting_user(), now=utcnow(), today=clinic_today())
            return rems.turn_off(
                course, actor=acting_user(), reason=form.reason.data or "", now=utcnow()
            )

        response = save(
            form,
            change,
            message="REMS forms turned on for this course."
            if turning_on
            else "REMS forms turned off for this course.",
            validate=False,
            to=url_for(".course", patient_id=patient_id, course_id=course_id),
        )
        if response is not None:
            return response
    status = refused_status(form) if request.method == "POST" else 200
    return render_template(
        "rems/course.html", patient=patient, course=course, row=row, form=form
    ), status
