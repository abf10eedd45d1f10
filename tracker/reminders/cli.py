"""Reminder commands: `reminders run [--on DATE] [--dry-run]` and the long-running `scheduler`."""
import logging
import os
import signal
import socket
import threading
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

log = logging.getLogger(__name__)

reminders_cli = AppGroup("reminders", help="Patient reminders and the staff digest.")


@reminders_cli.command("run")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Run as DATE's sweep would, at the end of its send hours (clinic-local).")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; change nothing.")
def run_command(on, dry_run):
    """One reminder sweep: plan from the current facts, then send what is due.

    A manual run retries failed sends at once instead of waiting for their backoff.
    """
    from ..services.clinic import get_settings
    from .clock import Clock
    from .sending import run_sweep

    clock = Clock.on_date(on.date(), get_settings()) if on else None
    result = run_sweep(clock=clock, manual=True, dry_run=dry_run)
    for line in result.preview:
        click.echo(line)
    if dry_run:
        click.echo("Dry run: nothing was changed.")
    click.echo(result.summary())


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the reminder scheduler in this process until SIGTERM or Ctrl-C."""
    from ..extensions import db
    from ..jobs import build_scheduler
    from ..services.clinic import get_settings
    from .heartbeat import forget

    app = current_app._get_current_object()
    zone = ZoneInfo(get_settings().timezone)
    db.session.commit()
    db.session.remove()
    name = f"{socket.gethostname()[:60]}:{os.getpid()}"
    stop = threading.Event()
    busy = threading.Lock()
    scheduler = build_scheduler(app, zone, name, stop, busy)

    def request_stop(signum, frame):
        stop.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    click.echo(f"Scheduler {name}: reminder sweep every {app.config.get('SWEEP_MINUTES', 5)} min, "
               f"time zone {zone.key}. Stop with Ctrl-C or SIGTERM.")
    scheduler.start()
    # The running sweep sees `stop`, gives back its unsent claims and returns; wait for it.
    if busy.acquire(timeout=120):
        busy.release()
    forget(name)
    db.session.remove()
    click.echo("Scheduler stopped.")


def register(app):
    """Attach the reminder commands to app.cli."""
    app.cli.add_command(reminders_cli)
    app.cli.add_command(scheduler_command)
