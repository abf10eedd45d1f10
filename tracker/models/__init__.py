"""All models, importable from one place."""
from .clinic import AuditEvent, ClinicSettings
from .clinical import (
    COURSE_STATES, MODES, OPEN_STATES, OUTCOMES, Course, Infusion, Patient,
)
from .outbox import REMINDER_KINDS, REMINDER_STATUSES, Reminder, SchedulerHeartbeat
from .patient_links import PageHit, SlotHold
from .schedule import (
    ACTIVE_STATUSES, APPOINTMENT_STATUSES, CANCEL_REASONS, Appointment, AppointmentStatusChange,
    AppointmentType, Chair, ClosedDate, OpeningHours,
)
from .staff import ATTEMPT_OUTCOMES, ROLES, LoginAttempt, RecoveryCode, StaffSession, User
from .types import UTCDateTime, utcnow

__all__ = [
    "ACTIVE_STATUSES", "APPOINTMENT_STATUSES", "ATTEMPT_OUTCOMES", "AuditEvent", "Appointment",
    "AppointmentStatusChange", "AppointmentType", "CANCEL_REASONS", "COURSE_STATES", "Chair", "ClinicSettings", "ClosedDate",
    "Course", "Infusion", "LoginAttempt", "MODES", "OPEN_STATES", "OUTCOMES", "OpeningHours",
    "PageHit", "Patient", "REMINDER_KINDS", "REMINDER_STATUSES", "ROLES", "RecoveryCode",
    "Reminder", "SchedulerHeartbeat", "SlotHold", "StaffSession",
    "UTCDateTime", "User", "utcnow",
]
