"""The migrations build the same schema as the models, on SQLite and PostgreSQL."""
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from tracker import create_app
from tracker.extensions import db

from .scratch_databases import scratch_postgres_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture
def empty_database_url(tmp_path):
    """A brand-new empty database: a temp SQLite file, or a new PostgreSQL database."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    with scratch_postgres_database(TEST_DATABASE_URL, "mig") as url:
        yield url


def test_upgrade_to_head_matches_models(empty_database_url):
    """`upgrade` on an empty database leaves no difference for autogenerate to find."""
    app = create_app({"TESTING": True, "SECRET_KEY": "migration-test-secret-key",
                      "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
            tables = set(inspect(conn).get_table_names())
        db.engine.dispose()
    assert diff == []
    assert {t.name for t in db.metadata.sorted_tables} <= tables


def test_init_db_command_on_empty_database(empty_database_url):
    """`flask init-db` creates the schema and the clinic settings row."""
    app = create_app({"TESTING": True, "SECRET_KEY": "migration-test-secret-key",
                      "SQLALCHEMY_DATABASE_URI": empty_database_url})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "latest migration" in result.output
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM clinic_settings")).scalar() == 1
        db.session.remove()
        db.engine.dispose()
