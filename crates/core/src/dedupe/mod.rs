//! Deduplication: records → people. Blocking finds candidate pairs, `compare` turns each
//! into agreement levels, the Fellegi–Sunter `model` (weights fitted by EM) scores them,
//! `cluster` merges the confident ones without chaining different people. Every merge
//! keeps its evidence, so `leadpipe explain` can show why two records are one lead.

pub mod block;
pub mod cluster;
pub mod compare;
pub mod decisions;
pub mod evidence;
pub mod golden;
pub mod keys;
pub mod lead_ids;
pub mod model;
mod scores;

pub use evidence::{review_band, Candidate, LabelAgreement, REVIEW_BAND_BITS};
pub use keys::{city_key, company_match_key, own_inn, MatchRecord};
pub use lead_ids::{assign_leads, LeadAssignment};
pub use scores::{pairwise_scores, PairwiseScores};

use crate::gen::Rng;
#[cfg(test)]
use crate::normalise::name::{self, Gender};
use compare::{Comparison, Veto};
use model::{FieldWeight, PairEvidence, Weights};
use rayon::iter::Either;
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;

#[derive(Debug, Clone)]
pub struct DedupeSettings {
    /// Pairs at or above this match probability are merged.
    pub threshold: f64,
    /// Fit weights on this data (EM) rather than reuse the stored ones.
    pub estimate: bool,
}

/// How often each name (surname | first-name forms) occurs among the records a model was
/// fitted on: an exact match on a rare name is stronger evidence than on a common one.
/// Part of the model: fixed until it is fitted again, so that the same pair always scores
/// the same whichever run compares it.
pub type NameFrequencies = HashMap<String, f64>;

/// The names whose frequency the records could look up (for a stored model: read only
/// these from the base).
pub fn name_values(records: &[MatchRecord]) -> Vec<String> {
    let mut names: Vec<String> = records.iter().filter_map(MatchRecord::name_value).collect();
    names.sort_unstable();
    names.dedup();
    names
}

impl Default for DedupeSettings {
    fn default() -> Self {
        DedupeSettings {
            threshold: 0.95,
            estimate: true,
        }
    }
}

/// A pair scored at or above the threshold that was not merged, and the constraint that
/// refused it: a veto on the pair itself, or a conflict with a record already in one of
/// the two groups (`conflict_a`, `conflict_b`), which `explain` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    pub record_a: i64,
    pub record_b: i64,
    pub probability: f64,
    pub veto: Veto,
    pub conflict: Option<(i64, i64)>,
}

/// The evidence for one merge.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Link {
    pub record_a: i64,
    pub record_b: i64,
    pub probability: f64,
    pub match_weight: f64,
    pub comparison: Comparison,
    pub fields: [FieldWeight; model::FIELDS],
    /// The reviewer's decision that joined the pair (its score alone may not have).
    pub decision: Option<i64>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DedupeStats {
    pub records: usize,
    pub blocking: block::BlockingStats,
    pub vetoed_pairs: usize,
    pub pairs_above_threshold: usize,
    /// Merges refused because the groups held different people's names or genders.
    pub refused_merges: usize,
    pub em_iterations: usize,
    pub leads: usize,
    pub new_leads: usize,
    /// The run clustered only the leads its new records touch (`touched_leads` of them,
    /// with `records` records), not the whole base.
    pub incremental: bool,
    pub touched_leads: usize,
    /// The matcher against reviewers' labelled pairs (none labelled: absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed: Option<evidence::LabelAgreement>,
    /// Wall time per phase, milliseconds, in order.
    pub phase_ms: Vec<(&'static str, u64)>,
}

pub struct DedupeOutcome {
    /// Lead id per input record, same order.
    pub lead_of: Vec<i64>,
    pub links: Vec<Link>,
    /// Confident pairs a constraint kept apart.
    pub refusals: Vec<Refusal>,
    /// Pairs left apart whose probability lies in the review band below the threshold.
    pub candidates: Vec<Candidate>,
    /// Existing leads absorbed into another (from, into).
    pub merged_leads: Vec<(i64, i64)>,
    pub weights: Weights,
    /// The name frequencies of a model fitted by this call (`None`: the given model).
    pub fitted_names: Option<NameFrequencies>,
    /// Every block too big to compare whole, by surname, when `records` were the whole
    /// base (no sizes given); empty otherwise.
    pub oversized_blocks: Vec<block::OversizedPart>,
    pub stats: DedupeStats,
}

/// What a call links: the records, in record id order, and when they are part of a
/// bigger base, the sizes of their blocks in it.
pub struct DedupeInput<'a> {
    pub records: &'a [MatchRecord],
    pub sizes: Option<&'a dyn block::BlockSizes>,
    /// Reviewers' decisions in force (pairs naming records not in `records` are left out).
    pub constraints: Option<&'a decisions::Constraints>,
    /// Record pairs reviewers labelled one person, to refine `m` when the model is fitted
    /// (`leadpipe refit --with-labels`); empty: the fit alone.
    pub labelled_same: &'a [(i64, i64)],
}

