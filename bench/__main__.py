"""`python -m bench [--patients N] [--database-url URL] [--smoke]`: every figure, then the targets.

Figures are printed one a line as `name: value unit` (ratios as `name_ratio: value`); lines
starting with `#` are context. A figure that cannot be measured yet is printed as
`name: unavailable (reason)`. Timings are never asserted: this prints, it does not judge,
except for the closing list of targets met and missed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback

from . import BENCH_DATE
from .api import measure_api_appointments
from .build import build_clinic
from .databases import PostgresStore, SQLiteStore, remove_tree, schema_key
from .fhir import measure_fhir_slots
from .measure import Unavailable, measure_due, measure_floor, measure_slots, measure_sweep
from .procs import ROOT
from .search import search_figures
from .selfbook import measure_selfbook
from .web import worklist_figures

# name, comparison, limit (targets from the issue, for 100,000 patients on a 2-core machine)
TARGETS = (
    ("import_s", "<=", 120), ("import_peak_rss_mb", "<=", 500),
    ("due_s", "<=", 2), ("due_ratio", "<=", 3), ("due_peak_rss_mb", "<=", 300),
    ("worklist_p50_ms", "<=", 50), ("worklist_p95_ms", "<=", 150), ("worklist_ratio", "<=", 10),
    ("worklist_rps_ratio", ">=", 0.1), ("sweep_s", "<=", 10), ("slots_ms", "<=", 20),
    ("growth_due", "<=", 12), ("growth_sweep", "<=", 12), ("search_p50_ms", "<=", 20),
    ("selfbook_p50_ms", "<=", 50),
)
UNITS = {"_per_s": "msg/s", "_ms": "ms", "_mb": "MB", "_rps": "req/s", "_s": "s"}  # longest first


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000, help="patients in the clinic (default 100000)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL to build and measure in (default: a cached SQLite file)")
    parser.add_argument("--smoke", action="store_true", help="few repetitions: quick, for CI")
    parser.add_argument("--rebuild", action="store_true", help="build the clinic again even if cached")
    parser.add_argument("--cache-dir", default=os.path.join(ROOT, "instance", "bench"),
                        help="where built clinics are kept (default instance/bench)")
    args = parser.parse_args(argv)
    if args.patients < 20:
        parser.error("--patients must be at least 20")
    if args.database_url and not args.database_url.startswith(("postgresql", "postgres")):
        parser.error("--database-url must be a PostgreSQL URL (SQLite is the default)")
    return args


class Report:
    """Prints figures as they come and keeps them for the targets."""

    def __init__(self):
        self.values: dict[str, float] = {}
        self.failures: list[str] = []

    @staticmethod
    def echo(line: str) -> None:
        print(line, flush=True)

    def figure(self, name: str, value: float, digits: int = 2) -> None:
        self.values[name] = value
        unit = next((u for suffix, u in UNITS.items() if name.endswith(suffix)), "")
        self.echo(f"{name}: {value:.{digits}f}{' ' + unit if unit else ''}")

    def unavailable(self, reason: str, *names: str) -> None:
        for name in names:
            self.echo(f"{name}: unavailable ({reason})")

    def guarded(self, names, step) -> None:
        """Run one measurement; a missing feature or a failure is printed, the rest go on."""
        try:
            step()
        except Unavailable as reason:
            self.unavailable(str(reason), *(n for n in names if n not in self.values))
        except Exception as error:  # a broken feature must not hide the other figures
            traceback.print_exc()
            first_line = (str(error).strip().splitlines() or [""])[0][:160]
            self.failures.append(names[0])
            self.unavailable(f"failed: {type(error).__name__}: {first_line}",
                             *(n for n in names if n not in self.values))

    def targets(self, smoke: bool, patients: int) -> None:
        scale = "" if patients >= 100_000 and not smoke else \
            f" (targets are for 100,000 patients; this run has {patients:,})"
        self.echo(f"targets{scale}:")
        met = 0
        for name, op, limit in TARGETS:
            value = self.values.get(name)
            if value is None:
                self.echo(f"  {name} {op} {limit}: not measured")
                continue
            ok = value <= limit if op == "<=" else value >= limit
            met += ok
            self.echo(f"  {name} {op} {limit}: {'met' if ok else 'MISSED'} ({value:.2f})")
        self.echo(f"targets met: {met} of {len(TARGETS)}")


def ensure_clinic(store, patients: int, rebuild: bool, report: Report) -> tuple[dict, bool]:
    """The clinic's build facts, building it first unless a cached one matches."""
    meta = None if rebuild else store.cached_meta()
    if meta is not None:
        report.echo(f"# using the cached clinic of {patients:,} patients in {store.label()} "
                    f"(built {meta['built_at']})")
        return meta, True
    report.echo(f"# building a clinic of {patients:,} patients in {store.label()} ...")
    started = time.perf_counter()
    meta = build_clinic(store, patients, BENCH_DATE, report.echo)
    report.echo(f"# built in {time.perf_counter() - started:.1f} s")
    return meta, False


