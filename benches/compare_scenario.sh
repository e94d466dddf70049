#!/usr/bin/env bash
# A scenario that supersedes, withdraws, suppresses and re-derives consent, run by one build
# of leadpipe into one base. Run it with two builds, then compare the bases:
#     bash benches/compare_scenario.sh OLD_BINARY /tmp/old.duckdb
#     bash benches/compare_scenario.sh NEW_BINARY /tmp/new.duckdb
#     python3 tools/compare_bases.py /tmp/old.duckdb /tmp/new.duckdb
set -euo pipefail
bin=$1; db=$2
root="$(cd "$(dirname "$0")/.." && pwd)"
T=2026-06-01T00:00:00Z
$bin run $root/pipelines/demo.toml --db $db --as-of $T -q
$bin suppress import $root/fixtures/do_not_call.txt --list dnc --db $db -q
$bin consent withdraw --db $db --file $root/fixtures/withdrawals.csv -q || true
$bin consent withdraw --db $db --phone "+7 916 123-45-67" --at 2026-06-02T10:00:00+03:00 -q || true
$bin run $root/pipelines/demo.toml --db $db --as-of $T --from normalise -q
$bin run $root/pipelines/open_sources.toml --db $db --as-of $T -q
$bin call-list --db $db --out ${db%.duckdb}-calls.csv --as-of 2026-06-03T00:00:00Z -q