/// How many pairs' worth the fitted `m` counts for against reviewers' labels.
pub const LABEL_PRIOR_PAIRS: f64 = 20.0;

/// Random pairs used to estimate `u`.
const U_SAMPLE_PAIRS: usize = 200_000;
/// Below this many records, frequencies say little: the default weights are used and
/// names are not term-frequency adjusted.
pub const MIN_RECORDS_TO_FIT: usize = 1000;

/// How often two random records that both hold an identifier agree on it exactly, for
/// phone, e-mail, company and ИНН: Σ c(c−1) / N(N−1) over the counts c of its values
/// among the N records holding it (one pass over the records, or an even sample of
/// 200,000). `None` below 100 holders.
fn chance_agreement(records: &[MatchRecord]) -> [Option<f64>; 4] {
    type Counts<'a> = [(HashMap<&'a str, u64>, u64); 4];
    fn add<'a>(counts: &mut (HashMap<&'a str, u64>, u64), vs: impl Iterator<Item = &'a str>) {
        let mut any = false;
        for v in vs {
            *counts.0.entry(v).or_default() += 1;
            any = true;
        }
        counts.1 += u64::from(any);
    }
    // A sample of 200,000 records estimates the same pair probability at a fifth of the
    // cost for a 1M-row run.
    let stride = records.len().div_ceil(200_000).max(1);
    let counts: Counts = records
        .par_iter()
        .step_by(stride)
        .fold(Counts::default, |mut c, r| {
            add(&mut c[0], r.phones.iter().map(String::as_str));
            add(&mut c[1], r.email.as_deref().into_iter());
            add(&mut c[2], r.company_key.as_deref().into_iter());
            add(&mut c[3], r.inn.as_deref().into_iter());
            c
        })
        .reduce(Counts::default, |a, b| {
            let mut out = Counts::default();
            for (o, (x, y)) in out.iter_mut().zip(a.into_iter().zip(b)) {
                let (mut big, small) = if x.0.len() >= y.0.len() {
                    (x, y)
                } else {
                    (y, x)
                };
                for (k, c) in small.0 {
                    *big.0.entry(k).or_default() += c;
                }
                big.1 += small.1;
                *o = big;
            }
            out
        });
    counts.map(|(values, holders)| {
        if holders < 100 {
            return None;
        }
        let same: f64 = values
            .values()
            .map(|&c| (c * c.saturating_sub(1)) as f64)
            .sum();
        let n = holders as f64;
        Some((same / (n * (n - 1.0))).max(1.0 / (n * n)))
    })
}

/// A compared pair in eight bytes, beside its entry in the candidate pairs: a 10M-row
/// base compares ~100M pairs, and a full `PairEvidence` with the pair's indices took 48
/// bytes each. `levels` as [`model::levels`] gives them (255: no evidence); `veto` is
/// [`Veto::code`] (0: none). A vetoed pair keeps its levels, to explain the refusal.
#[derive(Clone, Copy)]
struct Compared {
    levels: [u8; model::FIELDS],
    veto: u8,
}