def run(args) -> int:
    report = Report()
    key = schema_key()
    small_count = max(args.patients // 10, 10)
    if args.database_url:
        store = PostgresStore(args.cache_dir, args.database_url, args.patients, key)
        small = store.with_database(f"{store.database}_p{small_count}", small_count)
    else:
        store = SQLiteStore(args.cache_dir, args.patients, key)
        small = SQLiteStore(args.cache_dir, small_count, key)
    report.echo(f"# bench: {args.patients:,} patients on {store.kind}, bench date {BENCH_DATE}, "
                f"schema key {key}{', smoke run' if args.smoke else ''}; {os.cpu_count()} CPUs, "
                f"load average {_load()}")
    meta, cached = ensure_clinic(store, args.patients, args.rebuild, report)
    ensure_clinic(small, small_count, args.rebuild, report)
    plans = ", ".join(f"{name} {count}" for name, count in meta["plans"].items())
    report.echo(f"# clinic: {meta['patients']:,} patients, {meta['infusions']:,} infusions, "
                f"{meta['appointments']:,} appointments, {meta['reminders']:,} past reminders; "
                f"planned states: {plans}")

    report.figure("import_s", meta["import_s"])
    report.figure("import_peak_rss_mb", meta["import_peak_rss_mb"], 1)
    if cached:
        report.echo("# import figures are from the run that built the cached clinic (--rebuild measures again)")

    scratch = tempfile.mkdtemp(prefix="bench-", dir=args.cache_dir)
    runs = 1 if args.smoke else 3  # median of three at full size
    found: dict = {}
    try:
        for names, step in (
            (("due_s", "due_peak_rss_mb", "due_ratio"), lambda: _due(report, store, runs, scratch, found)),
            (("worklist_p50_ms", "worklist_p95_ms", "worklist_ratio", "worklist_rps", "worklist_rps_ratio"),
             lambda: _worklist(report, store, meta, args)),
            (("search_p50_ms", "search_p95_ms", "search_page_p50_ms"),
             lambda: _search(report, store, meta, args)),
            (("sweep_s", "sweep_msgs_per_s"), lambda: _sweep(report, store, meta, scratch, found)),
            (("slots_ms",), lambda: _slots(report, store, args)),
            (("api_appointments_p50_ms",), lambda: _api(report, store, args)),
            (("fhir_slots_p50_ms",), lambda: _fhir(report, store, args)),
            (("selfbook_p50_ms", "selfbook_p95_ms"), lambda: _selfbook(report, store, args)),
            (("growth_due",), lambda: _growth_due(report, small, runs, scratch, found)),
            (("growth_sweep",), lambda: _growth_sweep(report, small, scratch, found)),
        ):
            report.guarded(names, step)
    finally:
        remove_tree(scratch)
    report.echo(f"# load average at the end {_load()} (other work on the machine slows every figure)")
    report.targets(args.smoke, args.patients)
    return 1 if report.failures else 0


def _due(report, store, runs, scratch, found) -> None:
    due, count = measure_due(store.url, BENCH_DATE, scratch, runs)
    floor_s, floor_count = measure_floor(store.kind, store.floor_target(), scratch, runs)
    found["due_s"] = due.seconds
    report.figure("due_s", due.seconds)
    report.figure("due_peak_rss_mb", due.peak_rss_mb, 1)
    report.figure("due_ratio", due.seconds / floor_s)
    report.echo(f"# due: {count:,} patients listed; floor query {floor_s:.2f} s for {floor_count:,} rows")


def _worklist(report, store, meta, args) -> None:
    web = worklist_figures(store.url, BENCH_DATE, meta["admin_email"], meta["admin_password"],
                           os.path.join(args.cache_dir, "gunicorn.log"), args.smoke, report.echo)
    report.figure("worklist_p50_ms", web["worklist_p50_ms"], 1)
    report.figure("worklist_p95_ms", web["worklist_p95_ms"], 1)
    report.figure("worklist_ratio", web["worklist_p50_ms"] / web["bare_p50_ms"])
    report.figure("worklist_rps", web["worklist_rps"], 1)
    report.figure("worklist_rps_ratio", web["worklist_rps"] / web["bare_rps"], 3)
    report.echo(f"# load: bare route {web['bare_rps']:.1f} req/s (2 gunicorn workers, 8 client threads)")


def _search(report, store, meta, args) -> None:
    found = search_figures(store.url, BENCH_DATE, meta["admin_email"], meta["admin_password"],
                           os.path.join(args.cache_dir, "gunicorn.log"), args.patients, args.smoke,
                           report.echo)
    for name in ("search_p50_ms", "search_p95_ms", "search_page_p50_ms"):
        report.figure(name, found[name], 1)


def _sweep(report, store, meta, scratch, found) -> None:
    seconds, messages, summary = measure_sweep(store, BENCH_DATE, scratch)
    found["sweep_s"] = seconds
    report.figure("sweep_s", seconds)
    report.figure("sweep_msgs_per_s", messages / seconds if seconds else 0.0, 1)
    share = 100.0 * messages / max(meta["patients"], 1)
    report.echo(f"# sweep: {messages:,} messages written as .eml ({share:.1f}% of patients)"
                + (f"; it said: {summary}" if summary else ""))


def _slots(report, store, args) -> None:
    slots_ms, page_ms, where = measure_slots(store.url, BENCH_DATE, 10 if args.smoke else 30)
    report.figure("slots_ms", slots_ms)
    report.echo(f"# slots: {where}; a page of 12 proposals takes {page_ms:.1f} ms")


def _api(report, store, args) -> None:
    p50, what = measure_api_appointments(store.url, BENCH_DATE, 10 if args.smoke else 50)
    report.figure("api_appointments_p50_ms", p50, 1)
    report.echo(f"# api: a day's appointments, {what}")


def _fhir(report, store, args) -> None:
    p50, what = measure_fhir_slots(store.url, BENCH_DATE, 10 if args.smoke else 50)
    report.figure("fhir_slots_p50_ms", p50, 1)
    report.echo(f"# fhir: a week of one chair's Slots, {what}")


def _selfbook(report, store, args) -> None:
    p50, p95, where = measure_selfbook(store.url, BENCH_DATE, 10 if args.smoke else 60)
    report.figure("selfbook_p50_ms", p50, 1)
    report.figure("selfbook_p95_ms", p95, 1)
    report.echo(f"# selfbook: the patient's booking page, {where}")


def _growth_due(report, small, runs, scratch, found) -> None:
    if "due_s" not in found:
        raise Unavailable("due_s was not measured")
    small_due, _ = measure_due(small.url, BENCH_DATE, scratch, runs)
    report.figure("growth_due", found["due_s"] / small_due.seconds)
    report.echo(f"# growth_due: due_s / due_s at {small.patients:,} patients ({small_due.seconds:.2f} s)")


def _growth_sweep(report, small, scratch, found) -> None:
    if "sweep_s" not in found:
        raise Unavailable("sweep_s was not measured")
    small_sweep, _, _ = measure_sweep(small, BENCH_DATE, scratch)
    report.figure("growth_sweep", found["sweep_s"] / small_sweep)
    report.echo(f"# growth_sweep: sweep_s / sweep_s at {small.patients:,} patients ({small_sweep:.2f} s)")


def _load() -> str:
    """The 1, 5 and 15 minute load averages, or '?' where the system has none."""
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "?"


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except Exception:  # a broken build is an error: show it and fail
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
