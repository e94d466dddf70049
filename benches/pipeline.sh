#!/usr/bin/env bash
# The 1M-row benchmarks of issues #2 and #8 on N synthetic rows (default 1,000,000):
#   1. import + normalise + land (`run --to normalise`), the foundation's target;
#   2. end to end, import → leads (deduplication, consent, warmth), into a fresh file.
# Prints wall time, peak RSS and where the time went (`--json` timings_ms).
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
sync  # the generated file is on disk, so writeback does not run during the timings
echo "input: $rows rows, $(du -h "$work/leads.csv" | cut -f1) CP1251 CSV"
cat > "$work/bench.toml" <<EOF
name = "bench"
db = "normalised.duckdb"
[[sources]]
name = "leads.csv"
kind = "csv"
path = "leads.csv"
origin = "purchased"
EOF
timings() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  timings_ms:", d["timings_ms"]); print("  dedupe phases:", d["dedupe"]["phase_ms"]) if d.get("dedupe") else None' "$1"; }
echo "1. import + normalise + land (run --to normalise):"
/usr/bin/time -f "  wall %e s, peak RSS %M KiB" \
    "$bin" run "$work/bench.toml" --to normalise --quiet --json > "$work/normalise.json"
timings "$work/normalise.json"
sync  # part 1's database is on disk, so its writeback does not run during part 2
echo "2. end to end, import → leads (import):"
/usr/bin/time -f "  wall %e s, peak RSS %M KiB" \
    "$bin" import "$work/leads.csv" --db "$work/bench.duckdb" --quiet --json > "$work/e2e.json"
timings "$work/e2e.json"
echo "database: $(du -h "$work/bench.duckdb" | cut -f1)"
