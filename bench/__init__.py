"""Benchmarks at clinic-network scale: `python -m bench [--patients N] [--database-url URL]`.

Everything is measured relative to a fixed bench date, so a cached clinic gives the same
statuses, worklist and reminder sweep whatever day the benchmark runs.
"""
from datetime import date

BENCH_DATE = date(2026, 10, 1)
