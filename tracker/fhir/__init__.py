"""FHIR R4, read only, JSON, under /fhir: Patient, Appointment (stored visits and the unbooked
windows as proposed Appointments), Location, Schedule and Slot per chair, and the
CapabilityStatement at /fhir/metadata. The same API tokens and roles as /api/v1."""

from flask import Blueprint

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
