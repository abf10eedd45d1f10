"""Admins list and edit the clinic's protocols; a refused phase puts its message on the field."""

import re

from flask import Blueprint, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Protocol
from ..saving import acting_user, refused_status, save
from ..security import roles_required
from ..services import protocols as protocol_service
from ..services.errors import RuleError
from ..vocabulary import PHASE_ADVANCE, PHASE_RULE, PHASE_UNIT
from .forms import ProtocolForm

bp = Blueprint("protocols", __name__, url_prefix="/admin/protocols")
PHASE_FIELD = re.compile(r"phases-(\d+)-(\w+)")


@bp.get("/")
@roles_required("admin")
def index():
    """Every protocol with its phases in words."""
    protocol_service.ensure_templates()
    db.session.commit()
    protocols = db.session.scalars(
        select(Protocol)
        .options(selectinload(Protocol.phases))
        .order_by(Protocol.standard.desc(), Protocol.name)
    ).all()
    return render_template(
        "protocols/index.html",
        protocols=protocols,
        rules=PHASE_RULE,
        units=PHASE_UNIT,
        advances=PHASE_ADVANCE,
    )


def _fill(form: ProtocolForm, protocol: Protocol | None) -> None:
    """A fresh form from the saved protocol, with one spare row for a new phase."""
    if protocol is not None:
        form.name.data, form.description.data = protocol.name, protocol.description
        form.active.data = protocol.active
        plans = protocol_service.plans_of(protocol)
    else:
        plans = []
    while form.phases.entries:
        form.phases.pop_entry()
    for plan in plans:
        form.phases.append_entry(plan.__dict__)
    if len(form.phases.entries) < protocol_service.MAX_PHASES:
        form.phases.append_entry()


def _edit(protocol: Protocol | None):
    form = ProtocolForm()
    if request.method == "GET":
        _fill(form, protocol)
    rows = form.kept_rows()

    def change() -> Protocol:
        return protocol_service.save_protocol(
            protocol,
            actor=acting_user(),
            name=form.name.data or "",
            description=form.description.data or "",
            active=bool(form.active.data),
            phases=[form.phases.entries[index].form.plan() for index in rows],
        )

    def field_for(error: RuleError) -> str | None:
        # The service numbers the kept phases; the form numbers every row.
        match = PHASE_FIELD.fullmatch(error.field or "")
        if match is None or int(match.group(1)) >= len(rows):
            return error.field
        return f"phases-{rows[int(match.group(1))]}-{match.group(2)}"

    if request.method == "POST":
        saved = save(
            form, change, message="Protocol saved.", to=url_for(".index"), field_for=field_for
        )
        if saved:
            return saved
    status = refused_status(form) if request.method == "POST" else 200
    return render_template("protocols/edit.html", form=form, protocol=protocol), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def new():
    """A new protocol."""
    return _edit(None)


@bp.route("/<int:protocol_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit(protocol_id: int):
    """Edit a protocol's name and phases; courses already open walk the new phases from their
    next session."""
    protocol = db.get_or_404(Protocol, protocol_id)
    return _edit(protocol)
