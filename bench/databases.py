"""Where a bench clinic lives: a cached SQLite file, or a PostgreSQL database kept between runs.

Each store knows how to start empty, whether it already holds the clinic for a cache key, and
how to make a throw-away copy for measurements that change data (the reminder sweep).
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import sqlite3
import time

from .procs import ROOT

# The schema and the generated data decide what a cached clinic holds.
KEY_SOURCES = ("migrations/versions/*.py", "tracker/models/*.py", "tracker/importing/*.py",
               "bench/generate.py", "bench/build.py", "bench/history.py")


def schema_key() -> str:
    """A short hash of the migrations, models, importer and generator: the cache's code version."""
    digest = hashlib.sha256()
    for pattern in KEY_SOURCES:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            digest.update(os.path.relpath(path, ROOT).encode())
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()[:12]


class SQLiteStore:
    """A clinic in instance/bench/sqlite-p<N>-<key>.sqlite3, with its build facts beside it."""

    kind = "sqlite"

    def __init__(self, cache_dir: str, patients: int, key: str):
        self.cache_dir = cache_dir
        self.patients = patients
        self.key = key
        self.path = os.path.join(cache_dir, f"sqlite-p{patients}-{key}.sqlite3")
        self.building = os.path.join(cache_dir, f"building-p{patients}-{key}.sqlite3")
        self.meta_path = self.path[: -len(".sqlite3")] + ".json"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    @property
    def build_url(self) -> str:
        return f"sqlite:///{self.building}"

    def label(self) -> str:
        return f"SQLite {os.path.relpath(self.path, ROOT)}"

    def cached_meta(self) -> dict | None:
        """The build facts when this clinic is already built, else None."""
        if not (os.path.exists(self.path) and os.path.exists(self.meta_path)):
            return None
        with open(self.meta_path, encoding="utf-8") as handle:
            return json.load(handle)

    def start_empty(self) -> None:
        """Remove any half-built file and older caches of the same size."""
        os.makedirs(self.cache_dir, exist_ok=True)
        for path in glob.glob(os.path.join(self.cache_dir, f"*-p{self.patients}-*.*")):
            os.remove(path)

    def finish(self, meta: dict) -> None:
        """Fold the WAL into the file and move it into place with its build facts."""
        connection = sqlite3.connect(self.building)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.close()
        os.replace(self.building, self.path)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.building + suffix):
                os.remove(self.building + suffix)
        with open(self.meta_path, "w", encoding="utf-8") as handle:
            json.dump(meta, handle, indent=1)

    def scratch_copy(self, directory: str) -> "ScratchCopy":
        """A copy of the clinic to change freely; removed by the caller."""
        target = os.path.join(directory, os.path.basename(self.path))
        source = sqlite3.connect(self.path)
        copy = sqlite3.connect(target)
        with copy:
            source.backup(copy)
        source.close()
        copy.close()
        return ScratchCopy(f"sqlite:///{target}", lambda: _remove_sqlite(target))

    def floor_target(self) -> str:
        return self.path


def _remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


class ScratchCopy:
    """A throw-away database URL and how to drop it."""

    def __init__(self, url: str, drop):
        self.url = url
        self.drop = drop


class PostgresStore:
    """A clinic in one PostgreSQL database; its build facts in instance/bench/pg-<db>.json."""

    kind = "postgresql"

    def __init__(self, cache_dir: str, url: str, patients: int, key: str):
        from sqlalchemy.engine import make_url

        self.cache_dir = cache_dir
        self.patients = patients
        self.key = key
        self.sa_url = make_url(url)
        if self.sa_url.drivername in ("postgresql", "postgres"):
            self.sa_url = self.sa_url.set(drivername="postgresql+psycopg")
        self.database = self.sa_url.database
        self.meta_path = os.path.join(cache_dir, f"pg-{self.database}.json")

    def with_database(self, name: str, patients: int) -> "PostgresStore":
        """The same server, another database (the P/10 clinic)."""
        return PostgresStore(self.cache_dir, self._render(name), patients, self.key)

    def _render(self, database: str | None = None) -> str:
        url = self.sa_url if database is None else self.sa_url.set(database=database)
        return url.render_as_string(hide_password=False)

    @property
    def url(self) -> str:
        return self._render()

    build_url = url

    def label(self) -> str:
        return f"PostgreSQL database {self.database}"

    def libpq(self, database: str | None = None) -> str:
        """A psycopg connection string for this (or another) database on the server."""
        url = self.sa_url.set(drivername="postgresql")
        if database is not None:
            url = url.set(database=database)
        return url.render_as_string(hide_password=False)

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.libpq("postgres"), autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def cached_meta(self) -> dict | None:
        """The build facts when the database holds this clinic (key and patient count agree)."""
        if not os.path.exists(self.meta_path):
            return None
        with open(self.meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
        if meta.get("key") != self.key or meta.get("patients") != self.patients:
            return None
        import psycopg

        try:
            with psycopg.connect(self.libpq()) as connection:
                count = connection.execute("SELECT count(*) FROM patients").fetchone()[0]
        except psycopg.Error:
            return None
        return meta if count == self.patients else None

    def start_empty(self) -> None:
        """Drop and recreate the database, once it is clear the bench owns it."""
        os.makedirs(self.cache_dir, exist_ok=True)
        if not os.path.exists(self.meta_path) and self._table_count() > 0:
            raise RuntimeError(
                f"{self.label()} already holds tables that this benchmark did not create. The "
                "benchmark drops and rebuilds its database: give it an empty database of its own.")
        with open(self.meta_path, "w", encoding="utf-8") as handle:
            json.dump({"building": True}, handle)  # ours, even if this build is interrupted
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)',
                    f'CREATE DATABASE "{self.database}"')

    def _table_count(self) -> int:
        """Tables in the database's public schema (0 when the database does not exist)."""
        import psycopg

        try:
            with psycopg.connect(self.libpq()) as connection:
                return connection.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                ).fetchone()[0]
        except psycopg.OperationalError:
            return 0

    def finish(self, meta: dict) -> None:
        import psycopg

        with psycopg.connect(self.libpq(), autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
        with open(self.meta_path, "w", encoding="utf-8") as handle:
            json.dump(meta, handle, indent=1)

    def scratch_copy(self, directory: str) -> ScratchCopy:
        """CREATE DATABASE ... TEMPLATE: a copy to change freely, dropped afterwards."""
        import psycopg

        name = f"{self.database}_scratch"
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for attempt in range(60):
            try:
                self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.database}"')
                break
            except psycopg.errors.ObjectInUse:  # autovacuum still connected to the template
                if attempt == 59:
                    raise
                time.sleep(1)
        return ScratchCopy(self._render(name),
                           lambda: self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def floor_target(self) -> str:
        return self.libpq()


def remove_tree(path: str) -> None:
    """Remove a scratch directory, ignoring what is already gone."""
    shutil.rmtree(path, ignore_errors=True)
