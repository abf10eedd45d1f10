"""Clinic data commands: seed-demo, import, due."""


def register(app):
    """Attach the clinic data commands to app.cli."""
