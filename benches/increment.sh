#!/usr/bin/env bash
# Daily increments into a big base (issue #21): builds a base of BASE rows
# (`leadpipe gen`, default 1,000,000), then imports 1,000 and 10,000 new rows into copies
# of it. Prints wall time, peak RSS and where the time went for the build and for each
# increment.
#     bash benches/increment.sh [BASE_ROWS] [INCREMENT_ROWS ...]
set -euo pipefail
cd "$(dirname "$0")/.."
base_rows="${1:-1000000}"
shift || true
increments=("$@")
[ ${#increments[@]} -gt 0 ] || increments=(1000 10000)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/leadpipe-target}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/leadpipe"
work="$(mktemp -d "${TMPDIR:-/tmp}/leadpipe-increment.XXXXXX")"
trap 'rm -rf "$work"' EXIT
timings() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  timings_ms:", d["timings_ms"]); print("  dedupe phases:", d["dedupe"]["phase_ms"]) if d.get("dedupe") else None' "$1"; }
"$bin" gen --rows "$base_rows" --out "$work/base.csv" --cp1251
sync
echo "base: $base_rows rows, $(du -h "$work/base.csv" | cut -f1) CP1251 CSV"
/usr/bin/time -f "  wall %e s, peak RSS %M KiB" \
    "$bin" import "$work/base.csv" --db "$work/base.duckdb" --quiet --json > "$work/base.json"
timings "$work/base.json"
echo "  database: $(du -h "$work/base.duckdb" | cut -f1)"
for rows in "${increments[@]}"; do
    "$bin" gen --rows "$rows" --seed 7 --out "$work/new-$rows.csv" --cp1251
    cp "$work/base.duckdb" "$work/daily.duckdb"
    sync
    echo "increment: $rows new rows into the $base_rows-row base"
    /usr/bin/time -f "  wall %e s, peak RSS %M KiB" \
        "$bin" import "$work/new-$rows.csv" --db "$work/daily.duckdb" --quiet --json > "$work/new.json"
    timings "$work/new.json"
done
