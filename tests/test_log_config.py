"""Logging is set up by the process entry points (the flask commands, wsgi.py), not by create_app."""

import logging
import os
import subprocess
import sys

from tracker import create_app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLASK = os.path.join(os.path.dirname(sys.executable), "flask")


def _run(args, tmp_path, **env):
    """Run a program from the project root on a scratch SQLite database; its stderr."""
    environment = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{tmp_path / 'log.sqlite3'}",
        TRACKER_SECRET_KEY="log-config-test-" + "k" * 20,
        TRACKER_MAIL_OUTBOX_DIR=str(tmp_path / "outbox"),
        PYTHONPATH=ROOT,
        **env,
    )
    environment.pop("TEST_DATABASE_URL", None)
    result = subprocess.run(
        args, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stderr


def test_create_app_leaves_the_process_logging_alone(tmp_path):
    """Building an app adds no root handler and leaves the root level as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x" * 32,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'app.sqlite3'}",
        }
    )
    assert root.handlers == handlers
    assert root.level == level


def test_a_flask_command_logs_with_time_level_and_logger(tmp_path):
    """`reminders run` prints its sweep summary as a formatted INFO record on stderr."""
    _run([FLASK, "--app", "tracker", "init-db"], tmp_path)
    stderr = _run([FLASK, "--app", "tracker", "reminders", "run", "--dry-run"], tmp_path)
    lines = [line for line in stderr.splitlines() if " tracker.reminders." in line]
    assert lines, stderr
    assert " INFO tracker.reminders." in lines[0]


def test_the_command_log_level_comes_from_the_configuration(tmp_path):
    """TRACKER_LOG_LEVEL=WARNING silences the INFO records of a command."""
    _run([FLASK, "--app", "tracker", "init-db"], tmp_path)
    stderr = _run(
        [FLASK, "--app", "tracker", "reminders", "run", "--dry-run"],
        tmp_path,
        TRACKER_LOG_LEVEL="WARNING",
    )
    assert " INFO tracker." not in stderr


def test_wsgi_sets_up_logging_for_web_workers(tmp_path):
    """Importing wsgi.py (what gunicorn does) configures a root handler with the log format."""
    code = (
        "import logging, wsgi; root = logging.getLogger(); "
        "print(root.level, root.handlers[0].formatter._fmt)"
    )
    environment = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{tmp_path / 'w.sqlite3'}",
        TRACKER_SECRET_KEY="log-config-test-" + "k" * 20,
        TRACKER_LOG_LEVEL="WARNING",
        PYTHONPATH=ROOT,
    )
    environment.pop("TEST_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    level, fmt = result.stdout.strip().split(" ", 1)
    assert int(level) == logging.WARNING
    assert fmt == "%(asctime)s %(levelname)s %(name)s: %(message)s"
