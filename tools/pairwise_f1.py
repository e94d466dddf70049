#!/usr/bin/env python3
"""Pairwise precision / recall / F1 of deduplication, read from a leadpipe database built
from `leadpipe gen` output (ground truth: raw_values->>'entity_id'; prediction: lead_id).
Dev-only: pip install duckdb && python3 tools/pairwise_f1.py DB"""
import sys

import duckdb

c = duckdb.connect(sys.argv[1], read_only=True)
q = """
with t as (select (r.raw_values->>'entity_id')::BIGINT e, c.lead_id l
           from records c join raw_records r using (raw_id))
select (select sum(n*(n-1)/2) from (select count(*) n from t group by e)),
       (select sum(n*(n-1)/2) from (select count(*) n from t group by l)),
       (select sum(n*(n-1)/2) from (select count(*) n from t group by e, l))"""
tp, pp, cp = c.execute(q).fetchall()[0]
p, r = cp / pp, cp / tp
print(f"pairwise precision {p:.4f}, recall {r:.4f}, F1 {2*p*r/(p+r):.4f} "
      f"(true pairs {tp}, predicted {pp}, correct {cp})")
