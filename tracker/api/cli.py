"""`flask --app tracker create-api-token EMAIL --scope read|write`: prints the new token."""

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..extensions import db
from ..models import API_SCOPES, User
from ..services.errors import RuleError
from .tokens import issue_token


@click.command("create-api-token")
@click.argument("email")
@click.option(
    "--scope",
    type=click.Choice(API_SCOPES),
    required=True,
    help="read: look only; write: also book, move, cancel and confirm.",
)
@click.option("--name", default="", help="What the token is for.")
@with_appcontext
def create_api_token_command(email, scope, name):
    """Issue an API token acting as the staff member with this email; prints it once."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        click.echo(f"email: no staff account has the address {email}.", err=True)
        sys.exit(1)
    try:
        token, secret = issue_token(user, scope=scope, name=name, actor="cli")
    except RuleError as error:
        click.echo(f"{error.field}: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(secret)
    click.echo(
        f"Token {token.prefix}... acts as {user.email} ({user.role}), scope {scope}. "
        "It is shown only now; store it safely.",
        err=True,
    )


def register(app) -> None:
    """Attach the API's commands."""
    app.cli.add_command(create_api_token_command)
