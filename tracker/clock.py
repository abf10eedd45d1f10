"""The app's one reading of the system clock.

Every "now" (`models.utcnow`) and every clinic "today" (`services.clinic.clinic_today`) comes
from `now()`, looked up when it is called; so a test freezes time by replacing this one
function, whichever module imported utcnow or clinic_today by name.
"""

from datetime import UTC, datetime


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)
