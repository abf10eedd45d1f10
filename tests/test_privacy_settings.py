"""Privacy at rest and in logs: file modes, hidden SQL parameters, a production base URL."""

import logging
import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy.exc import IntegrityError

from tracker import create_app
from tracker.config import InsecureConfigError
from tracker.extensions import db
from tracker.mail import build_message, send

from .conftest import TEST_DATABASE_URL

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD_KEY = "a-long-random-production-key-0123456789"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def usual_umask():
    """The common umask 022, under which files are world-readable unless made otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_sqlite_database_and_its_wal_are_owner_only(tmp_path, usual_umask):
    """A new SQLite database file, and the -wal file SQLite adds beside it, are created 0600."""
    path = tmp_path / "fresh.sqlite3"
    app = create_app(
        {"TESTING": True, "SECRET_KEY": GOOD_KEY, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    )
    try:
        with app.app_context():
            db.create_all()
            from tracker.services.clinic import ensure_settings

            ensure_settings()
            db.session.commit()
            assert mode(path) == 0o600
            wal = f"{path}-wal"
            assert os.path.exists(wal) and mode(wal) == 0o600
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_outbox_files_and_folder_are_owner_only(app_ctx, tmp_path, usual_umask):
    """The file backend makes the outbox folder 0700 and each .eml file 0600."""
    folder = tmp_path / "private-outbox"
    app_ctx.config["MAIL_OUTBOX_DIR"] = str(folder)
    send(
        build_message(
            to="ana@example.org", subject="Hello", text="Hi", html="<p>Hi</p>", sender_name="Clinic"
        )
    )
    (name,) = os.listdir(folder)
    assert mode(folder) == 0o700 and mode(folder / name) == 0o600


def test_sql_parameters_are_hidden_in_errors_and_logs(app, caplog):
    """A database error names the statement but never its parameters (names, MRNs). (The
    database's own detail line may still name the key that clashed: PostgreSQL's 'Key (mrn)=...'.)"""
    from .factories import make_patient

    caplog.set_level(logging.INFO)
    with app.app_context():
        assert db.engine.hide_parameters
        make_patient(mrn="SECRET-MRN-1", last_name="Secretname")
        db.session.commit()
        with pytest.raises(IntegrityError) as caught:
            make_patient(mrn="SECRET-MRN-1", last_name="Othersecret")
        db.session.rollback()
        logging.getLogger("tracker").error("database error: %s", caught.value)
    assert "SQL parameters hidden" in str(caught.value)
    assert "[SQL: INSERT INTO patients" in str(caught.value)
    for secret in ("Othersecret", "1980-05-17"):  # the new row's last name and date of birth
        assert secret not in str(caught.value) and secret not in caplog.text


@pytest.mark.parametrize(
    "base_url",
    [None, "", "http://127.0.0.1:5000", "http://localhost:8000", "tracker.clinic.example"],
)
def test_production_refuses_to_start_without_a_base_url(tmp_path, monkeypatch, base_url):
    """TRACKER_ENV=production with no base URL, the development default, a localhost address
    or a relative one: create_app refuses and says what to set."""
    monkeypatch.setenv("TRACKER_ENV", "production")
    config = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "SECRET_KEY": GOOD_KEY,
    }
    if base_url is not None:
        config["BASE_URL"] = base_url
    with pytest.raises(InsecureConfigError, match="TRACKER_BASE_URL"):
        create_app(config)


def test_production_starts_with_a_base_url(tmp_path, monkeypatch):
    """A public https base URL lets production start; outside production the default is fine."""
    monkeypatch.setenv("TRACKER_ENV", "production")
    uri = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": uri,
            "SECRET_KEY": GOOD_KEY,
            "BASE_URL": "https://tracker.clinic.example",
        }
    )
    assert app.config["BASE_URL"] == "https://tracker.clinic.example"
    monkeypatch.delenv("TRACKER_ENV")
    assert create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": GOOD_KEY}).config["BASE_URL"]


def test_production_command_line_refuses_without_base_url(tmp_path):
    """The real `flask` command in production exits 1 with the reason when TRACKER_BASE_URL is
    missing, and runs once it is set."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TRACKER_") and k != "FLASK_DEBUG"
    }
    env.update(
        TRACKER_ENV="production",
        TRACKER_SECRET_KEY=GOOD_KEY,
        DATABASE_URL=TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'cli.sqlite3'}",
    )
    command = [sys.executable, "-m", "flask", "--app", "tracker", "routes"]
    refused = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "Refusing to start: TRACKER_BASE_URL is not set" in refused.stderr
    env["TRACKER_BASE_URL"] = "https://tracker.clinic.example"
    started = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    assert "/unsubscribe/<token>" in started.stdout


def test_make_run_points_links_at_its_host_and_port():
    """`make run` gives every command it starts TRACKER_BASE_URL from HOST and PORT, unless it
    is set already (the flask commands are replaced by a probe printing what they would see).
    Each probe then waits a second: `make run` stops the background scheduler when the server
    command ends, and the scheduler's probe must have printed by then."""
    probe = "sh -c 'printenv TRACKER_BASE_URL; sleep 1' probe"
    command = [
        "make",
        "-s",
        "-o",
        ".venv/.requirements",
        "-o",
        "instance/config.py",
        "run",
        "HOST=127.0.0.2",
        "PORT=8080",
        f"FLASK={probe}",
    ]
    env = {k: v for k, v in os.environ.items() if k != "TRACKER_BASE_URL"}
    derived = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert derived.returncode == 0, derived.stderr
    assert (
        derived.stdout.count("http://127.0.0.2:8080\n") == 4
    )  # init-db, seed-demo, scheduler, run
    env["TRACKER_BASE_URL"] = "https://tracker.clinic.example"
    kept = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert kept.stdout.count("https://tracker.clinic.example\n") == 4
