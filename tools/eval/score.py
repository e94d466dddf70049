#!/usr/bin/env python3
"""Scores leadpipe's deduplication on a base with ground truth (tools/eval/heldout_gen.py).

    python3 tools/eval/score.py DIR/eval.duckdb [--json] [--examples 15] [--tags DIR/row_tags.csv]

Ground truth: raw_records.raw_values->>'entity_id'; prediction: records.lead_id (a record
without a lead counts as its own). Pairwise precision / recall / F1 from cluster sizes, as
in tools/pairwise_f1.py, over the records that landed; plus rows landed vs rejected, rejects
by reason, precision and recall per pair of sources, what the wrong and missed pairs share,
and the largest false merges and missed pairs with both records. With the generator's
row_tags.csv (found next to the database unless --tags says otherwise): recall per
corruption family and per kind of entity, and false pairs per kind of the two entities.

Needs the duckdb package (pip install duckdb). Opens the database read-only.
"""
import argparse
import json
import os
import sys

import duckdb

SHOW = ["record_id", "lead_id", "entity", "source", "source_row", "name", "phone_e164", "email",
        "city", "company"]


def connect(path):
    con = duckdb.connect()
    con.execute(f"ATTACH '{path.replace(chr(39), chr(39) * 2)}' AS db (READ_ONLY)")
    return con


def pairs(n):
    return n * (n - 1) // 2


