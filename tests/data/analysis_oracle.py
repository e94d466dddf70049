"""An independent computation of `leadpipe analyse` figures with pandas, by brute force
over the definitions in the README ("Analysing the base"), compared with what leadpipe
printed. Usage: analysis_oracle.py DEALS.csv ANALYSIS.json LOST_AFTER_DAYS UNTIL

Exits non-zero with the first difference found."""
import json
import sys

import pandas as pd

deals_path, analysis_path, lost_after, until = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
until = pd.Timestamp(until)
d = pd.read_csv(deals_path, sep=";", dtype={"customer": str})
d["date"] = pd.to_datetime(d["date"], format="%Y-%m-%d")
d = d[(d["status"] == "won") & (d["date"] <= until)]
a = json.load(open(analysis_path))

days = d.groupby(["customer", "date"]).agg(amount=("amount", "sum"), orders=("amount", "size")).reset_index()
first = days.groupby("customer")["date"].min()
purchase_days = {c: sorted(g["date"]) for c, g in days.groupby("customer")}


def active(t):
    """Customers whose last purchase before day t is at most lost_after days old."""
    n = 0
    for c, ds in purchase_days.items():
        before = [x for x in ds if x < t]
        if before and (t - before[-1]).days <= lost_after:
            n += 1
    return n


def close(x, y, what):
    if x is None or y is None:
        if x != y:
            raise SystemExit(f"{what}: leadpipe {x}, pandas {y}")
        return
    if abs(x - y) > 1e-6 * max(1.0, abs(y)):
        raise SystemExit(f"{what}: leadpipe {x}, pandas {y}")


start = first.min().to_period("M").to_timestamp()
months = pd.date_range(start, until.to_period("M").to_timestamp(), freq="MS")
got = {p["period"]: p for p in a["periods"]}
if len(got) != len(months):
    raise SystemExit(f"periods: leadpipe {len(got)}, pandas {len(months)}")
for m in months:
    nxt = m + pd.offsets.MonthBegin(1)
    label = m.strftime("%Y-%m")
    p = got[label]
    inm = days[(days["date"] >= m) & (days["date"] < nxt)]
    buyers = inm["customer"].nunique()
    repeat = inm[inm["customer"].map(first) < m]["customer"].nunique()
    new = int(((first >= m) & (first < nxt)).sum())
    s, e = active(m), active(nxt)
    revenue, orders = float(inm["amount"].sum()), int(inm["orders"].sum())
    close(p["revenue"], revenue, f"{label} revenue")
    close(p["orders"], orders, f"{label} orders")
    close(p["buyers"], buyers, f"{label} buyers")
    close(p["new_customers"], new, f"{label} new customers")
    close(p["repeat_buyers"], repeat, f"{label} repeat buyers")
    close(p["customers_at_start"], s, f"{label} customers at start")
    close(p["customers_at_end"], e, f"{label} customers at end")
    close(p["retention_rate"], (e - new) / s * 100 if s else None, f"{label} retention")
    close(p["average_check"], revenue / orders if orders else None, f"{label} average check")
    close(p["repeat_purchase_rate"], repeat / buyers * 100 if buyers else None, f"{label} repeat rate")

# Cohorts: first-purchase month x months since, distinct buyers.
days["cohort"] = days["customer"].map(first).dt.to_period("M")
days["k"] = (days["date"].dt.to_period("M") - days["cohort"]).apply(lambda x: x.n)
cells = days.groupby(["cohort", "k"])["customer"].nunique()
for c in a["cohorts"]:
    cohort = pd.Period(c["cohort"], "M")
    for k, n in enumerate(c["buying"]):
        want = int(cells.get((cohort, k), 0))
        if n != want:
            raise SystemExit(f"cohort {c['cohort']} month {k}: leadpipe {n}, pandas {want}")
if len(a["cohorts"]) != days["cohort"].nunique():
    raise SystemExit("cohort count differs")

h = a["headline"]
per_customer = days.groupby("customer")
close(h["customers"], len(first), "customers")
close(h["orders"], int(days["orders"].sum()), "orders")
close(h["revenue"], float(days["amount"].sum()), "revenue")
repeaters = int((per_customer["date"].nunique() >= 2).sum())
close(h["repeat_customers"], repeaters, "repeat customers")
close(h["repeat_purchase_rate"], repeaters / len(first) * 100, "repeat purchase rate")
close(h["average_check"], float(days["amount"].sum()) / int(days["orders"].sum()), "average check")
rev = per_customer["amount"].sum().sort_values(ascending=False)
top = rev.iloc[: int(-(-len(rev) * 0.2 // 1))].sum()
close(h["top_20_percent_revenue_share"], top / rev.sum() * 100, "top 20 % share")
print("ok", len(months), "months,", len(first), "customers")
