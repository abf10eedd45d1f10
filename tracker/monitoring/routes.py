"""The monitoring sheet of a session (clinicians) and its clinic settings (admins)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..extensions import db
from ..in_error_page import confirm_in_error
from ..models import MEASURES, Infusion, MonitoringReading, Patient, User, utcnow
from ..saving import acting_user, commit, put_error, refused_status, save
from ..security import roles_required
from ..services.clinic import get_settings, local_to_utc
from ..services.errors import RuleError, expect_version
from . import rules
from . import service as monitoring
from .forms import MonitoringSettingsForm, ReadingForm, ReleaseForm, TimesForm

bp = Blueprint("monitoring", __name__)

SHEET = "/patients/<int:patient_id>/sessions/<int:infusion_id>/monitoring"


def _session(patient_id: int, infusion_id: int) -> tuple[Patient, Infusion]:
    """The patient and their session (404 when the session is another patient's)."""
    infusion = db.get_or_404(Infusion, infusion_id)
    if infusion.patient_id != patient_id:
        abort(404)
    return db.get_or_404(Patient, patient_id), infusion


def _reading(
    patient_id: int, infusion_id: int, reading_id: int
) -> tuple[Patient, Infusion, MonitoringReading]:
    """The patient, their session and a reading on its sheet (404 when any is another's)."""
    patient, infusion = _session(patient_id, infusion_id)
    reading = db.get_or_404(MonitoringReading, reading_id)
    if reading.sheet.infusion_id != infusion.id:
        abort(404)
    return patient, infusion, reading


def _save_on_sheet(patient: Patient, infusion: Infusion, form, name: str, change, *, message: str):
    """Save `change()` on the session's sheet, refused when the sheet moved on since the form
    showed it; then back to the sheet, or the sheet again with the form (`name`) and its errors."""

    def checked():
        sheet = monitoring.sheet_for(infusion)
        if sheet is not None:
            expect_version(sheet, form.version.data, "monitoring sheet")
        return change()

    to = url_for(".sheet", patient_id=patient.id, infusion_id=infusion.id)
    response = save(form, checked, message=message, validate=False, to=to)
    if response is not None:
        return response
    return _render(patient, infusion, status=refused_status(form), submitted={name: form})


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def _local(moment, zone: ZoneInfo):
    """An instant as the naive clinic wall-clock time a datetime-local field shows."""
    return moment.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0) if moment else None


def _instant(form, name: str, zone: ZoneInfo):
    """The field's wall-clock time as a UTC instant; None (with the error on it) if it has none."""
    value = getattr(form, name).data
    if value is None or getattr(form, name).errors:
        return None
    try:
        return local_to_utc(value, zone, name)
    except RuleError as error:
        put_error(form, error)
        return None


def _releasers(current: int | None) -> dict[int, str]:
    """Clinicians (and admins) who may release a patient: the active ones, and whoever did."""
    users = db.session.scalars(
        select(User).where(User.role.in_(("clinician", "admin"))).order_by(User.name, User.email)
    ).all()
    return {u.id: u.label for u in users if u.active or u.id == current}


def _render(
    patient: Patient, infusion: Infusion, *, status: int = 200, submitted: dict | None = None
):
    """The sheet: the readings with their flags, the forms (the submitted one with its errors)."""
    zone, submitted = _zone(), submitted or {}
    settings = monitoring.get_monitoring_settings()
    ranges = monitoring.ranges_of(settings)
    sheet = monitoring.sheet_for(infusion)
    readings = list(sheet.readings) if sheet else []
    active = [r for r in readings if not r.in_error]
    upcoming = rules.next_reading(active, settings.interval_min)
    now = _local(utcnow(), zone)
    reading_form = submitted.get("reading") or ReadingForm(
        formdata=None, data={"kind": upcoming.kind, "taken_at": now}
    )
    started = sheet.started_at if sheet else infusion.given_at
    times_form = submitted.get("times") or TimesForm(
        formdata=None,
        data={
            "started_at": _local(started, zone),
            "stopped_at": _local(sheet.stopped_at if sheet else None, zone),
            "version": sheet.version if sheet else "",
        },
    )
    me = acting_user()
    release_form = submitted.get("release") or ReleaseForm(
        formdata=None,
        data={
            "ready_to_leave_at": _local(sheet.ready_to_leave_at, zone)
            if sheet and sheet.ready_to_leave_at
            else None,
            "released_at": _local(sheet.released_at, zone) if sheet and sheet.released_at else now,
            "released_by": sheet.released_by_id if sheet and sheet.released_by_id else me.id,
            "released_to": sheet.released_to if sheet else "",
            "version": sheet.version if sheet else "",
        },
    )
    release_form.released_by.choices = _releasers(sheet.released_by_id if sheet else None)
    if me.id not in release_form.released_by.choices:
        release_form.released_by.choices[me.id] = me.label
    released_by = (
        db.session.get(User, sheet.released_by_id) if sheet and sheet.released_by_id else None
    )
    minutes = None
    if sheet and sheet.stopped_at:
        minutes = int((sheet.stopped_at - sheet.started_at) / timedelta(minutes=1))
    failed = [
        message
        for form in submitted.values()
        for messages in form.errors.values()
        for message in messages
    ]
    return render_template(
        "monitoring/sheet.html",
        patient=patient,
        infusion=infusion,
        sheet=sheet,
        readings=readings,
        ranges=ranges,
        settings=settings,
        upcoming=upcoming,
        minutes_late=upcoming.minutes_late(utcnow()),
        started_at=started,
        minutes=minutes,
        reading_form=reading_form,
        times_form=times_form,
        release_form=release_form,
        released_by=released_by,
        measures=MEASURES,
        labels=rules.MEASURE_LABELS,
        units=rules.UNITS,
        kinds=rules.KIND_LABELS,
        flag_words=rules.flag_words,
        failed=failed,
        writable=not infusion.in_error,
    ), status


