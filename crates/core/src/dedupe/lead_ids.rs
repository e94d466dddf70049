//! Which lead id each group of records gets after clustering: old ids survive
//! re-clustering, new people get new ones.

use super::MatchRecord;
use rustc_hash::FxHashMap as HashMap;

/// Lead ids for groups of records (`groups[i]`: the group of record i).
pub struct LeadAssignment {
    pub lead_of: Vec<i64>,
    /// Old leads absorbed into another (from, into), sorted.
    pub merged_leads: Vec<(i64, i64)>,
    pub leads: usize,
    pub new_leads: usize,
}

/// Which group keeps which old lead id, so that ids survive re-clustering: each old lead
/// goes to the group holding most of its records (ties: the group holding its lowest
/// record id); a group that receives several keeps the lowest and the others are merged
/// into it; a group that receives none gets a new id, from `next_lead_id` upwards, in
/// record order. Clustering the same records into the same groups again therefore keeps
/// every id; a lead split in two keeps its id on the bigger part.
pub fn assign_leads(records: &[MatchRecord], groups: &[u32], next_lead_id: i64) -> LeadAssignment {
    // (old lead, group) → (records, lowest record id).
    let mut shares: HashMap<(i64, u32), (usize, i64)> = HashMap::default();
    for (r, &g) in records.iter().zip(groups) {
        if let Some(l) = r.lead_id {
            let e = shares.entry((l, g)).or_insert((0, r.record_id));
            e.0 += 1;
            e.1 = e.1.min(r.record_id);
        }
    }
    // Per old lead, the group that inherits it: most records, then the lowest record id.
    let mut heir: HashMap<i64, (u32, usize, i64)> = HashMap::default();
    for (&(l, g), &(count, first)) in &shares {
        let e = heir.entry(l).or_insert((g, count, first));
        if (count, std::cmp::Reverse(first)) > (e.1, std::cmp::Reverse(e.2)) {
            *e = (g, count, first);
        }
    }
    let mut lead_of_group: HashMap<u32, i64> = HashMap::default();
    let mut merged_leads = Vec::new();
    let mut inherited: Vec<(u32, i64)> = heir.iter().map(|(&l, &(g, ..))| (g, l)).collect();
    inherited.sort_unstable();
    for (g, l) in inherited {
        match lead_of_group.get(&g) {
            Some(&kept) => merged_leads.push((l, kept)),
            None => {
                lead_of_group.insert(g, l);
            }
        }
    }
    merged_leads.sort_unstable();
    merged_leads.dedup();
    let mut next = next_lead_id;
    let lead_of: Vec<i64> = groups
        .iter()
        .map(|g| {
            *lead_of_group.entry(*g).or_insert_with(|| {
                next += 1;
                next - 1
            })
        })
        .collect();
    LeadAssignment {
        leads: lead_of_group.len(),
        new_leads: (next - next_lead_id) as usize,
        lead_of,
        merged_leads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_ids_go_to_the_group_holding_most_of_the_lead() {
        let with = |id: i64, lead: Option<i64>| {
            let mut r = super::super::test_record("Иванов", "Иван", "", "");
            r.record_id = id;
            r.lead_id = lead;
            r
        };
        // Lead 10 split 2/1, leads 11 and 12 joined, a new record alone.
        let records = vec![
            with(1, Some(10)),
            with(2, Some(10)),
            with(3, Some(10)),
            with(4, Some(11)),
            with(5, Some(12)),
            with(6, None),
        ];
        let groups = [0, 0, 2, 3, 3, 5];
        let out = assign_leads(&records, &groups, 20);
        assert_eq!(out.lead_of, vec![10, 10, 20, 11, 11, 21]);
        assert_eq!(out.merged_leads, vec![(12, 11)]);
        assert_eq!((out.leads, out.new_leads), (4, 2));
        // The same groups again keep every id.
        let mut again = records.clone();
        for (r, l) in again.iter_mut().zip(&out.lead_of) {
            r.lead_id = Some(*l);
        }
        let same = assign_leads(&again, &groups, 22);
        assert_eq!(same.lead_of, out.lead_of);
        assert!(same.merged_leads.is_empty());
        assert_eq!(same.new_leads, 0);
    }
}
