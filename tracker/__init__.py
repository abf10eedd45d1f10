"""Infusion Tracker: series, maintenance windows, chair bookings and reminders."""
from flask import Flask


def create_app(test_config=None):
    """Build the app: configure, bind extensions, register blueprints and CLI. Nothing else."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    from .config import load_config

    load_config(app, test_config)

    from .database import init_database
    from .extensions import csrf, db, login_manager, migrate

    init_database(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    from .security import init_security
    from .views import register_blueprints
    from .cli import register_cli
    from .formatting import init_formatting
    from .vocabulary import init_vocabulary

    init_security(app)
    init_formatting(app)
    init_vocabulary(app)
    register_blueprints(app)
    register_cli(app)
    return app


def _migrations_dir():
    import os

    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