@bp.get(SHEET)
@roles_required("clinician")
def sheet(patient_id: int, infusion_id: int):
    """The session's monitoring sheet, printable."""
    patient, infusion = _session(patient_id, infusion_id)
    return _render(patient, infusion)


def _back(patient_id: int, infusion_id: int, anchor: str = ""):
    return redirect(url_for(".sheet", patient_id=patient_id, infusion_id=infusion_id) + anchor, 303)


@bp.post(SHEET + "/readings")
@roles_required("clinician")
def add_reading(patient_id: int, infusion_id: int):
    """Add a reading; impossible values and times outside the session are refused on the field."""
    patient, infusion = _session(patient_id, infusion_id)
    form, zone = ReadingForm(), _zone()
    valid = form.validate_on_submit()
    taken_at = _instant(form, "taken_at", zone)
    if valid and taken_at is not None and not form.errors:
        ranges = monitoring.ranges_of(monitoring.get_monitoring_settings())
        saved = commit(
            form,
            lambda: monitoring.record_reading(
                infusion,
                actor=acting_user(),
                kind=form.kind.data,
                taken_at=taken_at,
                values=form.reading_values(),
                ranges=ranges,
                now=utcnow(),
            ),
            # Two first readings at once: one sheet per session, one baseline per sheet.
            on_duplicate=RuleError(
                "Someone saved a reading on this sheet a moment ago; check the sheet, then try again.",
                "taken_at",
            ),
        )
        if saved is not None:
            flagged = saved.result.flags
            words = ", ".join(f"{rules.MEASURE_LABELS[m]} {f}" for m, f in flagged.items())
            flash(
                f"Reading saved. Flagged: {words}." if flagged else "Reading saved.",
                "error" if flagged else "success",
            )
            return _back(patient_id, infusion_id, "#readings")
    return _render(patient, infusion, status=refused_status(form), submitted={"reading": form})


@bp.post(SHEET + "/times")
@roles_required("clinician")
def times(patient_id: int, infusion_id: int):
    """Set the session's start and stop times."""
    patient, infusion = _session(patient_id, infusion_id)
    form, zone = TimesForm(), _zone()
    valid = form.validate_on_submit()
    started_at, stopped_at = _instant(form, "started_at", zone), _instant(form, "stopped_at", zone)
    if valid and started_at is not None and not form.errors:
        return _save_on_sheet(
            patient,
            infusion,
            form,
            "times",
            lambda: monitoring.set_times(
                infusion, actor=acting_user(), started_at=started_at, stopped_at=stopped_at
            ),
            message="Start and stop times saved.",
        )
    return _render(patient, infusion, status=refused_status(form), submitted={"times": form})


@bp.post(SHEET + "/release")
@roles_required("clinician")
def release(patient_id: int, infusion_id: int):
    """Record the discharge: ready-to-leave time, discharge time, who released the patient, to whom."""
    patient, infusion = _session(patient_id, infusion_id)
    form, zone = ReleaseForm(), _zone()
    sheet = monitoring.sheet_for(infusion)
    form.released_by.choices = _releasers(sheet.released_by_id if sheet else None)
    valid = form.validate_on_submit()
    if form.released_by.data not in form.released_by.choices:
        form.released_by.errors = [*form.released_by.errors, "Choose who released the patient."]
    ready_at, released_at = (
        _instant(form, "ready_to_leave_at", zone),
        _instant(form, "released_at", zone),
    )
    if valid and released_at is not None and not form.errors:
        return _save_on_sheet(
            patient,
            infusion,
            form,
            "release",
            lambda: monitoring.release(
                infusion,
                actor=acting_user(),
                ready_to_leave_at=ready_at,
                released_at=released_at,
                released_by=db.session.get(User, form.released_by.data),
                released_to=form.released_to.data,
            ),
            message="Discharge recorded.",
        )
    return _render(patient, infusion, status=refused_status(form), submitted={"release": form})


@bp.route(SHEET + "/readings/<int:reading_id>/entered-in-error", methods=["GET", "POST"])
@roles_required("clinician")
def reading_in_error(patient_id: int, infusion_id: int, reading_id: int):
    """Confirm, with a reason, that a reading was entered in error: it stays, struck out."""
    patient, infusion, reading = _reading(patient_id, infusion_id, reading_id)
    return confirm_in_error(
        reading,
        noun="reading",
        mark=monitoring.mark_reading_in_error,
        template="monitoring/reading_in_error.html",
        page={
            "patient": patient,
            "infusion": infusion,
            "reading": reading,
            "labels": rules.MEASURE_LABELS,
            "kinds": rules.KIND_LABELS,
        },
        message="Reading marked entered in error; it stays on the sheet, struck out.",
        to=url_for(".sheet", patient_id=patient_id, infusion_id=infusion_id),
    )


@bp.route("/admin/monitoring", methods=["GET", "POST"])
@roles_required("admin")
def settings():
    """The clinic's interval between readings and the ranges readings are flagged against."""
    current = monitoring.get_monitoring_settings()
    form = MonitoringSettingsForm(obj=current if request.method == "GET" else None)
    values = {name: getattr(form, name).data for name in monitoring.SETTINGS_FIELDS}
    response = save(
        form,
        lambda: monitoring.update_settings(acting_user(), values),
        message="Monitoring settings saved.",
        to=url_for(".settings"),
    )
    if response is not None:
        return response
    return render_template(
        "monitoring/settings.html", form=form, measures=MEASURES, labels=rules.MEASURE_LABELS
    ), refused_status(form) if form.errors else 200
