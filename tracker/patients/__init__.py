"""The patients area: find, add and edit patients, the patient page, course actions, infusions.

The blueprint lives in blueprint.py; each view module adds its routes to it and none imports
another (the patient page, which the course actions show again after a refused POST, is built in
detail_page.py).
"""

from . import course_routes, infusion_routes, routes  # noqa: F401  (they add routes to bp)
from .blueprint import bp  # noqa: F401
