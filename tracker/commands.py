"""Clinic data commands: seed-demo, import, due. Thin: parse, call, commit, print."""
import csv
import io
import json
import logging
import re
import sys
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .csv_safe import safe_row
from .extensions import db

log = logging.getLogger(__name__)
DUE_COLUMNS = ("mrn", "status", "anchor", "window_opens", "window_closes", "next_appointment")
ECHO_EVERY = 500
DUE_BATCH = 2000
PLAIN_TEXT_RE = re.compile(r"[A-Za-z0-9 ._:/+-]*")  # needs no JSON escaping


def _progressbar(length: int, label: str):
    return click.progressbar(length=length, label=label, file=sys.stderr, width=30)


@click.command("import")
@click.argument("patients_csv", type=click.Path(exists=True, dir_okay=False))
@click.argument("infusions_csv", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(patients_csv, infusions_csv):
    """Import PATIENTS_CSV and INFUSIONS_CSV: all or nothing; every bad row is reported."""
    from .importing.job import ClinicImport
    from .models import utcnow
    from .services.clinic import clinic_today, get_settings

    job = ClinicImport(patients_csv, infusions_csv, settings=get_settings(),
                       today=clinic_today(), now=utcnow())
    with _progressbar(job.total_bytes, "Checking ") as bar:
        job.patients.progress = job.infusions.progress = bar.update
        problems = job.check(db.session)
    if problems:
        db.session.rollback()
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found; "
                   "nothing was imported.", err=True)
        sys.exit(1)
    try:
        with _progressbar(job.total_bytes, "Importing") as bar:
            job.patients.progress = job.infusions.progress = bar.update
            summary = job.load(db.session)
        db.session.commit()
    except (SQLAlchemyError, RuntimeError) as error:
        db.session.rollback()
        log.error("import failed: %s", type(error).__name__)
        click.echo(f"The import failed ({type(error).__name__}); nothing was imported.", err=True)
        sys.exit(1)
    click.echo(
        f"Imported {summary.patients} patients and {summary.infusions} infusions: "
        f"{summary.in_maintenance} in maintenance, {summary.in_series} in their series; "
        f"{summary.boosters} boosters ({summary.early_boosters} early)."
    )


@click.command("due")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The date to compute statuses for (default: today at the clinic).")
@click.option("--format", "output_format", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True)
@with_appcontext
def due_command(on, output_format):
    """The maintenance status of every active patient on a date."""
    from .models import Patient
    from .services.clinic import clinic_today, get_settings
    from .status import clock_for, due_list

    settings = get_settings()
    day = on.date() if on else clinic_today()
    clock = clock_for(day, settings)
    statement = due_list(clock)
    width = None
    if output_format == "table":
        width = max(db.session.scalar(select(func.max(func.length(Patient.mrn)))) or 3, 3)
    # Core rows straight from the connection (no ORM row handling), fetched in batches.
    result = db.session.connection().execute(
        statement.execution_options(yield_per=DUE_BATCH, stream_results=True))
    try:
        records = _due_records(result, ZoneInfo(settings.timezone))
        if output_format == "json":
            lines = _json_lines(records)
        elif output_format == "csv":
            lines = _csv_lines(records)
        else:
            lines = _table_lines(records, width)
        _echo_stream(lines)
    finally:
        result.close()


def _due_records(rows, zone: ZoneInfo):
    """(mrn, status, anchor, window_opens, window_closes, next_appointment) as text or None.

    The dates already come as ISO text from the query (status.due_list); only the next
    appointment, an instant, is turned into clinic-local time here.
    """
    for mrn, status, anchor, opens, closes, start in rows:
        if status == "as_needed":  # as-needed maintenance has no window
            opens = closes = None
        yield (mrn, status, anchor or None, opens or None, closes or None,
               start.astimezone(zone).isoformat() if start else None)


def _json_lines(records):
    # One object per line, written by hand: every value but the MRN is a fixed word, an ISO
    # date or time, or null, so only the MRN needs JSON escaping (twice as fast as dumps).
    def text(value):
        return "null" if value is None else f'"{value}"'

    plain = PLAIN_TEXT_RE.fullmatch
    yield "["
    separator = "  "
    for mrn, status, anchor, opens, closes, start in records:
        mrn = f'"{mrn}"' if plain(mrn) else json.dumps(mrn)
        yield (f'{separator}{{"mrn": {mrn}, "status": "{status}", "anchor": {text(anchor)}, '
               f'"window_opens": {text(opens)}, "window_closes": {text(closes)}, '
               f'"next_appointment": {text(start)}}}')
        separator = ", "
    yield "]"


def _csv_lines(records):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="")
    writer.writerow(safe_row(DUE_COLUMNS))
    yield buffer.getvalue()
    for record in records:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(safe_row(record))
        yield buffer.getvalue()


def _table_lines(records, mrn_width: int):
    widths = (mrn_width, 18, 10, 10, 10, 16)
    titles = ("MRN", "STATUS", "ANCHOR", "OPENS", "CLOSES", "NEXT APPOINTMENT")

    def line(cells):
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()

    yield line(titles)
    yield line("-" * width for width in widths)
    for mrn, status, anchor, opens, closes, start in records:
        yield line((mrn, status, anchor or "-", opens or "-", closes or "-",
                    start[:16].replace("T", " ") if start else "-"))


def _echo_stream(lines) -> None:
    chunk = []
    for text in lines:
        chunk.append(text)
        if len(chunk) >= ECHO_EVERY:
            click.echo("\n".join(chunk))
            chunk = []
    if chunk:
        click.echo("\n".join(chunk))


@click.command("seed-demo")
@click.option("--patients", "patient_count", type=click.IntRange(1, 100000), default=40,
              show_default=True, help="How many demo patients to add.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has data.")
@with_appcontext
def seed_demo_command(patient_count, if_empty):
    """Add demo staff accounts, chairs, hours and patients in every state (for trying it out)."""
    import os

    from . import demo

    login_file = os.path.join(current_app.instance_path, "demo-login.txt")
    if if_empty and not demo.database_is_empty():
        click.echo("Database already has data; nothing seeded.")
        if os.path.exists(login_file):
            with open(login_file, encoding="utf-8") as handle:
                click.echo(handle.read().rstrip())
        return
    accounts = demo.ensure_accounts(login_file)
    booking = demo.ensure_booking_setup()
    with _progressbar(patient_count, "Seeding patients") as bar:
        added = demo.seed_patients(patient_count, progress=bar.update)
    db.session.commit()
    if booking:
        click.echo("Added 6 chairs, opening hours Mon-Fri 08:00-18:00 and two appointment types.")
    click.echo(f"Added {added} demo patients.")
    click.echo(demo.login_text(accounts, login_file))


def register(app):
    """Attach the clinic data commands to app.cli."""
    app.cli.add_command(import_command)
    app.cli.add_command(due_command)
    app.cli.add_command(seed_demo_command)
