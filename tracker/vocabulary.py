"""The clinic's words for the code's values: one glossary of labels for every page and email.

Status codes (`pending`, `noshow`, `on_hold` ...) never reach a page; templates write
`value|label('appointment_status')` and views and services read the dictionaries here.
Pure data: nothing here imports Flask or the database.
"""

from __future__ import annotations

from typing import Any

MAINTENANCE_STATUS = {
    "series_in_progress": "Series in progress",
    "interrupted": "Series interrupted",
    "not_yet_due": "Not yet due",
    "due": "Due",
    "overdue": "Overdue",
    "lapsed": "Lapsed",
    "as_needed": "As needed",
    "on_hold": "On hold",
}
APPOINTMENT_STATUS = {
    "pending": "booked, not yet confirmed",
    "booked": "confirmed",
    "arrived": "arrived",
    "fulfilled": "completed",
    "cancelled": "cancelled",
    "noshow": "no-show",
    "entered-in-error": "entered in error",
}
CANCEL_REASON = {
    "patient": "Patient cancelled",
    "clinic": "Clinic cancelled",
    "clinical": "Clinical reason",
    "late-cancel": "Late cancellation",
}
OUTCOME = {"completed": "Completed", "stopped_early": "Stopped early", "not_started": "Not started"}
MODE = {"scheduled": "Scheduled (a window)", "as_needed": "As needed (no window)"}
# Protocol phases (services/protocols.py): the next-session rule, the unit and how it ends.
PHASE_RULE = {
    "series": "Series (no window)",
    "window": "Window",
    "cadence": "Cadence",
}
PHASE_UNIT = {"sessions": "Sessions", "weeks": "Weeks"}
PHASE_ADVANCE = {
    "count": "By count (sessions)",
    "time": "By time (weeks)",
    "clinician": "By a clinician",
}
COURSE_STATE = {
    "series_in_progress": "Series in progress",
    "maintenance": "Maintenance",
    "on_hold": "On hold",
    "discharged": "Discharged",
    "entered_in_error": "Entered in error",
}
REMINDER_KIND = {
    "window_upcoming": "Window opening soon",
    "window_closing": "Window closing soon",
    "appointment": "Appointment",
    "visit_booked": "Visit booked",
    "visit_moved": "Visit moved",
    "visit_cancelled": "Visit cancelled",
    "visit_booked_online": "Visit booked online",
    "reactivation": "Time to book again",
    "waitlist_offer": "Waitlist offer",
    "check_in": "Check-in",
    "staff_digest": "Staff digest",
}
# What patients did from their own links (counted in the staff digest).
PATIENT_ACTION = {
    "booked_online": "Booked online",
    "confirmed": "Confirmed",
    "moved": "Moved",
    "cancelled": "Cancelled",
    "call_me": "Asked to be called",
}
# Why a patient became clinically due (tracker/check_ins): in words the front desk may see.
DUE_REASON = {
    "relief_worn_off": "Says their relief has worn off",
    "visit_requested": "Asks for a visit",
    "phq9_threshold": "A check-in score crossed a clinic rule",
    "pain_returned": "A check-in score crossed a clinic rule",
}
REMINDER_STATUS = {
    "pending": "Waiting to send",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "skipped": "Not sent",
}
ROLE = {"frontdesk": "Front desk", "clinician": "Clinician", "admin": "Admin"}

# Plain words for the glossary's terms where staff read them.
TERMS = {
    "anchor_date": "Last maintenance infusion",
    "qualifying_count": "Completed infusions",
    "series_infusion": "Series infusion",
    "booster": "Maintenance infusion",
    "window_opens": "Window opens",
    "window_closes": "Window closes",
    "overdue_from": "Overdue from",
    "lapsed_from": "Lapsed from",
}

