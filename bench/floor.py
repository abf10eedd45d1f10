"""The floor for `due`: one hand-written query for every active patient's anchor, printed as JSON.

Run as its own process (`python -m bench.floor sqlite PATH` or `python -m bench.floor
postgresql CONNINFO`) so it pays the same start-up and output costs as `flask due`. Only the
standard library and the database driver are imported.
"""
import json
import sys

QUERY = """
SELECT p.mrn, c.state, c.mode, c.anchor_date, c.window_opens, c.window_closes
FROM courses c JOIN patients p ON p.id = c.patient_id
WHERE c.state IN ('series_in_progress', 'maintenance', 'on_hold')
ORDER BY p.mrn
"""
FIELDS = ("mrn", "state", "mode", "anchor", "window_opens", "window_closes")


def fetch(kind: str, target: str) -> list:
    """Every open course's anchor and window, with the plain driver."""
    if kind == "sqlite":
        import sqlite3

        connection = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    else:
        import psycopg

        connection = psycopg.connect(target)
    try:
        return connection.execute(QUERY).fetchall()
    finally:
        connection.close()


def main(argv: list[str]) -> int:
    kind, target = argv
    rows = fetch(kind, target)
    out = sys.stdout
    out.write("[")
    for index, row in enumerate(rows):
        out.write(("," if index else "") + json.dumps(
            {name: (None if value is None else str(value)) if name != "mrn" else value
             for name, value in zip(FIELDS, row)}))
    out.write("]\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
