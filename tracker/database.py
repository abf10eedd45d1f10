"""Engine settings per database: SQLite pragmas, busy timeout, write locks."""
import itertools

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from .extensions import db


def init_database(app):
    """Bind Flask-SQLAlchemy with engine options fitting the configured database."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("timeout", 30)
        connect_args.setdefault("check_same_thread", False)
        options["connect_args"] = connect_args
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Foreign keys on, WAL for concurrent readers, on every new SQLite connection."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL survives application crashes; it only risks the last commits on
        # power loss, and makes the one-commit-per-sent-reminder pattern cheap.
        cursor.execute("PRAGMA synchronous=NORMAL")
    except Exception:  # in-memory databases have no WAL; nothing to do
        pass
    cursor.close()


def lock_for_write(session):
    """Take the database write lock now, so a check-then-insert cannot race.

    SQLite: a no-op UPDATE starts the write transaction (other writers wait on the busy
    timeout). PostgreSQL: callers rely on constraints and row locks instead, so nothing here.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE clinic_settings SET id = id WHERE id = 1"))


def is_postgres(session) -> bool:
    """True when the session talks to PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"


_CONNECTION_NUMBERS = itertools.count(1)  # names each SQLite connection for data_version


def data_version(session):
    """A token equal for two reads only if no data changed in between; None when unknown.

    Lets a caller keep something derived from the data (the worklist's part counts) until
    anything is committed. SQLite: the connection's own changes (`total_changes()`, which
    never goes back, even on rollback) and other connections' commits (`PRAGMA
    data_version`), per connection. PostgreSQL: the current snapshot, which changes when
    any transaction commits. None inside a transaction that has written (its changes could
    still be rolled back), on other databases, and on SQLite inside an open transaction.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is None or raw.in_transaction:
            return None
        identity = connection.info.setdefault("data_version_id", next(_CONNECTION_NUMBERS))
        own, others = connection.exec_driver_sql(
            "SELECT total_changes(), data_version FROM pragma_data_version()").one()
        return ("sqlite", identity, own, others)
    if dialect == "postgresql":
        snapshot, written = connection.exec_driver_sql(
            "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()").one()
        # The snapshot is the cluster's: the database's name keeps two databases apart.
        return None if written is not None else ("postgresql", connection.engine.url.database, snapshot)
    return None
