"""Logging in and out, the second factor, and each staff member's own account page.

The blueprint lives in blueprint.py; each view module adds its routes to it and none imports
another (the login steps they share live in login_flow.py and throttle.py).
"""

from . import account, routes, second_factor  # noqa: F401  (they add routes to bp)
from .blueprint import bp  # noqa: F401
