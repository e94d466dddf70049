//! leadpipe: messy lead files in; clean, deduplicated, consent-checked leads in DuckDB out.
//!
//! The workspace (see `docs/architecture.md`): `leadpipe-core` holds the record model and
//! every stage's rules without a database; `leadpipe-store` is the DuckDB base with each
//! stage's tables and queries; this crate runs pipelines over them ([`pipeline`]) and holds
//! the commands that read the base (call lists, reports, the review site).

pub use leadpipe_core::{
    analysis, calls, consent, dedupe, enrich, fault, gen, normalise, record, sources, warmth,
};
pub use leadpipe_store as store;

pub mod analyse;
pub mod compliance;
pub mod consent_commands;
pub mod crm_export;
pub mod deals;
pub mod export;
pub mod lang;
pub mod outcomes;
pub mod pipeline;
pub mod report;
pub mod review;
pub mod serve;
pub mod settings;
pub mod sheet;
pub mod shortfall;
