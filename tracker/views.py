"""Blueprint registration: one blueprint per area."""
import importlib

AREAS = ("errors", "auth", "main", "patients", "search", "worklist", "schedule", "reminders", "admin",
         "patient_links", "api", "feeds", "webhooks", "fhir", "monitoring", "outcomes", "rems",
         "check_ins", "protocols")


def register_blueprints(app):
    """Import tracker.<area>.routes and register its `bp` for every area."""
    from .bounds import RecordIdConverter
    from .security import can

    app.jinja_env.globals["can"] = can
    app.url_map.converters["int"] = RecordIdConverter  # before any rule is added

    for area in AREAS:
        module = importlib.import_module(f"tracker.{area}.routes")
        app.register_blueprint(module.bp)
        # An area may also have routes outside its prefix and its login wall (e.g. unsubscribe).
        if hasattr(module, "public_bp"):
            app.register_blueprint(module.public_bp)
        for further in getattr(module, "blueprints", ()):
            app.register_blueprint(further)
    # No CSRF token on the API: only a bearer token authenticates it (tracker/api/auth.py
    # answers 401 to anything else), so a cross-site request has no cookie to borrow.
    from .api import bp as api_bp
    from .extensions import csrf

    csrf.exempt(api_bp)