def score(path, n_examples=15, tags_path=None):
    con = connect(path)
    q = con.execute
    q("""
        CREATE TEMP TABLE t AS
        SELECT c.record_id,
               coalesce(CAST(c.lead_id AS VARCHAR), 'record:' || CAST(c.record_id AS VARCHAR)) AS l,
               CAST(r.raw_values->>'entity_id' AS VARCHAR) AS e,
               c.source, c.source_row,
               coalesce(c.full_name, concat_ws(' ', c.last_name, c.first_name, c.middle_name)) AS name,
               c.phone_e164, c.email, c.city, c.company, c.inn
        FROM db.records c JOIN db.raw_records r USING (raw_id)""")
    out = {"db": path}
    raw = q("SELECT count(*) FROM db.raw_records").fetchone()[0]
    landed = q("SELECT count(*) FROM t").fetchone()[0]
    rejected = q("SELECT count(*) FROM db.rejects").fetchone()[0]
    out["rows"] = {"raw": raw, "landed": landed, "rejected": rejected,
                   "no_entity_id": q("SELECT count(*) FROM t WHERE e IS NULL").fetchone()[0]}
    out["rejects_by_reason"] = {
        f"{src}:{reason}": n for src, reason, n in q(
            "SELECT source, reason_code, count(*) FROM db.rejects GROUP BY ALL ORDER BY 3 DESC, 1, 2").fetchall()}
    out["rows_by_source"] = {
        s: {"raw": a, "landed": b} for s, a, b in q("""
            SELECT r.source, count(*), count(c.record_id)
            FROM db.raw_records r LEFT JOIN db.records c USING (raw_id) GROUP BY 1 ORDER BY 1""").fetchall()}

    tp, pp, cp = q("""
        SELECT (SELECT coalesce(sum(n*(n-1)/2), 0) FROM (SELECT count(*) n FROM t GROUP BY e)),
               (SELECT coalesce(sum(n*(n-1)/2), 0) FROM (SELECT count(*) n FROM t GROUP BY l)),
               (SELECT coalesce(sum(n*(n-1)/2), 0) FROM (SELECT count(*) n FROM t GROUP BY e, l))""").fetchone()
    tp, pp, cp = int(tp), int(pp), int(cp)
    p = cp / pp if pp else 1.0
    r = cp / tp if tp else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    out["pairwise"] = {"precision": p, "recall": r, "f1": f1, "true_pairs": tp,
                       "predicted_pairs": pp, "correct_pairs": cp,
                       "false_pairs": pp - cp, "missed_pairs": tp - cp}
    out["clusters"] = {
        "entities": q("SELECT count(DISTINCT e) FROM t").fetchone()[0],
        "leads": q("SELECT count(DISTINCT l) FROM t").fetchone()[0],
        "largest_lead": q("SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM t GROUP BY l)").fetchone()[0],
        "impure_leads": q("SELECT count(*) FROM (SELECT l FROM t GROUP BY l HAVING count(DISTINCT e) > 1)").fetchone()[0],
        "split_entities": q("SELECT count(*) FROM (SELECT e FROM t GROUP BY e HAVING count(DISTINCT l) > 1)").fetchone()[0],
    }

    # precision and recall per pair of sources
    def by_sources(key):
        return {(a, b): int(n) for a, b, n in q(f"""
            WITH g AS (SELECT {key}, source, count(*) n FROM t GROUP BY ALL)
            SELECT x.source, y.source,
                   sum(CASE WHEN x.source = y.source THEN x.n*(x.n-1)/2 ELSE x.n*y.n END)
            FROM g x JOIN g y ON {' AND '.join(f'x.{k} = y.{k}' for k in key.split(', '))}
                          AND x.source <= y.source
            GROUP BY ALL""").fetchall()}
    t_s, p_s, c_s = by_sources("e"), by_sources("l"), by_sources("e, l")
    out["by_source_pair"] = {
        f"{a}-{b}": {"true_pairs": t_s.get((a, b), 0), "predicted_pairs": p_s.get((a, b), 0),
                     "correct_pairs": c_s.get((a, b), 0),
                     "precision": c_s.get((a, b), 0) / p_s[(a, b)] if p_s.get((a, b)) else None,
                     "recall": c_s.get((a, b), 0) / t_s[(a, b)] if t_s.get((a, b)) else None}
        for a, b in sorted(set(t_s) | set(p_s))}

    # what the wrong and the missed pairs have in common
    shared = """count(*) AS pairs,
        count(*) FILTER (WHERE a.phone_e164 = b.phone_e164) AS same_phone,
        count(*) FILTER (WHERE lower(a.email) = lower(b.email)) AS same_email,
        count(*) FILTER (WHERE a.inn = b.inn) AS same_inn,
        count(*) FILTER (WHERE a.phone_e164 = b.phone_e164 OR lower(a.email) = lower(b.email)
                         OR a.inn = b.inn) AS any_contact_or_inn,
        count(*) FILTER (WHERE lower(a.name) = lower(b.name) AND a.name <> '') AS same_name"""
    cols = ["pairs", "same_phone", "same_email", "same_inn", "any_contact_or_inn", "same_name"]
    out["false_pairs_share"] = dict(zip(cols, map(int, q(f"""
        SELECT {shared} FROM t a JOIN t b ON a.l = b.l AND a.e <> b.e AND a.record_id < b.record_id""").fetchone())))
    out["missed_pairs_share"] = dict(zip(cols, map(int, q(f"""
        SELECT {shared} FROM t a JOIN t b ON a.e = b.e AND a.l <> b.l AND a.record_id < b.record_id""").fetchone())))

    # examples: one pair per impure lead (largest first) and per split entity (largest first)
    def rec(rid):
        row = q(f"SELECT record_id, l, e, source, source_row, name, phone_e164, email, city, company "
                f"FROM t WHERE record_id = ?", [rid]).fetchone()
        return dict(zip(SHOW, row))
    def worst(group, other):
        """Per `group` (lead or entity) holding several `other`s, its largest pair of parts
        and how many pairs straddle them all, worst groups first."""
        return q(f"""
            WITH g AS (SELECT {group}, {other}, count(*) n, min(record_id) rid FROM t GROUP BY {group}, {other}),
                 s AS (SELECT {group}, sum(n) n_group, count(*) n_parts FROM g GROUP BY {group} HAVING count(*) > 1),
                 p AS (SELECT x.{group}, x.n*y.n w, x.rid ra, y.rid rb,
                              row_number() OVER (PARTITION BY x.{group} ORDER BY x.n*y.n DESC, x.{other}, y.{other}) rn
                       FROM g x JOIN g y ON x.{group} = y.{group} AND x.{other} < y.{other}),
                 gw AS (SELECT {group}, sum(w) pairs FROM p GROUP BY {group})
            SELECT p.{group}, s.n_group, s.n_parts, gw.pairs, p.ra, p.rb
            FROM p JOIN s USING ({group}) JOIN gw USING ({group}) WHERE rn = 1
            ORDER BY gw.pairs DESC, hash(p.{group}) LIMIT {int(n_examples)}""").fetchall()
    false_ex = [{"lead_id": l, "lead_records": int(n_lead), "lead_entities": int(n_ent),
                 "wrong_pairs": int(w), "a": rec(ra), "b": rec(rb)}
                for l, n_lead, n_ent, w, ra, rb in worst("l", "e")]
    missed_ex = [{"entity": e, "entity_records": int(n_ent), "leads": int(n_leads),
                  "missed_pairs": int(w), "a": rec(ra), "b": rec(rb)}
                 for e, n_ent, n_leads, w, ra, rb in worst("e", "l")]
    out["false_merge_examples"] = false_ex
    out["missed_pair_examples"] = missed_ex
    if tags_path:
        out.update(tag_breakdown(con, tags_path))
    return out


