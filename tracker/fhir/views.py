"""FHIR interactions: who may call (the API's tokens), the CapabilityStatement, and Patient,
Location and Schedule reads and searches. Appointment and Slot live in their own modules."""

import json
from datetime import date

from flask import g, request, url_for
from sqlalchemy import func, select

from ..api.auth import bearer_caller
from ..extensions import db
from ..models import Chair, Patient
from ..services import search
from ..services.appointments import active_types
from ..services.clinic import clinic_today, get_settings
from . import bp
from .capability import capability_statement
from .outcomes import FHIR_JSON, FhirError
from .params import paging, record_id, tokens
from .resources import location_resource, patient_resource, schedule_resource, searchset

PUBLIC_ENDPOINTS = ("fhir.metadata",)
MAX_ID_LENGTH = 64  # FHIR ids are at most 64 characters


@bp.before_request
def authenticate():
    """Every interaction but the CapabilityStatement needs a live API token (its user's role
    decides what is shown); the server only reads."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    bearer_caller()
    return None


def may_see_clinical() -> bool:
    """Clinicians and admins see clinical values; front desk tokens never receive them."""
    return g.api_user.has_role("clinician")


def fhir_json(resource: dict, status: int = 200):
    """The resource as application/fhir+json, not cached by shared caches (the standard
    library's JSON: keys in the order written, resourceType first, as FHIR examples read)."""
    return (
        json.dumps(resource),
        status,
        {"Content-Type": FHIR_JSON, "Cache-Control": "private, no-store"},
    )


def page_links(endpoint: str, *, count: int, offset: int, more: bool) -> dict[str, str]:
    """The Bundle's self link, and its next link when there is a further page."""
    args = request.args.to_dict()
    links = {"self": url_for(endpoint, _external=True, **args)}
    if more:
        args.update(_count=str(count), _offset=str(offset + count))
        links["next"] = url_for(endpoint, _external=True, **args)
    return links


def resource_row(model, resource_id: str, what: str):
    """The stored row a numeric resource id names; a 404 OperationOutcome otherwise."""
    row_id = record_id(resource_id) if len(resource_id) <= MAX_ID_LENGTH else None
    found = db.session.get(model, row_id) if row_id is not None else None
    if found is None:
        raise FhirError(404, f"There is no {what} with this id.")
    return found


@bp.get("/metadata")
def metadata():
    """The CapabilityStatement: what this server reads and searches (needs no token)."""
    return fhir_json(capability_statement(url_for("fhir.metadata", _external=True)))


@bp.get("/Patient/<resource_id>")
def patient(resource_id: str):
    """One patient's demographics."""
    return fhir_json(patient_resource(resource_row(Patient, resource_id, "patient")))


@bp.get("/Patient")
def patients():
    """Patients by `identifier` (the MRN), `name` (as the header search finds names),
    `birthdate` (YYYY-MM-DD); every patient when none is given."""
    count, offset = paging(request.args)
    statement = select(Patient).order_by(Patient.last_name, Patient.first_name, Patient.id)
    name = " ".join(request.args.get("name", "").split())
    if name:
        query = search.parse(name, date_order=get_settings().date_order, today=clinic_today())
        found = search.patients_statement(query) if query.name_tokens else None
        if found is None:
            raise FhirError(400, "Give name as one or more name beginnings.", "name")
        statement = found
    identifiers = tokens(request.args.get("identifier", ""))
    if identifiers:
        statement = statement.where(Patient.mrn.in_(identifiers))
    born = request.args.get("birthdate", "")
    if born:
        try:
            statement = statement.where(Patient.date_of_birth == date.fromisoformat(born))
        except ValueError:
            raise FhirError(400, "Give birthdate as YYYY-MM-DD.", "birthdate") from None
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = db.session.scalars(statement.offset(offset).limit(count)).all() if count else []
    return fhir_json(
        searchset(
            [patient_resource(p) for p in rows],
            total=total or 0,
            links=page_links(
                "fhir.patients", count=count, offset=offset, more=offset + count < (total or 0)
            ),
        )
    )


def _chairs() -> list[Chair]:
    return list(db.session.scalars(select(Chair).order_by(Chair.position, Chair.name, Chair.id)))


@bp.get("/Location/<resource_id>")
def location(resource_id: str):
    """One chair as a Location."""
    return fhir_json(location_resource(resource_row(Chair, resource_id, "chair")))


@bp.get("/Location")
def locations():
    """Every chair as a Location, in the clinic's order."""
    count, offset = paging(request.args)
    chairs = _chairs()
    return fhir_json(
        searchset(
            [location_resource(c) for c in chairs[offset : offset + count]],
            total=len(chairs),
            links=page_links(
                "fhir.locations", count=count, offset=offset, more=offset + count < len(chairs)
            ),
        )
    )


@bp.get("/Schedule/<resource_id>")
def schedule(resource_id: str):
    """One chair's Schedule."""
    return fhir_json(schedule_resource(resource_row(Chair, resource_id, "chair"), active_types()))


@bp.get("/Schedule")
def schedules():
    """Every chair's Schedule, in the clinic's order; `active=true` for chairs in use."""
    count, offset = paging(request.args)
    chairs = _chairs()
    active = request.args.get("active", "")
    if active not in ("", "true", "false"):
        raise FhirError(400, "Give active as true or false.", "active")
    if active:
        chairs = [c for c in chairs if c.active == (active == "true")]
    kinds = active_types()
    return fhir_json(
        searchset(
            [schedule_resource(c, kinds) for c in chairs[offset : offset + count]],
            total=len(chairs),
            links=page_links(
                "fhir.schedules", count=count, offset=offset, more=offset + count < len(chairs)
            ),
        )
    )
