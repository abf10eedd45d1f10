"""Book-my-visit: the link in the window reminders. Shows the first name, the clinic and free
times in the window; a chosen time is held for a few minutes, then booked with one more click."""

from __future__ import annotations

from flask import redirect, request, url_for

from ..extensions import db
from ..formatting import request_style
from ..models import Course, Patient
from ..reminders import notices
from ..saving import commit
from ..services import waitlist
from ..services.clinic import get_settings
from ..services.errors import RuleError
from . import bp
from .common import describe, link_problem, now, render_page, today
from .forms import ActionForm, SlotForm, WaitlistForm
from .holds import PATIENT, book_hold, live_hold, take_hold
from .messages import upcoming_visits
from .picker import offer, picked_time
from .times import bookable_type
from .tokens import LinkProblem, make_token, read_token

BOOK_PAGE = "patient_links/book.html"


def _resolve(token: str):
    """(patient, course) named by a valid book link, or the page to answer with instead."""
    try:
        link = read_token("book", token)
    except LinkProblem as problem:
        return None, link_problem(expired=problem.expired)
    patient = db.session.get(Patient, link.patient_id)
    course = db.session.get(Course, link.target_id)
    if patient is None or course is None or course.patient_id != patient.id:
        return None, link_problem()
    if course.state != "maintenance" or course.mode != "scheduled" or course.window_opens is None:
        return None, link_problem(gone="closed")
    return (patient, course), None


def _times_page(
    token: str,
    patient: Patient,
    course: Course,
    form: SlotForm,
    status: int = 200,
    notice: str | None = None,
    waitlist_form: WaitlistForm | None = None,
):
    """The booking page: the window and the times that can be chosen now."""
    settings = get_settings()
    visits = upcoming_visits(patient.id, now())
    if visits:
        visit = visits[0]
        return render_page(
            "patient_links/booked.html",
            token=token,
            first_name=patient.first_name,
            visit=describe(visit),
            confirmed=visit.status == "booked",
            manage_url=url_for(
                "patient_links.manage", token=make_token("manage", patient.id, visit.id)
            ),
            notice=notice,
            on_waitlist=waitlist.active_entry(patient.id),
        )
    offered = offer(patient, bookable_type(course), now=now(), today=today(), settings=settings)
    return render_page(
        BOOK_PAGE,
        status=status,
        token=token,
        form=form,
        first_name=patient.first_name,
        times=offered.times,
        window_passed=offered.found.window_passed,
        opens=offered.found.window_opens,
        closes=offered.found.window_closes,
        notice=notice,
        waitlist_form=waitlist_form or WaitlistForm(formdata=None),
        on_waitlist=waitlist.active_entry(patient.id),
    )


@bp.get("/book/<token>")
def book(token):
    """The times a patient may book (or, once booked, their visit)."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, course = resolved
    notice = WAITLIST_NOTICES.get(request.args.get("waitlist", ""))
    return _times_page(token, patient, course, SlotForm(formdata=None), notice=notice)


@bp.post("/book/<token>")
def choose(token):
    """Hold the chosen time for the patient, then ask them to book it."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, course = resolved
    form = SlotForm()
    picked = picked_time(form)
    if picked is None:
        return _times_page(token, patient, course, form, status=400)
    appointment_type = bookable_type(course)

    def hold_it():
        if appointment_type is None:
            raise RuleError("Online booking is not open at the moment.", "slot")
        return take_hold(
            patient,
            course=course,
            appointment_type=appointment_type,
            chair_id=picked.chair_id,
            start_at=picked.start_at,
            now=now(),
            today=today(),
            settings=get_settings(),
        )

    saved = commit(form, hold_it, field_for=lambda error: "slot")
    if saved is None:
        return _times_page(token, patient, course, form, status=409)
    return redirect(url_for("patient_links.held", token=token, hold_id=saved.result.id), 303)


@bp.get("/book/<token>/time/<int(max=2147483647):hold_id>")
def held(token, hold_id):
    """The held time, how long it is kept, and the button that books it."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, course = resolved
    hold = live_hold(hold_id, patient.id, now())
    if hold is None:
        return _times_page(
            token,
            patient,
            course,
            SlotForm(formdata=None),
            notice="The time you chose was kept for you for a few minutes only. "
            "Please choose a time again.",
        )
    return render_page(
        "patient_links/held.html",
        token=token,
        hold_id=hold.id,
        form=ActionForm(),
        first_name=patient.first_name,
        visit=describe(hold),
        kept_until=request_style().clock(hold.expires_at),
    )


@bp.post("/book/<token>/time/<int(max=2147483647):hold_id>")
def book_held(token, hold_id):
    """Book the held time; its confirmation (with the calendar file and the manage link) is
    planned in the outbox in the same transaction, and the sweep sends it."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, course = resolved
    form = ActionForm()
    if not form.validate():
        return redirect(url_for("patient_links.held", token=token, hold_id=hold_id), 303)
    settings = get_settings()
    failed = SlotForm(formdata=None)

    def book_and_confirm():
        appointment = book_hold(patient, hold_id, now=now(), settings=settings)
        notices.visit_booked_online(appointment, now=now(), settings=settings)
        return appointment

    saved = commit(failed, book_and_confirm, field_for=lambda error: "slot")
    if saved is None:
        return _times_page(token, patient, course, failed, status=409)
    return redirect(url_for("patient_links.book", token=token), 303)


WAITLIST_NOTICES = {
    "joined": "Thank you: we will email you if an earlier time frees up on the days you chose.",
    "left": "You are off the list: we will not email you about earlier times.",
}


@bp.post("/book/<token>/waitlist")
def join_waitlist(token):
    """ "Tell me if an earlier time frees up", on the days that suit."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, course = resolved
    form = WaitlistForm()
    if not form.validate():
        return _times_page(
            token, patient, course, SlotForm(formdata=None), status=400, waitlist_form=form
        )
    saved = commit(
        form,
        lambda: waitlist.join(patient, course, form.weekdays.data, actor=PATIENT, now=now()),
        field_for=lambda error: "weekdays",
    )
    if saved is None:
        return _times_page(
            token, patient, course, SlotForm(formdata=None), status=400, waitlist_form=form
        )
    return redirect(url_for("patient_links.book", token=token, waitlist="joined"), 303)


@bp.post("/book/<token>/waitlist/leave")
def leave_waitlist(token):
    """Leave the list for an earlier time (a POST from the booking page)."""
    resolved, problem = _resolve(token)
    if resolved is None:
        return problem
    patient, course = resolved
    form = ActionForm()
    if not form.validate():
        return redirect(url_for("patient_links.book", token=token), 303)
    saved = commit(form, lambda: waitlist.leave(patient.id, actor=PATIENT, now=now()))
    if saved is None:  # not on the list (left already, or staff took them off): say nothing new
        return redirect(url_for("patient_links.book", token=token), 303)
    return redirect(url_for("patient_links.book", token=token, waitlist="left"), 303)