impl Compared {
    fn new(cmp: &Comparison, veto: Option<Veto>) -> Compared {
        Compared {
            levels: model::levels(cmp).map(|l| l.unwrap_or(u8::MAX)),
            veto: veto.map_or(0, Veto::code),
        }
    }

    /// The evidence the model scores; `tf_u` is the frequency of the first record's name
    /// (used for an exact name match only).
    fn evidence(&self, tf_u: Option<f64>) -> PairEvidence {
        let levels = self.levels.map(|l| (l != u8::MAX).then_some(l));
        PairEvidence {
            tf_u: match levels[0] {
                Some(l) if l == compare::NameLevel::Exact as u8 => tf_u,
                _ => None,
            },
            levels,
        }
    }
}
/// (probability, record, record, why, the conflicting records when a group refused).
type RefusedPair = (f64, u32, u32, Veto, Option<(u32, u32)>);
/// (probability, record, record, evidence, the reviewer's decision that joined them).
type Merge = (f64, u32, u32, PairEvidence, Option<i64>);

/// Links records into leads from scratch: the whole base, or (`link`) the part of it a
/// run can change. With `settings.estimate` and enough records, the model is fitted on
/// them; otherwise `model` (or the default weights) is used as it is. New leads get ids
/// from `next_lead_id` upwards; see [`assign_leads`] for which groups keep an old id.
pub fn dedupe(
    records: &[MatchRecord],
    settings: &DedupeSettings,
    model: Option<(Weights, NameFrequencies)>,
    next_lead_id: i64,
) -> DedupeOutcome {
    link(
        DedupeInput {
            records,
            sizes: None,
            constraints: None,
            labelled_same: &[],
        },
        settings,
        model,
        next_lead_id,
    )
}

/// Term frequencies of names over `records` (counted on all cores).
fn name_frequencies(records: &[MatchRecord]) -> NameFrequencies {
    let n = records.len();
    let counts: HashMap<String, usize> = records
        .par_iter()
        .fold(HashMap::default, |mut counts: HashMap<String, usize>, r| {
            if let Some(v) = r.name_value() {
                *counts.entry(v).or_default() += 1;
            }
            counts
        })
        .reduce(HashMap::default, |a, b| {
            let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (k, c) in small {
                *big.entry(k).or_default() += c;
            }
            big
        });
    counts
        .into_iter()
        .map(|(k, c)| (k, c as f64 / n.max(1) as f64))
        .collect()
}

