//! leadpipe's core: everything a lead goes through that needs no database.
//!
//! [`sources`] read files and pages into raw rows, [`normalise`] turns them into clean
//! records, [`enrich`] adds what can be derived locally, [`dedupe`] matches records into
//! golden records, [`consent`] and [`warmth`] hold the rules that decide who may be called
//! and how warm a lead is. Nothing here depends on DuckDB: another engine or a Python
//! binding builds this crate without compiling C++ (see `docs/architecture.md`).

pub mod analysis;
pub mod calls;
pub mod consent;
pub mod deals;
pub mod dedupe;
pub mod enrich;
pub mod fault;
pub mod gen;
mod memo;
pub mod normalise;
pub mod record;
pub mod sources;
pub mod warmth;
