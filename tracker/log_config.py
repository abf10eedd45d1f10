"""Logging for the processes that run the app: set up once at their entry points.

create_app configures the application, not the process: a test, a bench or a host program
that builds an app keeps its own logging. wsgi.py (web workers) and the `flask` commands
(scheduler, reminders, import) call configure_logging before they do any work.
"""

import functools
import logging

import click
from flask import current_app

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str | int = "INFO") -> None:
    """Send log records to standard error with time, level and logger name, at `level`.

    A no-op when the process already has handlers (basicConfig's rule): a test runner's
    capture or a server's own configuration wins.
    """
    logging.basicConfig(level=level, format=LOG_FORMAT)
    # Alembic's plugin loader logs every plugin at INFO on each migration command.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def logged(command: click.Command) -> click.Command:
    """The command, set to configure logging (the app's LOG_LEVEL) before its own callback."""
    callback = command.callback

    @functools.wraps(callback or (lambda: None))
    def configured(*args, **kwargs):
        configure_logging(current_app.config["LOG_LEVEL"] if current_app else "INFO")
        return callback(*args, **kwargs) if callback is not None else None

    command.callback = configured
    return command