def tag_breakdown(con, tags_path):
    """Recall per corruption tag and entity kind; false pairs per pair of kinds."""
    q = con.execute
    p = tags_path.replace("'", "''")
    q(f"""CREATE TEMP TABLE g AS SELECT source, CAST(source_row AS BIGINT) source_row,
              entity_kind, CAST(first_row AS INTEGER) first_row,
              CASE WHEN coalesce(tags, '') = '' THEN [] ELSE string_split(tags, ' ') END tag_list
          FROM read_csv('{p}', header = true, all_varchar = true)""")
    q("""CREATE TEMP TABLE tt AS
         SELECT t.*, g.entity_kind kind, coalesce(g.tag_list, []) tag_list
         FROM t LEFT JOIN g ON g.source = t.source AND g.source_row = CAST(t.source_row AS BIGINT)""")
    out = {"tags_file": tags_path,
           "rows_without_tags": q("SELECT count(*) FROM tt WHERE kind IS NULL").fetchone()[0]}
    q("""CREATE TEMP TABLE tp AS
         SELECT a.l = b.l ok, a.kind kind,
                list_distinct(list_concat(a.tag_list, b.tag_list)) tg
         FROM tt a JOIN tt b ON a.e = b.e AND a.record_id < b.record_id""")

    def recall(expr):
        res = {}
        for tag, n, ok in q(f"""
                SELECT tag, count(*), sum(ok::INT) FROM (
                    SELECT ok, unnest(CASE WHEN len(tg) = 0 THEN ['(clean pair)'] ELSE {expr} END) tag
                    FROM tp)
                GROUP BY tag ORDER BY tag""").fetchall():
            res[tag] = {"true_pairs": int(n), "found": int(ok), "recall": ok / n}
        return res
    out["recall_by_family"] = recall(
        "list_distinct([split_part(x, ':', 1) FOR x IN tg])")
    out["recall_by_tag"] = recall("tg")
    out["recall_by_entity_kind"] = {
        k: {"true_pairs": int(n), "found": int(ok), "recall": ok / n}
        for k, n, ok in q("""SELECT split_part(kind, ':', 1) || CASE WHEN kind LIKE 'company:ИП%' THEN ':ИП' ELSE '' END,
                                    count(*), sum(ok::INT) FROM tp GROUP BY 1 ORDER BY 1""").fetchall()}
    out["false_pairs_by_kinds"] = {
        k: int(n) for k, n in q("""
            SELECT least(a.kind, b.kind) || ' + ' || greatest(a.kind, b.kind) k, count(*) n
            FROM tt a JOIN tt b ON a.l = b.l AND a.e <> b.e AND a.record_id < b.record_id
            GROUP BY 1 ORDER BY 2 DESC, 1""").fetchall()}
    return out


def fmt_rec(x):
    def v(k):
        s = x.get(k)
        return "" if s is None else str(s)
    return (f"{v('source')}#{v('source_row')} e={v('entity')} | {v('name')} | {v('phone_e164')} | "
            f"{v('email')} | {v('city')} | {v('company')}")


def pct(a, b):
    return f"{100 * a / b:.1f}%" if b else "-"


