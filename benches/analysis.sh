#!/usr/bin/env bash
# Deals and analysis at scale (issue #24): a base of LEADS rows (`leadpipe gen`, default
# 1,000,000), DEALS deals (default 5,000,000; 70 % by the phone of one of its leads, 30 %
# by CRM customer ids that are no lead; dates over two years; a few lost, refunded and
# open; amounts as `12 345,67`), then times `deals import`, the segment stage
# (`segments --refresh`) and `analyse --out analysis.html`.
#     bash benches/analysis.sh [LEADS] [DEALS]
set -euo pipefail
cd "$(dirname "$0")/.."
leads="${1:-1000000}"
deals="${2:-5000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/leadpipe-target}"
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/leadpipe"
work="$(mktemp -d "${TMPDIR:-/tmp}/leadpipe-analysis.XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$bin" gen --rows "$leads" --out "$work/leads.csv" --cp1251
"$bin" import "$work/leads.csv" --db "$work/base.duckdb" --quiet
"$bin" sql "SELECT phone_e164 FROM leads WHERE phone_e164 IS NOT NULL" --db "$work/base.duckdb" \
    --format csv --limit 100000000 > "$work/phones.csv"
python3 - "$work/phones.csv" "$work/deals.csv" "$deals" <<'PY'
import random, sys
phones = [l.strip() for l in open(sys.argv[1]) if l.startswith("+")]
n = int(sys.argv[3])
rnd = random.Random(24)
statuses = ["Успешно"] * 17 + ["Отказ", "Возврат", "В работе"]
with open(sys.argv[2], "w", encoding="utf-8") as out:
    out.write("Номер заказа;Дата;Клиент;Телефон;Сумма;Статус;Категория\n")
    for i in range(n):
        day = f"{rnd.randint(1, 28):02d}.{rnd.randint(1, 12):02d}.{rnd.choice((2025, 2026))}"
        rub = rnd.randint(300, 90000)
        amount = f"{rub // 1000} {rub % 1000:03d},{rnd.randint(0, 99):02d}" if rub >= 1000 else f"{rub},00"
        if rnd.random() < 0.7:
            who = f";{rnd.choice(phones)}"
        else:
            who = f"CRM-{rnd.randint(1, 400000):06d};"
        out.write(f"Z-{i};{day};{who};{amount};{rnd.choice(statuses)};cat{rnd.randint(1, 30)}\n")
PY
sync
echo "base: $leads lead rows; deals: $deals rows, $(du -h "$work/deals.csv" | cut -f1) CSV"
echo "deals import:"
/usr/bin/time -f "  wall %e s, peak RSS %M KiB" \
    "$bin" deals import "$work/deals.csv" --db "$work/base.duckdb" --quiet
echo "segment stage (segments --refresh):"
/usr/bin/time -f "  wall %e s, peak RSS %M KiB" \
    "$bin" segments --refresh --db "$work/base.duckdb" > /dev/null
echo "analyse --out analysis.html:"
/usr/bin/time -f "  wall %e s, peak RSS %M KiB" \
    "$bin" analyse --db "$work/base.duckdb" --until 2026-12-31 --out "$work/analysis.html"
echo "analyse --out analysis.xlsx:"
/usr/bin/time -f "  wall %e s, peak RSS %M KiB" \
    "$bin" analyse --db "$work/base.duckdb" --until 2026-12-31 --out "$work/analysis.xlsx"
