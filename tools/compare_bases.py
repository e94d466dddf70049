#!/usr/bin/env python3
"""Compares two leadpipe bases table by table (EXCEPT ALL both ways), leaving out
timestamp columns (when a run happened differs between two runs of the same input).
Used to show a refactor changed no output:

    python3 tools/compare_bases.py before.duckdb after.duckdb [TABLE ...]

Exit status 1 when any table differs. Needs the `duckdb` Python package (dev only).
"""
import sys

import duckdb

DEFAULT_TABLES = ["records", "rejects", "leads", "lead_links", "raw_records", "consents"]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    before, after, *tables = sys.argv[1:]
    tables = tables or DEFAULT_TABLES
    con = duckdb.connect()
    con.execute(f"ATTACH '{before}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{after}' AS b (READ_ONLY)")
    differ = False
    for table in tables:
        cols = con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = 'a' AND table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
        keep = [f'"{c}"' for c, t in cols if not t.startswith("TIMESTAMP")]
        skipped = [c for c, t in cols if t.startswith("TIMESTAMP")]
        sel = ", ".join(keep)
        rows_a = con.execute(f"SELECT count(*) FROM a.{table}").fetchone()[0]
        rows_b = con.execute(f"SELECT count(*) FROM b.{table}").fetchone()[0]
        only_a = con.execute(
            f"SELECT count(*) FROM (SELECT {sel} FROM a.{table} EXCEPT ALL SELECT {sel} FROM b.{table})"
        ).fetchone()[0]
        only_b = con.execute(
            f"SELECT count(*) FROM (SELECT {sel} FROM b.{table} EXCEPT ALL SELECT {sel} FROM a.{table})"
        ).fetchone()[0]
        same = only_a == 0 and only_b == 0
        differ |= not same
        print(
            f"{table}: {rows_a} vs {rows_b} rows; only in first {only_a}, only in second {only_b}"
            f" ({'identical' if same else 'DIFFERENT'}; timestamps left out: {', '.join(skipped) or 'none'})"
        )
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
