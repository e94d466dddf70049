#!/usr/bin/env bash
# Import + normalise + land N synthetic rows (default 1,000,000); prints wall time and peak RSS.
#     bash benches/pipeline.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/leadpipe-target}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/leadpipe"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" gen --rows "$rows" --out "$work/leads.csv" --cp1251
echo "input: $rows rows, $(du -h "$work/leads.csv" | cut -f1) CP1251 CSV"
/usr/bin/time -f "wall %e s, peak RSS %M KiB" "$bin" import "$work/leads.csv" --db "$work/bench.duckdb" --quiet
echo "database: $(du -h "$work/bench.duckdb" | cut -f1)"