/// [`dedupe`] over `input`: records that may be only part of the base (`input.sizes`
/// then gives their blocks' sizes in it).
// Long because it is the pipeline of phases, each timed: split up, the timings and
// the shared pairs would have to travel between the pieces.
pub fn link(
    input: DedupeInput,
    settings: &DedupeSettings,
    model: Option<(Weights, NameFrequencies)>,
    next_lead_id: i64,
) -> DedupeOutcome {
    let records = input.records;
    let n = records.len();
    let mut stats = DedupeStats {
        records: n,
        ..DedupeStats::default()
    };
    let mut clock = std::time::Instant::now();
    let mut lap = |stats: &mut DedupeStats, phase: &'static str| {
        stats
            .phase_ms
            .push((phase, clock.elapsed().as_millis() as u64));
        clock = std::time::Instant::now();
    };

    let fit = settings.estimate && n >= MIN_RECORDS_TO_FIT;
    let (given, tf) = match model {
        _ if fit => (None, name_frequencies(records)),
        Some((weights, tf)) => (Some(weights), tf),
        None => (None, HashMap::default()),
    };
    lap(&mut stats, "term_frequencies");
    let block::Blocked {
        pairs,
        stats: blocking,
        oversized,
    } = block::candidate_pairs(records, input.sizes);
    stats.blocking = blocking;
    lap(&mut stats, "blocking");

    // Each record's name frequency, looked up once rather than once per pair.
    let tf_of: Vec<Option<f64>> = if tf.is_empty() {
        Vec::new()
    } else {
        records
            .par_iter()
            .map(|r| r.name_value().and_then(|v| tf.get(&v).copied()))
            .collect()
    };
    let tf_u = |a: u32| tf_of.get(a as usize).copied().flatten();
    let compared: Vec<Compared> = pairs
        .par_iter()
        .map(|&(a, b, _)| {
            let (cmp, veto) = compare::assess(&records[a as usize], &records[b as usize]);
            Compared::new(&cmp, veto)
        })
        .collect();
    stats.vetoed_pairs = compared.iter().filter(|c| c.veto != 0).count();
    lap(&mut stats, "comparing");

    // A fit starts from the defaults, never from an earlier fit: the same records give
    // the same model whatever came before.
    let mut weights = given.unwrap_or_default();
    if fit {
        let mut rng = Rng::new(0x1ead_91e5);
        let samples = U_SAMPLE_PAIRS;
        // The pairs are drawn in order (the same every run), then compared on all cores.
        let drawn: Vec<(usize, usize)> =
            (0..samples).map(|_| (rng.below(n), rng.below(n))).collect();
        let random: Vec<[Option<u8>; model::FIELDS]> = drawn
            .par_iter()
            .map(|&(a, b)| model::levels(&compare::compare(&records[a], &records[b])))
            .collect();
        weights.estimate_u(&random);
        // Exact agreement on identifiers, from their value counts rather than a sample.
        let fields = [model::PHONE, model::EMAIL, model::COMPANY, model::INN];
        for (field, p) in fields.into_iter().zip(chance_agreement(records)) {
            if let Some(p) = p {
                weights.set_u_equal(field, p);
            }
        }
        // The blocked pairs of some keys, in order, without regrowing a vector of
        // millions (reserved for all; pages never written cost no memory).
        let pairs_by = |kind: u8| {
            let mut out = Vec::with_capacity(pairs.len());
            out.extend(
                pairs
                    .iter()
                    .zip(&compared)
                    .filter(|(p, c)| p.2 & kind != 0 && c.veto == 0)
                    .map(|(p, c)| c.evidence(tf_u(p.0))),
            );
            out
        };
        let sessions = [
            model::Session {
                fixed_field: model::PHONE,
                pairs: pairs_by(block::BY_PHONE),
            },
            model::Session {
                fixed_field: model::EMAIL,
                pairs: pairs_by(block::BY_EMAIL),
            },
        ];
        let strong = pairs_by(block::BY_PHONE | block::BY_EMAIL);
        stats.em_iterations = weights.fit(&sessions, &strong, n);
        if !input.labelled_same.is_empty() {
            let same = decisions::levels_of(records, input.labelled_same);
            weights.blend_m_with_labels(&same, LABEL_PRIOR_PAIRS);
        }
    }
    lap(&mut stats, "fitting");

    // Vetoed pairs the score alone would have merged are kept to explain the refusal.
    let mut refused: Vec<RefusedPair> = pairs
        .par_iter()
        .zip(&compared)
        .filter_map(|(&(a, b, _), c)| {
            let veto = Veto::from_code(c.veto)?;
            let p = weights.probability(&c.evidence(tf_u(a)));
            (p >= settings.threshold).then_some((p, a, b, veto, None))
        })
        .collect();
    // Pairs at or above the threshold are merged; those from the low end of the review
    // band up to it are kept (compactly) for a reviewer.
    let low = review_band(settings.threshold).0;
    let (mut confident, near): (Vec<Merge>, Vec<(f64, u32, u32)>) = pairs
        .par_iter()
        .zip(&compared)
        .filter_map(|(&(a, b, _), c)| {
            if c.veto != 0 {
                return None;
            }
            let e = c.evidence(tf_u(a));
            let p = weights.probability(&e);
            if p >= settings.threshold {
                Some(Either::Left((p, a, b, e, None)))
            } else {
                (p >= low).then_some(Either::Right((p, a, b)))
            }
        })
        .partition_map(|x| x);
    // Reviewers' decisions come first: must-links join whatever the score, cannot-links
    // refuse any merge that would join their records.
    let mut clusters = cluster::Clusters::new(records);
    let mut merges = Vec::new();
    if let Some(c) = input.constraints {
        decisions::apply(records, c, &mut clusters, &weights, &tf_u, &mut merges);
    }
    drop((pairs, compared, tf_of));
    stats.pairs_above_threshold = confident.len();
    // Strongest first; ties by index so runs are reproducible (a total order, so the
    // parallel sort gives the same sequence).
    confident.par_sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));

    // Union–find is sequential; the evidence of each merge is written out afterwards on
    // all cores, in merge order.
    for (p, a, b, e, _) in confident {
        let (ra, rb) = (clusters.find(a), clusters.find(b));
        if ra == rb {
            continue;
        }
        match clusters.union(records, a, b) {
            Ok(()) => merges.push((p, a, b, e, None)),
            Err(c) => {
                stats.refused_merges += 1;
                refused.push((p, a, b, c.veto, Some((c.record_a, c.record_b))));
            }
        }
    }
    let id = |i: u32| records[i as usize].record_id;
    // A vetoed pair a reviewer's must-link joined anyway was not refused after all.
    refused.retain(|&(_, a, b, _, _)| clusters.find(a) != clusters.find(b));
    let refusals: Vec<Refusal> = refused
        .into_iter()
        .map(|(probability, a, b, veto, conflict)| Refusal {
            record_a: id(a),
            record_b: id(b),
            probability,
            veto,
            conflict: conflict.map(|(x, y)| (id(x), id(y))),
        })
        .collect();
    let candidates: Vec<Candidate> = near
        .into_iter()
        .filter(|&(_, a, b)| clusters.find(a) != clusters.find(b))
        .map(|(probability, a, b)| Candidate {
            record_a: id(a),
            record_b: id(b),
            probability,
        })
        .collect();
    let links: Vec<Link> = merges
        .into_par_iter()
        .map(|(p, a, b, e, decision)| Link {
            record_a: records[a as usize].record_id,
            record_b: records[b as usize].record_id,
            probability: p,
            match_weight: weights.match_weight(&e),
            comparison: compare::compare(&records[a as usize], &records[b as usize]),
            fields: weights.field_weights(&e),
            decision,
        })
        .collect();

    lap(&mut stats, "clustering");
    let groups: Vec<u32> = (0..n as u32).map(|i| clusters.find(i)).collect();
    let leads = assign_leads(records, &groups, next_lead_id);
    stats.new_leads = leads.new_leads;
    stats.leads = leads.leads;
    let (lead_of, merged_leads) = (leads.lead_of, leads.merged_leads);
    DedupeOutcome {
        lead_of,
        links,
        refusals,
        candidates,
        merged_leads,
        weights,
        fitted_names: fit.then_some(tf),
        oversized_blocks: oversized,
        stats,
    }
}

