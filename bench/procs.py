"""Run the project's own commands as child processes, timing them and reading their peak memory."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
FLASK = os.path.join(BIN, "flask") if os.path.exists(os.path.join(BIN, "flask")) else "flask"
# One secret key per bench run: the app refuses to start without one outside tests.
SECRET_KEY = "bench-" + secrets.token_hex(24)


@dataclass
class Finished:
    """What a measured child process did."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def flask_env(database_url: str, **extra: str) -> dict:
    """Environment for a `flask --app tracker` child bound to one database, no real mail."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("TRACKER_MAIL_"):
            del env[name]
    env.update({
        "DATABASE_URL": database_url,
        "TRACKER_SECRET_KEY": SECRET_KEY,
        "TRACKER_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": ROOT + os.pathsep + env.get("PYTHONPATH", ""),
    })
    env.pop("FLASK_DEBUG", None)
    env.update(extra)
    return env


def run_measured(args: list[str], env: dict, *, stdin: str | None = None,
                 stdout_path: str | None = None, timeout: float = 3600) -> Finished:
    """Run a command through bench.rss; wall time, and the command's own peak RSS."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
    fd, rss_path = tempfile.mkstemp(prefix="bench-rss-")
    os.close(fd)
    try:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bench.rss", rss_path, *args], env=env,
                                cwd=ROOT, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.PIPE)
        if stdin is not None:
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        # Read the pipes while waiting so a chatty child cannot block on a full pipe.
        stdout_bytes, stderr_bytes = _drain(proc, timeout)
        proc.wait()
        seconds = time.perf_counter() - started
        with open(rss_path, encoding="ascii") as handle:
            peak_kib = int(handle.read() or 0)
    finally:
        if stdout_path:
            out.close()
        os.remove(rss_path)
    return Finished(seconds, peak_kib / 1024.0, proc.returncode,
                    stdout_bytes.decode(errors="replace"), stderr_bytes.decode(errors="replace"))


def _drain(proc: subprocess.Popen, timeout: float) -> tuple[bytes, bytes]:
    """Read stdout/stderr to the end (the caller then waits for the child)."""
    import selectors

    chunks = {"out": [], "err": []}
    selector = selectors.DefaultSelector()
    if proc.stdout is not None:
        selector.register(proc.stdout, selectors.EVENT_READ, "out")
    selector.register(proc.stderr, selectors.EVENT_READ, "err")
    deadline = time.monotonic() + timeout
    while selector.get_map():
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"{' '.join(proc.args[:4])} ran longer than {timeout:.0f} s")
        for key, _ in selector.select(timeout=1):
            data = os.read(key.fileobj.fileno(), 65536)
            if data:
                chunks[key.data].append(data)
            else:
                selector.unregister(key.fileobj)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return b"".join(chunks["out"]), b"".join(chunks["err"])


def flask(database_url: str, *args: str, stdin: str | None = None, stdout_path: str | None = None,
          env_extra: dict | None = None, timeout: float = 3600) -> Finished:
    """`flask --app tracker ARGS` against one database, measured."""
    env = flask_env(database_url, **(env_extra or {}))
    return run_measured([FLASK, "--app", "tracker", *args], env, stdin=stdin,
                        stdout_path=stdout_path, timeout=timeout)


def python(module_args: list[str], env: dict, stdout_path: str | None = None) -> Finished:
    """`python -m ...` with this interpreter, measured."""
    return run_measured([sys.executable, *module_args], env, stdout_path=stdout_path)


def check(finished: Finished, what: str) -> Finished:
    """Raise with the child's own words when it failed."""
    if finished.returncode != 0:
        tail = (finished.stderr or finished.stdout).strip().splitlines()[-15:]
        raise RuntimeError(f"{what} failed (exit {finished.returncode}):\n" + "\n".join(tail))
    return finished
