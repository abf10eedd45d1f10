"""The bench's own WSGI entry: the real app, today pinned to the bench date, plus a bare route.

`gunicorn bench.wsgi_bench:app`. The bare route (`/_bench/bare?size=N`) returns N bytes of
ready-made HTML with no database, template or login work: the floor the worklist is compared
with. It exists only here, never in the product.
"""
import os
from datetime import date

from flask import Response, request

import tracker.services.clinic as clinic_service

from . import BENCH_DATE

_BENCH_DAY = date.fromisoformat(os.environ.get("BENCH_DATE", BENCH_DATE.isoformat()))


def _bench_today():
    """The bench date: the generated clinic's statuses are relative to it."""
    return _BENCH_DAY


# Pinned before the app (and so every view module) is imported.
clinic_service.clinic_today = _bench_today

from tracker import create_app  # noqa: E402  (after the pin, on purpose)

app = create_app()
_pages: dict[int, bytes] = {}


def _page(size: int) -> bytes:
    """An HTML page of exactly `size` bytes."""
    head = b"<!doctype html><html><head><title>bare</title></head><body><pre>"
    tail = b"</pre></body></html>\n"
    filler = max(size - len(head) - len(tail), 0)
    return head + (b"0123456789abcdef\n" * (filler // 17 + 1))[:filler] + tail


@app.get("/_bench/bare")
def bench_bare():
    """Floor: a page of the asked size, no work behind it."""
    size = min(max(request.args.get("size", 20000, type=int), 0), 5_000_000)
    body = _pages.get(size)
    if body is None:
        body = _pages[size] = _page(size)
    return Response(body, mimetype="text/html")