/// A record from a few fields, for tests (phones comma-separated, "" for none).
#[cfg(test)]
pub(crate) fn test_record(last: &str, first: &str, phones: &str, email: &str) -> MatchRecord {
    MatchRecord::from_fields(
        0,
        None,
        phones
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        (!email.is_empty()).then(|| email.to_string()),
        None,
        Some(last).filter(|l| !l.is_empty()),
        Some(first).filter(|f| !f.is_empty()),
        None,
        None,
        None,
        None,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        id: i64,
        last: &str,
        first: &str,
        phone: &str,
        email: &str,
        gender: &str,
    ) -> MatchRecord {
        let mut r = test_record(last, first, phone, email);
        r.record_id = id;
        r.gender = match gender {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            _ => None,
        };
        r.city_key = city_key("Москва");
        r
    }

    #[test]
    fn merges_variants_keeps_family_apart() {
        let records = vec![
            rec(
                1,
                "Иванов",
                "Иван",
                "+79161234567",
                "ivanov@mail.ru",
                "male",
            ),
            rec(2, "Ivanov", "Ivan", "+79161234567", "", "male"),
            rec(3, "Иванов", "И.", "", "ivanov@mail.ru", ""),
            rec(
                4,
                "Иванова",
                "Мария",
                "+79161234567",
                "maria@mail.ru",
                "female",
            ),
            rec(5, "Петров", "Пётр", "+79031112233", "", "male"),
        ];
        let out = dedupe(&records, &DedupeSettings::default(), None, 100);
        assert_eq!(out.lead_of[0], out.lead_of[1]);
        assert_eq!(out.lead_of[0], out.lead_of[2]);
        assert_ne!(
            out.lead_of[0], out.lead_of[3],
            "family member sharing the phone"
        );
        assert_ne!(out.lead_of[0], out.lead_of[4]);
        assert_eq!(out.stats.leads, 3);
        assert!(out.links.iter().all(|l| l.probability >= 0.95));
    }

    #[test]
    fn incremental_keeps_ids_and_links_new_records() {
        let mut records = vec![
            rec(1, "Иванов", "Иван", "+79161234567", "", "male"),
            rec(2, "Петров", "Пётр", "+79031112233", "", "male"),
        ];
        records[0].lead_id = Some(10);
        records[1].lead_id = Some(11);
        records.push(rec(3, "Ivanov", "Ivan", "+79161234567", "", "male"));
        records.push(rec(4, "Сидоров", "Сидор", "+79035556677", "", "male"));
        let out = dedupe(&records, &DedupeSettings::default(), None, 12);
        assert_eq!(out.lead_of, vec![10, 11, 10, 12]);
        assert_eq!(out.stats.new_leads, 1);
    }

    #[test]
    fn a_misspelt_name_does_not_block_a_merge_the_contacts_support() {
        let records = vec![
            rec(
                1,
                "Никонова",
                "Эмилия",
                "+79066830351",
                "nikonova_e391@list.ru",
                "female",
            ),
            rec(
                2,
                "Нконова",
                "Эмиия",
                "+79066830351",
                "nikonova_e391@list.ru",
                "",
            ),
            rec(
                3,
                "Никонова",
                "Эмилия",
                "",
                "nikonova_e391@list.ru",
                "female",
            ),
        ];
        let out = dedupe(&records, &DedupeSettings::default(), None, 1);
        assert_eq!(out.stats.leads, 1, "{:?}", out.refusals);
    }

    #[test]
    fn a_form_row_without_patronymic_cannot_chain_father_and_son() {
        let mut father = rec(1, "Шилов", "Елисей", "+79610533302", "", "male");
        father.middle_key = Some(name::name_key("Арсеньевич"));
        let mut son = rec(2, "Шилов", "Елисей", "+79641218895", "", "male");
        son.middle_key = Some(name::name_key("Елисеевич"));
        let form_a = rec(
            3,
            "Шилов",
            "Елисей",
            "+79610533302",
            "shilov@mail.ru",
            "male",
        );
        let form_b = rec(
            4,
            "Шилов",
            "Елисей",
            "+79641218895",
            "shilov@mail.ru",
            "male",
        );
        let records = vec![father, son, form_a, form_b];
        let out = dedupe(&records, &DedupeSettings::default(), None, 1);
        assert_ne!(out.lead_of[0], out.lead_of[1]);
        assert!(out.stats.refused_merges >= 1);
        let refusal = out
            .refusals
            .iter()
            .find(|r| r.conflict.is_some())
            .expect("a refusal");
        assert_eq!(refusal.veto, Veto::PatronymicsDiffer);
    }

    #[test]
    fn switchboard_shared_by_many_is_not_one_person() {
        // 100 employees behind one company number, plus one of them listed twice.
        const FIRST: [&str; 10] = [
            "Иван",
            "Мария",
            "Олег",
            "Анна",
            "Пётр",
            "Ольга",
            "Денис",
            "Юлия",
            "Игорь",
            "Вера",
        ];
        const ROOT: [&str; 10] = [
            "Кузнец",
            "Петр",
            "Сидор",
            "Козл",
            "Волк",
            "Зайц",
            "Медвед",
            "Орл",
            "Сокол",
            "Голуб",
        ];
        const END: [&str; 10] = [
            "ов",
            "ин",
            "ский",
            "енко",
            "ович",
            "ук",
            "ян",
            "швили",
            "ман",
            "ер",
        ];
        let mut records: Vec<MatchRecord> = (0..100)
            .map(|i| {
                let surname = format!("{}{}", ROOT[i / 10], END[i % 10]);
                let mut r = test_record(&surname, FIRST[i % 10], "+74951234567", "");
                r.record_id = i as i64;
                r
            })
            .collect();
        let mut again = test_record("Кузнецшвили", "Юля", "+74951234567", "");
        again.record_id = 100;
        records.push(again);
        let out = dedupe(&records, &DedupeSettings::default(), None, 1);
        assert_eq!(out.stats.blocking.oversized_blocks, 1);
        assert_eq!(out.stats.leads, 100, "only the repeated employee merges");
        assert_eq!(out.lead_of[7], out.lead_of[100]);
    }

    proptest::proptest! {
        /// However records are linked by shared phones and e-mails, no lead ever holds two
        /// records that the pair veto calls different people (first names that are not
        /// misspellings of each other, patronymics, genders): one bad link cannot chain
        /// people, and «Шилов Елисей» cannot join Арсеньевич and Елисеевич.
        #[test]
        fn leads_never_chain_different_people(
            picks in proptest::collection::vec((0usize..12, 0usize..3, 0usize..3), 2..60)
        ) {
            const PEOPLE: [(&str, &str, &str, &str); 12] = [
                // Read crosswise against Юдин Мартын, a clash against Иванов Мартын.
                ("Mrtyn", "Judin", "", ""),
                ("Юдин", "Мартын", "", ""),
                ("Иванов", "Мартын", "", ""),
                ("Иванов", "Иван", "", "male"),
                ("Иванова", "Мария", "", "female"),
                ("Иванов", "Ваня", "Петрович", "male"),
                ("Ivanov", "Ivan", "Sergeevich", "male"),
                ("Иванов", "Пётр", "", "male"),
                ("Иванов", "И.", "", ""),
                ("Иванов", "Иавн", "Петрович", ""),
                ("Иванова", "Марина", "", "female"),
                ("Иванов", "Иван", "П.", ""),
            ];
            const PHONES: [&str; 3] = ["+79161234567", "+74951234567", ""];
            const EMAILS: [&str; 3] = ["ivanov@mail.ru", "family@mail.ru", ""];
            let records: Vec<MatchRecord> = picks
                .iter()
                .enumerate()
                .map(|(i, &(p, ph, em))| {
                    let (last, first, middle, gender) = PEOPLE[p];
                    let mut r = rec(i as i64, last, first, PHONES[ph], EMAILS[em], gender);
                    r.middle_key = Some(name::name_key(middle)).filter(|k| !k.is_empty());
                    r
                })
                .collect();
            let out = dedupe(&records, &DedupeSettings::default(), None, 1);
            let mut by_lead: HashMap<i64, Vec<&MatchRecord>> = HashMap::default();
            for (r, l) in records.iter().zip(&out.lead_of) {
                by_lead.entry(*l).or_default().push(r);
            }
            for members in by_lead.values() {
                for a in members {
                    for b in members {
                        proptest::prop_assert!(
                            compare::veto(a, b).is_none(),
                            "{:?} and {:?} in one lead", a.first_key, b.first_key
                        );
                    }
                }
            }
        }
    }
}
