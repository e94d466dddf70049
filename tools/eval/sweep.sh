#!/usr/bin/env bash
# Held-out evaluation sweep: generates bases with tools/eval/heldout_gen.py, varying one
# corruption family at a time from the moderate default, runs leadpipe on each and scores
# it with tools/eval/score.py. Prints precision / recall / F1 per setting (mean over seeds).
#
#   tools/eval/sweep.sh LEADPIPE_BINARY [OUT_DIR]
#
# Environment: PEOPLE (default 5000), SEEDS (default "1 2 3"), PYTHON (default python3),
# KEEP=1 keeps every generated base and database in OUT_DIR (default: only results.tsv).
set -euo pipefail

LEADPIPE=${1:?usage: sweep.sh LEADPIPE_BINARY [OUT_DIR]}
OUT=${2:-$(mktemp -d "${TMPDIR:-/tmp}/leadpipe-sweep.XXXXXX")}
PEOPLE=${PEOPLE:-5000}
SEEDS=${SEEDS:-1 2 3}
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ -x "$LEADPIPE" ] || { echo "not an executable: $LEADPIPE" >&2; exit 2; }
mkdir -p "$OUT"
RESULTS="$OUT/results.tsv"

# label|generator options (on top of the moderate defaults: every family on)
SETTINGS=(
  "base (typo=0.05)|"
  "typo=0|--typo-rate 0"
  "typo=0.10|--typo-rate 0.10"
  "typo=0.15|--typo-rate 0.15"
  "translit=gost 0.15|--translit gost --translit-rate 0.15"
  "translit=icao 0.15|--translit icao --translit-rate 0.15"
  "translit=loose 0.15|--translit loose --translit-rate 0.15"
  "layout=off|--no-layout"
  "layout=0.08|--layout-rate 0.08"
  "family=off|--no-family"
  "family=0.20|--family-rate 0.20"
  "companies=off|--no-company --no-employees"
  "companies=0.6|--company-rate 0.6 --employees-rate 0.6"
  "contact=off|--no-contact"
  "all families off|--all-off"
)

printf 'setting\tseed\tprecision\trecall\tf1\trows\tlanded\trejected\ttrue_pairs\tpredicted_pairs\n' > "$RESULTS"
for entry in "${SETTINGS[@]}"; do
  label=${entry%%|*}
  opts=${entry#*|}
  slug=$(printf '%s' "$label" | tr -c 'A-Za-z0-9.=' '_')
  for seed in $SEEDS; do
    dir="$OUT/$slug/seed$seed"
    rm -rf "$dir"
    # shellcheck disable=SC2086
    "$PYTHON" "$HERE/heldout_gen.py" --out "$dir" --seed "$seed" --people "$PEOPLE" $opts 2>/dev/null
    if ! "$LEADPIPE" run "$dir/pipeline.toml" --db "$dir/eval.duckdb" --quiet > "$dir/run.log" 2>&1; then
      echo "leadpipe failed on $dir (see $dir/run.log)" >&2
      printf '%s\t%s\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\n' "$label" "$seed" >> "$RESULTS"
      continue
    fi
    "$PYTHON" "$HERE/score.py" "$dir/eval.duckdb" --json --examples 15 > "$dir/score.json"
    "$PYTHON" - "$dir/score.json" "$label" "$seed" >> "$RESULTS" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
p, r = o["pairwise"], o["rows"]
print("\t".join(map(str, [sys.argv[2], sys.argv[3], f"{p['precision']:.4f}", f"{p['recall']:.4f}",
                          f"{p['f1']:.4f}", r["raw"], r["landed"], r["rejected"], p["true_pairs"],
                          p["predicted_pairs"]])))
EOF
    tail -n 1 "$RESULTS" | cut -f1-5 >&2
    if [ "${KEEP:-0}" != 1 ]; then
      rm -f "$dir"/*.jsonl "$dir"/*.csv "$dir"/eval.duckdb "$dir"/eval.duckdb.wal
    fi
  done
done

"$PYTHON" - "$RESULTS" <<'EOF'
import csv, sys
from collections import OrderedDict
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
agg = OrderedDict()
for r in rows:
    agg.setdefault(r["setting"], []).append(r)
print(f"{'setting':24} {'precision':>9} {'recall':>9} {'F1':>9}  {'rejected':>8}  seeds")
for label, rs in agg.items():
    ok = [r for r in rs if r["precision"] != "NA"]
    if not ok:
        print(f"{label:24} {'failed':>9}")
        continue
    m = lambda k: sum(float(r[k]) for r in ok) / len(ok)
    rej = sum(int(r["rejected"]) for r in ok) / len(ok)
    print(f"{label:24} {m('precision'):9.4f} {m('recall'):9.4f} {m('f1'):9.4f}  {rej:8.0f}  {len(ok)}")
EOF
echo "per-seed results: $RESULTS" >&2
