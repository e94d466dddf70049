//! The lead filters `call-list` and `export` share.

use clap::Args;
use leadpipe::enrich::gazetteer::{resolve_place_filter, PlaceKind};

/// Which leads: by warmth, source and place.
#[derive(Args, Debug, Clone, Default)]
pub struct LeadFilters {
    /// Only these warmth tiers (repeatable: --tier hot --tier warm).
    #[arg(long, value_parser = ["hot", "warm", "cold"])]
    pub tier: Vec<String>,
    /// Only leads scoring at least this.
    #[arg(long)]
    pub min_score: Option<i64>,
    /// Only leads that came from this source (repeatable).
    #[arg(long)]
    pub source: Vec<String>,
    /// Only leads in this city: its name, an abbreviation (СПб) or another spelling
    /// (repeatable, any case).
    #[arg(long)]
    pub city: Vec<String>,
    /// Only leads in this region: name, short form or code (RU-MOW, MOW; repeatable).
    #[arg(long)]
    pub region: Vec<String>,
    /// Only leads in this segment (`leadpipe segments` lists them): a name such as
    /// "At Risk", "sleeping" or a segment of your own, or dimension:name (rfm:Lost;
    /// repeatable: any of them).
    #[arg(long)]
    pub segment: Vec<String>,
}

impl LeadFilters {
    /// These filters on top of `opts`, places resolved to the gazetteer's names; returns a
    /// warning for each place the gazetteer does not know (it is matched as written).
    pub fn apply(&self, opts: &mut leadpipe::export::CallListOptions) -> Vec<String> {
        let cities = resolve_place_filter(PlaceKind::City, &self.city);
        let regions = resolve_place_filter(PlaceKind::Region, &self.region);
        opts.tiers = self.tier.clone();
        opts.min_score = self.min_score;
        opts.sources = self.source.clone();
        opts.cities = cities.values;
        opts.regions = regions.values;
        [cities.warnings, regions.warnings].concat()
    }

    /// Looks `--segment` up in the base: the leads in any of the segments named.
    pub fn resolve_segments(
        &self,
        store: &leadpipe::store::Store,
        opts: &mut leadpipe::export::CallListOptions,
    ) -> Result<(), leadpipe::store::StoreError> {
        if !self.segment.is_empty() {
            opts.segment_leads = Some(store.leads_in_segments(&self.segment)?);
        }
        Ok(())
    }
}
