"""The API blueprint with every operation registered on it."""

from . import appointments, auth, bp, openapi, patients, problems, worklist  # noqa: F401  (they register on bp)
from .admin_routes import admin_bp

problems.register(bp)

# Further blueprints of this area, registered beside bp (tracker/views.py).
blueprints = (admin_bp,)

__all__ = ["blueprints", "bp"]
