//! The lead filters `call-list` and `export` share.

use clap::Args;

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
    /// Only leads in this city (repeatable, any case).
    #[arg(long)]
    pub city: Vec<String>,
    /// Only leads in this region (name or code, repeatable).
    #[arg(long)]
    pub region: Vec<String>,
}

impl LeadFilters {
    /// These filters on top of `opts`.
    pub fn apply(&self, opts: &mut leadpipe::export::CallListOptions) {
        opts.tiers = self.tier.clone();
        opts.min_score = self.min_score;
        opts.sources = self.source.clone();
        opts.cities = self.city.clone();
        opts.regions = self.region.clone();
    }
}