def print_text(o):
    pw, rows = o["pairwise"], o["rows"]
    print(f"pairwise precision {pw['precision']:.4f}, recall {pw['recall']:.4f}, F1 {pw['f1']:.4f} "
          f"(true pairs {pw['true_pairs']}, predicted {pw['predicted_pairs']}, correct {pw['correct_pairs']})")
    print(f"rows: raw {rows['raw']}, landed {rows['landed']}, rejected {rows['rejected']}"
          + (f", landed without entity_id {rows['no_entity_id']}" if rows["no_entity_id"] else ""))
    for s, v in o["rows_by_source"].items():
        print(f"  {s}: {v['landed']}/{v['raw']} landed")
    if o["rejects_by_reason"]:
        print("rejects: " + ", ".join(f"{k} {n}" for k, n in o["rejects_by_reason"].items()))
    c = o["clusters"]
    print(f"clusters: {c['entities']} entities, {c['leads']} leads (largest {c['largest_lead']}), "
          f"{c['impure_leads']} leads mixing entities, {c['split_entities']} entities split")
    print("by source pair:")
    for k, v in o["by_source_pair"].items():
        p = "-" if v["precision"] is None else f"{v['precision']:.4f}"
        r = "-" if v["recall"] is None else f"{v['recall']:.4f}"
        print(f"  {k:20} P {p}  R {r}  (true {v['true_pairs']}, predicted {v['predicted_pairs']})")
    for label, key in (("false pairs", "false_pairs_share"), ("missed pairs", "missed_pairs_share")):
        s = o[key]
        n = s["pairs"]
        print(f"{label}: {n}; same phone {pct(s['same_phone'], n)}, same e-mail {pct(s['same_email'], n)}, "
              f"same ИНН {pct(s['same_inn'], n)}, any of these {pct(s['any_contact_or_inn'], n)}, "
              f"same name {pct(s['same_name'], n)}")
    if "recall_by_family" in o:
        print("recall by corruption on either record of a true pair:")
        for k, v in o["recall_by_family"].items():
            print(f"  {k:22} {v['recall']:.4f}  ({v['found']}/{v['true_pairs']})")
        print("recall by kind of entity:")
        for k, v in o["recall_by_entity_kind"].items():
            print(f"  {k:22} {v['recall']:.4f}  ({v['found']}/{v['true_pairs']})")
        print("false pairs by kinds of the two entities:")
        for k, n in list(o["false_pairs_by_kinds"].items())[:12]:
            print(f"  {k:50} {n}")
    print(f"\nfalse merges (one pair per lead, most wrong pairs first):")
    for i, ex in enumerate(o["false_merge_examples"], 1):
        print(f"{i:2}. lead {ex['lead_id']}: {ex['lead_records']} records of {ex['lead_entities']} entities, "
              f"{ex['wrong_pairs']} wrong pairs")
        print(f"      {fmt_rec(ex['a'])}\n      {fmt_rec(ex['b'])}")
    print(f"\nmissed pairs (one pair per entity, most missed pairs first):")
    for i, ex in enumerate(o["missed_pair_examples"], 1):
        print(f"{i:2}. entity {ex['entity']}: {ex['entity_records']} records in {ex['leads']} leads, "
              f"{ex['missed_pairs']} missed pairs")
        print(f"      {fmt_rec(ex['a'])}\n      {fmt_rec(ex['b'])}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("db")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--examples", type=int, default=15, help="false merges and missed pairs shown")
    ap.add_argument("--tags", help="the generator's row_tags.csv (default: next to DB, if there)")
    ap.add_argument("--no-tags", action="store_true", help="skip the per-family breakdown")
    a = ap.parse_args()
    tags = a.tags
    if tags is None:
        guess = os.path.join(os.path.dirname(os.path.abspath(a.db)), "row_tags.csv")
        tags = guess if os.path.exists(guess) else None
    if a.no_tags:
        tags = None
    o = score(a.db, a.examples, tags)
    if a.json:
        json.dump(o, sys.stdout, ensure_ascii=False, indent=2, default=str)
        print()
    else:
        print_text(o)


if __name__ == "__main__":
    main()
