"""The header search through a real gunicorn server: type-ahead latency for every kind of query."""

from __future__ import annotations

import statistics
from urllib.parse import quote

from .generate import FIRST_NAMES, LAST_NAMES, mrn_for
from .web import Client, Server, timed_gets

# What the front desk types, and what a hostile or careless hand types; none may scan the table.
# (3,000 characters: gunicorn refuses request lines past 4,094; tests send 10,000 to the app.)
QUERIES = (
    "smith",
    "smith j",
    "jennifer garcia",
    "gar ma",
    "kowalski",
    "nguyen wei",
    "1980-04-12",
    "04/12/1980",
    "555-123",
    "(555) 123-4567",
    "patient123@example.org",
    "patient12",
    "x" * 3_000,  # far past the field's 100 characters, inside the server's 4,094-byte request line
    "%_%",
    "!!!",
    "04/12",
    "'; DROP TABLE patients; --",
)


def search_paths(patients: int) -> list[str]:
    """The type-ahead URL for each query, with MRNs and names the bench clinic holds."""
    texts = list(QUERIES) + [
        mrn_for(patients // 2),
        mrn_for(patients // 3)[:-2],
        f"{LAST_NAMES[3]} {FIRST_NAMES[5][:2]}",
    ]
    return [f"/search/suggest?q={quote(text)}" for text in texts]


def search_figures(
    database_url: str,
    bench_date,
    admin_email: str,
    admin_password: str,
    log_path: str,
    patients: int,
    smoke: bool,
    echo,
) -> dict:
    """p50 and p95 of the type-ahead over the query mix, and of the results page."""
    rounds = 5 if smoke else 30
    with Server(database_url, workers=2, log_path=log_path, bench_date=bench_date) as server:
        client = Client(server.port)
        client.login(admin_email, admin_password)
        paths = search_paths(patients)
        suggest = timed_gets(client, paths, rounds)
        slowest = max(
            range(len(paths)), key=lambda i: statistics.median(suggest.samples_ms[i :: len(paths)])
        )
        page = timed_gets(client, ["/search/?q=smith", "/search/?q=555-123"], rounds)
        echo(
            f"# search: {len(paths)} queries x {rounds}; slowest {paths[slowest][:60]} p50 "
            f"{statistics.median(suggest.samples_ms[slowest :: len(paths)]):.1f} ms; results page "
            f"p50 {page.pct(50):.1f} ms"
        )
    return {
        "search_p50_ms": suggest.pct(50),
        "search_p95_ms": suggest.pct(95),
        "search_page_p50_ms": page.pct(50),
    }