# The audit trail's words: record types, actions and field names.
ENTITY = {
    "patient": "Patient",
    "course": "Course",
    "infusion": "Infusion",
    "appointment": "Appointment",
    "appointment_type": "Appointment type",
    "chair": "Chair",
    "closed_date": "Closed date",
    "opening_hours": "Opening hours",
    "clinic_settings": "Clinic settings",
    "user": "Staff account",
    "reminder": "Reminder",
    "import": "Import",
    "monitoring_sheet": "Monitoring sheet",
    "monitoring_reading": "Monitoring reading",
    "monitoring_settings": "Monitoring settings",
    "outcome_measure": "Outcome measure",
    "checklist_item": "Pre-visit question",
    "checklist_answer": "Pre-visit answer",
    "check_in": "Check-in",
    "check_in_settings": "Check-in settings",
    "clinically_due": "Clinically due",
    "protocol": "Protocol",
}
ACTION = {
    "create": "Added",
    "update": "Changed",
    "delete": "Removed",
    "hold": "Put on hold",
    "resume": "Resumed",
    "discharge": "Discharged",
    "end_series": "Series ended early",
    "restart": "Series restarted",
    "interval": "Interval changed",
    "mode": "Mode changed",
    "series_planned": "Series size changed",
    "reschedule": "Moved",
    "status": "Status changed",
    "import": "Imported",
    "seed": "Demo data loaded",
    "reset_password": "Password reset",
    "unlock": "Unlocked",
    "login_locked": "Login held after failed attempts",
    "opt_out": "Opted out of email",
    "entered_in_error": "Entered in error",
    "end_series_early": "Series ended early",
    "return_to_phase": "Returned to an earlier phase",
    "advance_phase": "Moved on to the next phase",
    "revoke": "Revoked",
    "accepted": "Accepted",
    "dismissed": "Dismissed",
}
FIELD = {
    "answer": "Answer",
    "driver_name": "Driver's name",
    "driver_phone": "Driver's phone",
    "item": "Question",
    "label": "Label",
    "prompt": "Question",
    "asks_driver": "Asks for a driver",
    "mrn": "MRN",
    "first_name": "First name",
    "last_name": "Last name",
    "date_of_birth": "Date of birth",
    "email": "Email",
    "phone": "Phone",
    "email_consent": "Email consent",
    "consent_recorded_at": "Consent recorded",
    "email_opt_out": "Opted out of email",
    "email_opt_out_at": "Opted out of email",
    "indication": "Indication",
    "state": "State",
    "mode": "Maintenance mode",
    "series_planned": "Infusions in the series",
    "min_days": "Window opens after (days)",
    "max_days": "Window closes after (days)",
    "opened_on": "Opened",
    "closed_on": "Closed",
    "series_ended_early": "Series ended early",
    "protocol_id": "Protocol",
    "phase_position": "Phase",
    "phase_entry_position": "Phase set by a clinician",
    "phase_entry_on": "Phase set on",
    "phases": "Phases",
    "hold_reason": "Reason for the hold",
    "resume_on": "Back on the worklist on",
    "state_before_hold": "State before the hold",
    "discharge_reason": "Reason for discharge",
    "last_qualifying_on": "Last completed infusion",
    "given_at": "Given at",
    "given_on": "Date given",
    "outcome": "Outcome",
    "counts_toward_series": "Counts toward the series",
    "weight_kg": "Weight (kg)",
    "dose_mg_per_kg": "Dose (mg/kg)",
    "total_mg": "Total mg",
    "duration_min": "Duration (min)",
    "pain_before": "Pain before",
    "pain_after": "Pain after",
    "bp_systolic": "Blood pressure (systolic)",
    "bp_diastolic": "Blood pressure (diastolic)",
    "heart_rate": "Heart rate",
    "spo2": "SpO2",
    "adverse_effects": "Adverse effects",
    "notes": "Notes",
    "early_reason": "Reason for an early infusion",
    "start_at": "Starts",
    "end_at": "Ends",
    "status": "Status",
    "chair_id": "Chair",
    "clinician_id": "Clinician",
    "appointment_type_id": "Appointment type",
    "cancel_reason": "Cancellation reason",
    "reason": "Reason",
    "on": "Date",
    "name": "Name",
    "position": "Position",
    "active": "Active",
    "role": "Role",
    "locked_until": "Locked until",
    "prep_min": "Preparation (min)",
    "infusion_min": "Infusion (min)",
    "recovery_min": "Recovery (min)",
    "clinic_name": "Clinic name",
    "display_name": "Display and sender name",
    "address": "Address",
    "timezone": "Time zone",
    "date_style": "Date style",
    "time_style": "Time style",
    # The monitoring sheet and outcome measures (tracker/monitoring, tracker/outcomes)
    "kind": "Reading",
    "taken_at": "Taken at",
    "respiratory_rate": "Respiratory rate",
    "sedation": "Sedation (MOAA/S)",
    "dissociation": "Dissociation (CADSS-6)",
    "flags": "Flagged",
    "started_at": "Session started",
    "stopped_at": "Monitoring stopped",
    "ready_to_leave_at": "Ready to leave",
    "released_at": "Discharged",
    "released_by_id": "Released by",
    "released_to": "Left with",
    "interval_min": "Minutes between interval readings",
    "instrument": "Instrument",
    "answers": "Answers",
    "complete": "Complete",
    "score": "Score",
    "band": "Band",
    "source": "How the answers were taken",
    # Check-ins and clinically-due entries (tracker/check_ins)
    "relief_worn_off": "Relief worn off",
    "visit_requested": "Asked for a visit",
    "session_on": "After the session of",
    "enabled": "Check-ins on",
    "days": "Days after each session",
    "instruments": "Questions asked",
    "phq9_threshold": "PHQ-9 rule (at least)",
    "pain_return_percent": "Pain rule (within % of baseline)",
    "decided_at": "Decided",
    "dismiss_reason": "Reason for dismissing",
    **TERMS,
}

VOCABULARIES: dict[str, dict[str, str]] = {
    "maintenance_status": MAINTENANCE_STATUS,
    "appointment_status": APPOINTMENT_STATUS,
    "cancel_reason": CANCEL_REASON,
    "outcome": OUTCOME,
    "mode": MODE,
    "course_state": COURSE_STATE,
    "reminder_kind": REMINDER_KIND,
    "reminder_status": REMINDER_STATUS,
    "role": ROLE,
    "entity": ENTITY,
    "action": ACTION,
    "field": FIELD,
    "due_reason": DUE_REASON,
}


def label(value: Any, vocabulary: str) -> str:
    """The clinic's word for `value` in one vocabulary; an unknown code is written in words
    (underscores as spaces, first letter capital) rather than shown raw."""
    if value is None:
        return "—"
    known = VOCABULARIES[vocabulary].get(str(value))
    if known is not None:
        return known
    return str(value).replace("_", " ").replace("-", " ").capitalize()


def init_vocabulary(app) -> None:
    """The `|label(vocabulary)` filter for templates and mail."""
    app.jinja_env.filters["label"] = label
