//! Deduplication accuracy and speed on generated leads with ground truth.
//!
//!     cargo run --release --example bench_dedupe [ROWS] [SEED]
//!
//! Rows come from the same generator as `leadpipe gen` (name variants, Latin spellings,
//! initials, typo domains, broken numbers, relatives sharing a landline), are normalised as
//! the pipeline does, deduplicated, and scored pairwise against the true person ids.

use leadpipe::dedupe::{dedupe, pairwise_scores, DedupeSettings, MatchRecord};
use leadpipe::gen::{Person, Rng};
use leadpipe::normalise::Normaliser;
use leadpipe::record::{Cell, RawRow};
use leadpipe::sources::headers::Field;
use rayon::prelude::*;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(42);

    let keys: Vec<(Arc<str>, Option<Field>)> = [
        ("entity_id", None),
        ("ФИО", Some(Field::FullName)),
        ("Телефон", Some(Field::Phone)),
        ("E-mail", Some(Field::Email)),
        ("Город", Some(Field::City)),
        ("Компания", Some(Field::Company)),
    ]
    .into_iter()
    .map(|(k, f)| (Arc::from(k), f))
    .collect();
    let raw: Vec<RawRow> = leadpipe::gen::rows(rows, seed)
        .into_iter()
        .enumerate()
        .map(|(i, fields)| RawRow {
            source_row: i as u64 + 1,
            cells: keys
                .iter()
                .zip(fields)
                .map(|((key, field), value)| Cell {
                    key: key.clone(),
                    field: *field,
                    value,
                })
                .collect(),
            problem: None,
        })
        .collect();
    let _ = (Person::random, Rng::new); // the generator's building blocks, for readers

    let start = Instant::now();
    let normaliser = Normaliser::default();
    let mut clean: Vec<(u64, i64, leadpipe::record::CleanRecord)> = raw
        .par_iter()
        .enumerate()
        .filter_map(|(i, row)| {
            let rec = normaliser.normalise(row).ok()?;
            let truth: u64 = row.cells[0].value.parse().ok()?;
            Some((truth, i as i64 + 1, rec))
        })
        .collect();
    let normalise_s = start.elapsed().as_secs_f64();
    // Local enrichment on its own, the way the pipeline runs it (all cores).
    let start = Instant::now();
    clean
        .par_iter_mut()
        .for_each(|(_, _, rec)| leadpipe::enrich::enrich(rec));
    let enrich_s = start.elapsed().as_secs_f64();
    let accepted: Vec<(u64, MatchRecord)> = clean
        .par_iter()
        .map(|(truth, id, rec)| (*truth, MatchRecord::from_clean(*id, rec)))
        .collect();
    drop(clean);
    let (truth, records): (Vec<u64>, Vec<MatchRecord>) = accepted.into_iter().unzip();

    let start = Instant::now();
    let out = dedupe(&records, &DedupeSettings::default(), None, 1);
    let dedupe_s = start.elapsed().as_secs_f64();
    let s = pairwise_scores(&truth, &out.lead_of);
    println!(
        "{rows} rows generated, {} accepted; normalise {normalise_s:.2} s, enrich {enrich_s:.2} s, dedupe {dedupe_s:.2} s",
        records.len()
    );
    println!(
        "pairs: {} candidate, {} vetoed, {} above threshold, {} merges refused; {} leads",
        out.stats.blocking.pairs,
        out.stats.vetoed_pairs,
        out.stats.pairs_above_threshold,
        out.stats.refused_merges,
        out.stats.leads
    );
    println!(
        "pairwise precision {:.4}, recall {:.4}, F1 {:.4} (true pairs {}, predicted {}, correct {})",
        s.precision, s.recall, s.f1, s.true_pairs, s.predicted_pairs, s.correct_pairs
    );
    // Where recall is lost: comparison levels of true pairs left apart.
    let mut by_entity: std::collections::HashMap<u64, Vec<usize>> = Default::default();
    for (i, t) in truth.iter().enumerate() {
        by_entity.entry(*t).or_default().push(i);
    }
    let mut missed: std::collections::HashMap<String, usize> = Default::default();
    for members in by_entity.values() {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                if out.lead_of[a] != out.lead_of[b] {
                    let c = leadpipe::dedupe::compare::compare(&records[a], &records[b]);
                    let v = leadpipe::dedupe::compare::veto(&records[a], &records[b]);
                    *missed.entry(format!("{c:?} veto={v:?}")).or_default() += 1;
                    if std::env::var_os("SHOW_MISSED").is_some()
                        && c.email == Some(leadpipe::dedupe::compare::EmailLevel::Differ)
                    {
                        println!("missed: {:?} | {:?}", records[a].email, records[b].email);
                    }
                }
            }
        }
    }
    let mut missed: Vec<_> = missed.into_iter().collect();
    missed.sort_by_key(|m| std::cmp::Reverse(m.1));
    println!("true pairs left apart, by comparison (top 8):");
    for (k, n) in missed.iter().take(8) {
        println!("  {n:>6}  {k}");
    }
    println!(
        "EM: {} iterations, lambda {:.4}",
        out.stats.em_iterations, out.weights.lambda
    );
    for (f, name) in leadpipe::dedupe::model::FIELD_NAMES.iter().enumerate() {
        let w: Vec<String> = out.weights.m[f]
            .iter()
            .zip(&out.weights.u[f])
            .map(|(m, u)| format!("{:+.1}", (m / u).log2()))
            .collect();
        println!("  {name:<6} level weights {}", w.join(" "));
    }
}
