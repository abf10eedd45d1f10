"""Reminder commands: `reminders run` and `scheduler`."""


def register(app):
    """Attach the reminder commands to app.cli."""
