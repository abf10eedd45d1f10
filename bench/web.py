"""The worklist through a real gunicorn server on 127.0.0.1: latency and requests per second."""
from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from . import procs

USER_AGENT = "tracker-bench/1"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def free_port() -> int:
    """A port nobody listens on right now (loopback only)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving bench.wsgi_bench:app with N sync workers; a context manager."""

    def __init__(self, database_url: str, workers: int, log_path: str, bench_date):
        self.port = free_port()
        self.database_url = database_url
        self.workers = workers
        self.log_path = log_path
        self.bench_date = bench_date
        self.proc = None

    def __enter__(self) -> "Server":
        gunicorn = os.path.join(procs.BIN, "gunicorn")
        # The bench measures pages, not the admin's second login step: a password logs in.
        env = procs.flask_env(self.database_url, BENCH_DATE=self.bench_date.isoformat(),
                              TRACKER_TWO_FACTOR_REQUIRED_FOR_ADMINS="false")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [gunicorn, "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
             "--chdir", procs.ROOT, "--timeout", "120", "--graceful-timeout", "5",
             "bench.wsgi_bench:app"],
            env=env, cwd=procs.ROOT, stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            try:
                status, _headers, _body = Client(self.port).request("GET", "/health")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gunicorn did not answer on port {self.port}; see {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class Client:
    """A tiny HTTP client with a cookie jar; one new connection per request (sync workers)."""

    def __init__(self, port: int, cookies: dict | None = None):
        self.port = port
        self.cookies = dict(cookies or {})

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"User-Agent": USER_AGENT, "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            for value in response.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(value)
                for name, morsel in jar.items():
                    self.cookies[name] = morsel.value
            return response.status, dict(response.headers), payload
        finally:
            connection.close()

    def login(self, email: str, password: str) -> None:
        """GET the login form, scrape its CSRF token, POST the credentials; expect a redirect."""
        status, _headers, page = self.request("GET", "/login")
        match = CSRF_RE.search(page.decode(errors="replace"))
        if status != 200 or not match:
            raise RuntimeError(f"login form not found (status {status})")
        token = match.group(1) or match.group(2)
        status, _headers, _body = self.request(
            "POST", "/login", {"csrf_token": token, "email": email, "password": password})
        if status not in (302, 303):
            raise RuntimeError(f"login failed with status {status}")


@dataclass
class Latency:
    """Per-request milliseconds and the bytes a page had."""

    samples_ms: list
    size: int

    def pct(self, q: float) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def timed_gets(client: Client, paths: list[str], rounds: int, warmup: int = 3) -> Latency:
    """GET each path `rounds` times in turn (after a warm-up); milliseconds per request."""
    sizes = []
    for _ in range(warmup):
        for path in paths:
            client.request("GET", path)
    samples = []
    for _ in range(rounds):
        for path in paths:
            started = time.perf_counter()
            status, _headers, body = client.request("GET", path)
            samples.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
            sizes.append(len(body))
    return Latency(samples, int(statistics.mean(sizes)))


def deep_page(first_page: bytes, fallback: int = 1) -> int:
    """The last page: from the pager's "Page 1 of N", else the highest page it links to."""
    numbers = [int(n) for n in re.findall(rb"[?&;]page=(\d+)", first_page)]
    numbers += [int(n) for n in re.findall(rb"Page\s+\d+\s+of\s+(\d+)", first_page)]
    return max(numbers, default=fallback)


def throughput(client: Client, paths: list[str], seconds: float, max_requests: int,
               threads: int = 8) -> tuple[float, int]:
    """Requests per second from `threads` concurrent clients, bounded in time and count."""
    lock = threading.Lock()
    counts = {"ok": 0, "failed": 0, "issued": 0}
    deadline = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        own = Client(client.port, client.cookies)
        index = offset
        while time.perf_counter() < deadline:
            with lock:
                if counts["issued"] >= max_requests:
                    return
                counts["issued"] += 1
            try:
                status, _headers, _body = own.request("GET", paths[index % len(paths)])
            except (OSError, http.client.HTTPException):
                status = 0
            with lock:
                counts["ok" if status == 200 else "failed"] += 1
            index += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for offset in range(threads):
            pool.submit(worker, offset)
    elapsed = time.perf_counter() - started
    return counts["ok"] / elapsed, counts["failed"]


def worklist_figures(database_url: str, bench_date, admin_email: str, admin_password: str,
                     log_path: str, smoke: bool, echo) -> dict:
    """Latency of the worklist's first and deepest page vs the bare route, then load."""
    rounds = 10 if smoke else 60
    load_seconds = 2 if smoke else 10
    with Server(database_url, workers=2, log_path=log_path, bench_date=bench_date) as server:
        client = Client(server.port)
        client.login(admin_email, admin_password)
        status, _headers, first = client.request("GET", "/worklist/")
        if status != 200:
            raise RuntimeError(f"GET /worklist/ answered {status}")
        last = deep_page(first)
        paths = ["/worklist/"] + ([f"/worklist/?page={last}"] if last > 1 else [])
        worklist = timed_gets(client, paths, rounds)
        bare = timed_gets(client, [f"/_bench/bare?size={worklist.size}"], rounds * len(paths))
        first_only = [s for i, s in enumerate(worklist.samples_ms) if i % len(paths) == 0]
        deep_only = [s for i, s in enumerate(worklist.samples_ms) if i % len(paths) == 1]
        echo(f"# worklist: first page p50 {statistics.median(first_only):.1f} ms"
             + (f", deep page {last} p50 {statistics.median(deep_only):.1f} ms" if deep_only else "")
             + f", {worklist.size} bytes a page; bare route p50 {bare.pct(50):.1f} ms")
        rps, failed = throughput(client, paths, load_seconds, 20000)
        bare_rps, bare_failed = throughput(client, [f"/_bench/bare?size={worklist.size}"],
                                           load_seconds, 20000)
        if failed or bare_failed:
            echo(f"# load: {failed} worklist and {bare_failed} bare requests failed")
    return {
        "worklist_p50_ms": worklist.pct(50), "worklist_p95_ms": worklist.pct(95),
        "bare_p50_ms": bare.pct(50), "worklist_rps": rps, "bare_rps": bare_rps,
        "deep_page": last,
    }
