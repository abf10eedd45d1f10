"""Checks of FHIR R4 documents: the fhir.resources models (structure, types, unknown fields)
and the rules they do not check (required codes from their value sets, invariants)."""

from datetime import datetime

from fhir.resources.R4B import get_fhir_model_class

# R4 value sets of the codes we send (the models accept any code string).
APPOINTMENT_STATUSES = {
    "proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
    "entered-in-error", "checked-in", "waitlist",
}  # fmt: skip
PARTICIPANT_STATUSES = {"accepted", "declined", "tentative", "needs-action"}
SLOT_STATUSES = {"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"}
FHIR_JSON = "application/fhir+json"


def valid(resource: dict) -> dict:
    """The resource, after its model accepted it and the R4 rules below hold; else raises."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    kind = resource["resourceType"]
    if kind == "Bundle":
        for entry in resource.get("entry", []):
            valid(entry["resource"])
    elif kind == "Appointment":
        assert resource["status"] in APPOINTMENT_STATUSES
        assert resource["participant"], "app: at least one participant"
        assert all(p["status"] in PARTICIPANT_STATUSES for p in resource["participant"])
        # app-2: start and end together or neither; app-3: only proposed or cancelled lack them
        assert ("start" in resource) == ("end" in resource)
        assert "start" in resource or resource["status"] in ("proposed", "cancelled")
    elif kind == "Slot":
        assert resource["status"] in SLOT_STATUSES
        assert resource["schedule"]["reference"].startswith("Schedule/")
        assert datetime.fromisoformat(resource["start"]) < datetime.fromisoformat(resource["end"])
    elif kind == "Schedule":
        assert resource["actor"], "Schedule.actor is 1..*"
    elif kind == "OperationOutcome":
        assert resource["issue"] and all(i["severity"] and i["code"] for i in resource["issue"])
    return resource


def read(response, status: int = 200) -> dict:
    """The response's FHIR document, checked: its status, its content type, its validity."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    return valid(response.get_json())
