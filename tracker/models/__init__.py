"""All models, importable from one place."""
from .api import API_SCOPES, ApiToken
from .clinic import AuditEvent, ClinicSettings
from .feeds import FEED_KINDS, CalendarFeed
from .check_ins import (
    CHECK_IN_DEFAULTS, DUE_REASONS, DUE_STATES, RELIEF_ANSWERS, CheckInResponse, CheckInSettings, ClinicallyDue,
)
from .checklist import ChecklistAnswer, ChecklistItem
from .clinical import (
    COURSE_STATES, MODES, OPEN_STATES, OUTCOMES, Course, Infusion, Patient,
)
from .monitoring import (
    MEASURES, POSSIBLE_RANGES, READING_KINDS, MonitoringReading, MonitoringSettings, MonitoringSheet,
)
from .protocols import Protocol, ProtocolPhase
from .rems import RemsCourse, RemsForm
from .outcomes import INSTRUMENTS, MEASURE_SOURCES, OutcomeMeasure
from .outreach import OUTREACH_OUTCOMES, OutreachAttempt
from .outbox import REMINDER_KINDS, REMINDER_STATUSES, Reminder, SchedulerHeartbeat
from .patient_links import PageHit, SlotHold
from .schedule import (
    ACTIVE_STATUSES, APPOINTMENT_STATUSES, CANCEL_REASONS, Appointment, AppointmentStatusChange,
    AppointmentType, Chair, ClosedDate, OpeningHours,
)
from .staff import ATTEMPT_OUTCOMES, ROLES, LoginAttempt, RecoveryCode, StaffSession, User
from .types import UTCDateTime, utcnow
from .waitlist import WaitlistEntry, WaitlistOffer
from .webhooks import DELIVERY_STATUSES, WEBHOOK_EVENTS, WebhookDelivery, WebhookEndpoint

__all__ = [
    "API_SCOPES", "ApiToken", "CalendarFeed", "CHECK_IN_DEFAULTS", "CheckInResponse", "CheckInSettings", "ClinicallyDue",
    "DUE_REASONS", "DUE_STATES", "RELIEF_ANSWERS", "ChecklistAnswer", "ChecklistItem", "DELIVERY_STATUSES", "FEED_KINDS", "WEBHOOK_EVENTS",
    "WebhookDelivery", "WebhookEndpoint",
    "ACTIVE_STATUSES", "APPOINTMENT_STATUSES", "ATTEMPT_OUTCOMES", "AuditEvent", "Appointment", "AppointmentStatusChange",
    "AppointmentType", "CANCEL_REASONS", "COURSE_STATES", "Chair", "ClinicSettings", "ClosedDate",
    "Course", "Infusion", "INSTRUMENTS", "MEASURES", "MEASURE_SOURCES", "MonitoringReading",
    "MonitoringSettings", "MonitoringSheet", "OutcomeMeasure", "POSSIBLE_RANGES", "READING_KINDS", "LoginAttempt", "MODES", "OPEN_STATES", "OUTCOMES", "OUTREACH_OUTCOMES",
    "OpeningHours", "OutreachAttempt", "PageHit", "Patient", "Protocol", "ProtocolPhase", "REMINDER_KINDS", "REMINDER_STATUSES",
    "ROLES", "RecoveryCode", "RemsCourse", "RemsForm", "Reminder", "SchedulerHeartbeat", "SlotHold",
    "StaffSession",
    "UTCDateTime", "User", "WaitlistEntry", "WaitlistOffer", "utcnow",
]
