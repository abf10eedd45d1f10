"""Blueprint registration: one blueprint per area."""
import importlib

AREAS = ("errors", "auth", "main", "patients", "worklist", "schedule", "reminders", "admin",
         "patient_links")


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
