"""The pre-visit checklist for staff: the clinic's questions per appointment type (admin), and
an appointment's answers taken by phone (front desk and clinicians; checklist states are not
clinical values, so the front desk sees and records them)."""

from flask import render_template, request, url_for
from sqlalchemy import select

from ..checklist_form import checklist_form
from ..extensions import db
from ..models import AppointmentType, ChecklistItem
from ..saving import acting_user, save
from ..security import roles_required
from ..services import checklist as service
from .blueprint import bp
from .forms import ChecklistItemForm
from .helpers import load_appointment

ITEM_VALUES = ("label", "prompt", "asks_driver", "position", "active")


def _type_choices(types) -> dict:
    return {t.id: t.name for t in types}


def _items_page(add_form=None, failed=None, status=200):
    types = list(db.session.scalars(select(AppointmentType).order_by(AppointmentType.name)))
    items = list(
        db.session.scalars(
            select(ChecklistItem).order_by(
                ChecklistItem.appointment_type_id, ChecklistItem.position, ChecklistItem.id
            )
        )
    )
    by_type: dict[int, list] = {t.id: [] for t in types}
    for item in items:
        by_type.setdefault(item.appointment_type_id, []).append(item)
    edit_forms = {
        item.id: failed[1]
        if failed and failed[0] == item.id
        else ChecklistItemForm(formdata=None, prefix=f"item{item.id}", obj=item)
        for item in items
    }
    if add_form is None:
        add_form = ChecklistItemForm(formdata=None, prefix="new")
    add_form.appointment_type_id.choices = _type_choices(types)
    return render_template(
        "schedule/checklist_items.html",
        types=types,
        by_type=by_type,
        edit_forms=edit_forms,
        add_form=add_form,
    ), status


@bp.route("/checklist-items", methods=["GET", "POST"])
@roles_required("admin")
def checklist_items():
    """The questions asked before each kind of visit; add one."""
    if request.method == "GET":
        return _items_page()
    form = ChecklistItemForm(prefix="new")
    form.appointment_type_id.choices = _type_choices(db.session.scalars(select(AppointmentType)))

    def add():
        values = {name: getattr(form, name).data for name in ITEM_VALUES}
        return service.save_item(
            None,
            dict(values, appointment_type_id=form.appointment_type_id.data),
            actor=acting_user(),
        )

    saved = save(
        form,
        add,
        message=lambda item: f"Question “{item.label}” added.",
        to=url_for(".checklist_items"),
    )
    return saved or _items_page(add_form=form, status=400)


@bp.post("/checklist-items/<int:item_id>")
@roles_required("admin")
def checklist_item_update(item_id: int):
    """Change a question's words or order, or stop asking it (answers given are kept)."""
    item = db.get_or_404(ChecklistItem, item_id)
    form = ChecklistItemForm(prefix=f"item{item_id}")
    form.appointment_type_id.choices = {item.appointment_type_id: ""}
    saved = save(
        form,
        lambda: service.save_item(
            item, {name: getattr(form, name).data for name in ITEM_VALUES}, actor=acting_user()
        ),
        message="Question saved.",
        to=url_for(".checklist_items"),
    )
    return saved or _items_page(failed=(item_id, form), status=400)


def _answers_page(appointment, form, status=200):
    return render_template(
        "schedule/checklist_answers.html",
        appointment=appointment,
        form=form,
        state=service.states_for([appointment]).get(appointment.id),
        answerable=service.answerable(appointment),
    ), status


@bp.route("/appointments/<int:appointment_id>/checklist", methods=["GET", "POST"])
@roles_required("frontdesk", "clinician")
def appointment_checklist(appointment_id: int):
    """Record the patient's pre-visit answers taken by phone (or correct them at check-in)."""
    appointment = load_appointment(appointment_id)
    items = service.items_for(appointment.appointment_type_id)
    if request.method == "GET":
        return _answers_page(
            appointment, checklist_form(items, service.answers_for(appointment.id))
        )
    form = checklist_form(items, from_request=True)
    saved = save(
        form,
        lambda: service.record_answers(
            appointment, form.answers(request.form), actor=acting_user()
        ),
        message="Checklist answers saved.",
        to=url_for(".appointment", appointment_id=appointment.id),
    )
    return saved or _answers_page(appointment, form, status=400)


@bp.app_template_global()
def checklist_at_check_in(appointment) -> dict:
    """The appointment page's checklist: its state in brief and each question with its answer."""
    items = service.items_for(appointment.appointment_type_id)
    answers = service.answers_for(appointment.id)
    return {
        "state": service.states_for([appointment]).get(appointment.id),
        "rows": [(item, answers.get(item.id)) for item in items],
    }
