"""The schedule area: booking, the appointment page, moves, the day sheet and week, admin pages.

The blueprint lives in blueprint.py; each view module adds its routes to it and none imports
another (shared view helpers live in helpers.py, the booking page in slot_picker.py).
"""

from . import admin_views, appointment_views, checklist_views, routes, sheets  # noqa: F401  (they add routes to bp)
from .blueprint import bp  # noqa: F401
