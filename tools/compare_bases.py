#!/usr/bin/env python3
"""Compares two leadpipe bases table by table (EXCEPT ALL both ways). Columns stamped with
the clock when leadpipe ran differ between two runs of the same input: of those only
whether they are set is compared (a superseded consent stays superseded); timestamps read
from the input are compared as they are. The random erasure salt is left out, and
hashes salted with it are compared as set or not.
Used to show a refactor changed no output:

    python3 tools/compare_bases.py before.duckdb after.duckdb [TABLE ...]

Exit status 1 when any table differs. Needs the `duckdb` Python package (dev only).
"""
import sys

import duckdb

DEFAULT_TABLES = ["records", "rejects", "leads", "lead_links", "raw_records", "consents",
                  "consent_status", "consent_audit", "suppressions", "match_weights",
                  "match_refusals", "source_files", "leadpipe_meta"]
# Stamped with the clock when leadpipe runs, not derived from the input.
RUN_TIME_COLUMNS = {"warmth_scored_at", "imported_at", "recorded_at", "started_at",
                    "finished_at", "fetched_at", "decided_at", "superseded_at", "changed_at",
                    "logged_at", "loaded_at", "derived_at",
                    # salted with the base's random erasure salt
                    "value_hash"}
# Rows that hold random or per-build values.
LEFT_OUT_ROWS = {"leadpipe_meta": "key NOT IN ('erasure_salt')"}


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
        keep = [f'"{c}"' if c not in RUN_TIME_COLUMNS else f'"{c}" IS NULL' for c, t in cols]
        skipped = [c for c, t in cols if c in RUN_TIME_COLUMNS]
        sel = ", ".join(keep)
        where = f" WHERE {LEFT_OUT_ROWS[table]}" if table in LEFT_OUT_ROWS else ""
        rows_a = con.execute(f"SELECT count(*) FROM a.{table}").fetchone()[0]
        rows_b = con.execute(f"SELECT count(*) FROM b.{table}").fetchone()[0]
        only_a = con.execute(
            f"SELECT count(*) FROM (SELECT {sel} FROM a.{table}{where} EXCEPT ALL SELECT {sel} FROM b.{table}{where})"
        ).fetchone()[0]
        only_b = con.execute(
            f"SELECT count(*) FROM (SELECT {sel} FROM b.{table}{where} EXCEPT ALL SELECT {sel} FROM a.{table}{where})"
        ).fetchone()[0]
        same = only_a == 0 and only_b == 0
        differ |= not same
        print(
            f"{table}: {rows_a} vs {rows_b} rows; only in first {only_a}, only in second {only_b}"
            f" ({'identical' if same else 'DIFFERENT'}; run-time columns compared as set or not: {', '.join(skipped) or 'none'})"
        )
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
