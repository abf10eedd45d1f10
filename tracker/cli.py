"""Flask commands, thin: parse, call a service, commit, print."""
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .extensions import db
from .log_config import logged


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Apply every migration (creates the schema on a new database)."""
    from flask_migrate import upgrade

    from .services.clinic import ensure_settings

    upgrade(directory=current_app.extensions["migrate"].directory)
    ensure_settings()
    db.session.commit()
    click.echo("Database is at the latest migration.")


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["frontdesk", "clinician", "admin"]), required=True)
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user_command(email, role, name, password_stdin):
    """Create a staff account; asks for the password unless --password-stdin."""
    from .services.staff import StaffError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email=email, role=role, name=name, password=password)
    except StaffError as error:
        click.echo(f"{error.field}: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}.")


def register_cli(app):
    """Attach every command to app.cli."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(create_user_command)
    from .api.cli import register as register_api_commands
    from .commands import register as register_clinic_commands
    from .reminders.cli import register as register_reminder_commands

    register_clinic_commands(app)
    register_reminder_commands(app)
    register_api_commands(app)
    for command in app.cli.commands.values():
        logged(command)
