"""Appointments: find free chair time (slots), book one or a series (bookings), change status
and complete (transitions).

Services flush, the view commits. Every public name is importable from here.
"""
from ... import booking  # noqa: F401  (tests reach the pure rules through this package)
from .bookings import (  # noqa: F401
    APPOINTMENT_FIELDS, EXCLUSION_VIOLATION, SERIES_AHEAD_DAYS, SeriesPlan, actor_id, book, book_series,
    new_uid,
)
from .moves import MOVE_REASON_LABELS, Move, move_appointment  # noqa: F401
from .slots import (  # noqa: F401
    CHUNK_DAYS, NEARBY_DAYS, SEARCH_DAYS, DayStarts, SlotSearch, active_blocks, active_chairs, active_types, chair_slots,
    clinic_rules, clinicians, day_bounds, day_starts, default_type, free_slots, length_of, search_slots,
)
from .transitions import (  # noqa: F401
    CANCEL_REASON_LABELS, COMPLETABLE, STATUS_LABELS, TRANSITIONS, can_complete, change_status, complete,
    fulfil_from_infusion, not_completable, reschedule,
)
from .transitions import RESCHEDULABLE, can_reschedule  # noqa: F401
from .closed_days import cancel_visits_on, visits_on  # noqa: F401
from .transitions import DONE_MESSAGES, actions_now, clock_problem, mark  # noqa: F401
from ..courses import open_course_for  # noqa: F401
