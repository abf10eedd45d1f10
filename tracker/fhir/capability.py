"""The CapabilityStatement at /fhir/metadata: what this server reads and searches."""

from .params import DEFAULT_COUNT, MAX_COUNT

FHIR_VERSION = "4.0.1"
SOFTWARE_VERSION = "1.0.0"
RESOURCES = {
    "Patient": [
        ("identifier", "token", "the MRN"),
        ("name", "string", "name beginnings, in any order"),
        ("birthdate", "date", "YYYY-MM-DD"),
    ],
    "Appointment": [
        ("patient", "reference", "Patient/<id>"),
        ("date", "date", "a visit's start (eq, ge, gt, le, lt); windows have none"),
        ("requested-period", "date", "the unbooked windows touching the range"),
        ("status", "token", "stored codes; proposed for the unbooked windows"),
    ],
    "Location": [],
    "Schedule": [("active", "token", "true for chairs in use")],
    "Slot": [
        ("schedule", "reference", "Schedule/<chair id>"),
        ("start", "date", "default the next 7 days, at most 31"),
        ("status", "token", "free or busy"),
        ("service-type", "token", "an appointment type's code: the block length"),
    ],
}


def capability_statement(url: str) -> dict:
    """This server's CapabilityStatement (an instance: this installation)."""
    return {
        "resourceType": "CapabilityStatement",
        "url": url,
        "status": "active",
        "date": "2026-12-04",
        "publisher": "Infusion Tracker",
        "kind": "instance",
        "software": {"name": "Infusion Tracker", "version": SOFTWARE_VERSION},
        "implementation": {
            "description": "Infusion Tracker FHIR endpoint (read only)",
            "url": url.removesuffix("/metadata"),
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read only. Send an API token as 'Authorization: Bearer <token>'; "
                "front-desk tokens receive no clinical values. Searches return searchset Bundles "
                f"of _count resources (default {DEFAULT_COUNT}, at most {MAX_COUNT}); "
                "the Bundle's next link carries _offset.",
                "security": {
                    "cors": False,
                    "description": "Bearer API tokens, issued per staff user by an admin.",
                },
                "resource": [
                    {
                        "type": name,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": p, "type": t, "documentation": d} for p, t, d in params
                        ],
                    }
                    for name, params in RESOURCES.items()
                ],
            }
        ],
    }
