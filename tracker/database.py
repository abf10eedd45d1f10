"""Engine settings per database: SQLite pragmas, busy timeout, write locks."""
import itertools
import os

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url

from .extensions import db


def init_database(app):
    """Bind Flask-SQLAlchemy with engine options fitting the configured database."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # Statement parameters are patient data (names, MRNs): never in a logged error message.
    options.setdefault("hide_parameters", True)
    if uri.startswith("sqlite"):
        create_private_sqlite_file(uri)
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("timeout", 30)
        connect_args.setdefault("check_same_thread", False)
        options["connect_args"] = connect_args
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)


SQLITE_FILE_MODE = 0o600


def create_private_sqlite_file(uri: str) -> None:
    """Create a missing SQLite database file readable by its owner only (0600) before SQLite
    would create it world-readable; SQLite gives its -wal and -shm files the same mode."""
    url = make_url(uri)
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:") or url.query.get("uri"):
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or os.path.exists(path):
        return
    try:  # noqa: SIM105
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE))
    except FileExistsError:  # another process made it first
        pass


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
