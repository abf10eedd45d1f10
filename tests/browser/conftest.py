"""Browser fixtures: the app served for real in a thread, Debian's Chromium through Playwright."""
import os
import threading

import pytest
from werkzeug.serving import make_server

from tracker.extensions import db

from ..conftest import build_app
from ..factories import DEFAULT_PASSWORD, make_user

CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright_browser():
    """One headless Chromium for the run; skipped (outside CI) when it is not installed."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


class LiveServer:
    """The real app on a free port of 127.0.0.1, served by werkzeug in a thread."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture
def live_app(tmp_path):
    """An app with CSRF on (as in production) and a fresh database."""
    app = build_app(tmp_path, WTF_CSRF_ENABLED=True)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live_server(live_app):
    """The live server; reminder emails link back to it."""
    with LiveServer(live_app) as server:
        live_app.config["BASE_URL"] = server.url
        yield server


@pytest.fixture
def page(playwright_browser, live_server):
    """A fresh browser context and page; base_url is the live server."""
    context = playwright_browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def staff(live_app):
    """staff('clinician') creates an account and returns (email, password)."""

    def _staff(role: str, email: str | None = None):
        with live_app.app_context():
            user = make_user(role=role, email=email)
            db.session.commit()
            return user.email, DEFAULT_PASSWORD

    return _staff


class Journey:
    """One person's way through the app: every request is noted, every page checked by axe."""

    def __init__(self, page, origin: str, test: str, tmp_path):
        self.page = page
        self.origin = origin
        self.test = test
        self.tmp_path = tmp_path
        self.requests: list[str] = []
        self.broken: list[str] = []
        self.pages: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("response", self._note_broken)

    def _note_broken(self, response):
        if response.status >= 400 and response.request.resource_type != "document":
            self.broken.append(f"{response.status} {response.url}")

    def check(self, label: str):
        """axe-core on the current page: no serious or critical violation."""
        from .helpers import run_axe, serious

        self.page.wait_for_load_state()
        found = run_axe(self.page, self.test, label)
        self.pages.append(found.path)
        assert serious(found) == [], found.line()
        return found

    def foreign_requests(self) -> list[str]:
        """Every request that did not go to the app itself (a CDN, a font host ...)."""
        return [url for url in self.requests if not url.startswith(self.origin + "/")]

    def finish(self, name: str):
        """Screenshot the last page into tmp_path; assert nothing came from elsewhere."""
        path = self.tmp_path / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert self.foreign_requests() == []
        assert self.broken == []  # every stylesheet, image and icon the pages ask for is there
        return path


@pytest.fixture
def journey(page, live_server, request, tmp_path):
    """A Journey on the fresh page; the requests listener is on before the first navigation."""
    return Journey(page, live_server.url, request.node.name, tmp_path)


def pytest_terminal_summary(terminalreporter):
    """One line per job counted and per page axe checked, for the closing note."""
    from .helpers import AXE_RESULTS, CLICK_RESULTS

    if CLICK_RESULTS:
        terminalreporter.section("clicks per job")
        for job, clicks, budget in CLICK_RESULTS:
            terminalreporter.write_line(f"clicks {job}: {clicks} (at most {budget})")
    if not AXE_RESULTS:
        return
    terminalreporter.section("axe-core per page")
    for found in AXE_RESULTS:
        terminalreporter.write_line(f"{found.test}: {found.line()}")


def log_in(page, email: str, password: str = DEFAULT_PASSWORD):
    """Log in through the form, as a person would."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def axe_violations(page, impacts=("serious", "critical")):
    """Run axe-core on the page; return the violations of the given impacts."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in impacts]
