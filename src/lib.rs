//! leadpipe: messy lead files in; clean, deduplicated, consent-checked leads in DuckDB out.
//!
//! Stages (one module each): [`sources`] read files into raw rows, [`normalise`] turns them
//! into clean records, [`store`] lands everything in DuckDB. [`pipeline`] wires them
//! together from a pipeline file. See README.md for the manual and DESIGN notes.

pub mod compliance;
pub mod consent;
pub mod dedupe;
pub mod enrich;
pub mod export;
pub mod fault;
pub mod gen;
mod memo;
pub mod normalise;
pub mod outcomes;
pub mod pipeline;
pub mod record;
pub mod report;
pub mod serve;
pub mod sources;
pub mod store;
pub mod warmth;
