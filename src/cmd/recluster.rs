//! `leadpipe recluster` and `leadpipe refit`: cluster every record of the base again,
//! with the stored match model or with one fitted again on the whole base. Daily runs
//! cluster only what their new records touch; these are the full runs they are equal to.

use super::run::{print_run_summary, Common};
use super::time_arg::parse_time;
use super::{CliError, CmdResult};
use clap::Args;
use leadpipe::pipeline::{self, Plan, Recluster, RunOptions};
use leadpipe::record::Stage;
use leadpipe::settings::TypedTime;
use std::path::PathBuf;

/// Cluster every record again: consent and warmth follow. Leads keep their ids where
/// their records stay together.
#[derive(Args)]
pub struct ReclusterArgs {
    /// Judge consent expiry and warmth at this time instead of now.
    #[arg(long, value_parser = parse_time)]
    as_of: Option<TypedTime>,
    /// (refit) Refine the model's m-probabilities with the pairs reviewers labelled one
    /// person (`leadpipe label same`, the review page).
    #[arg(long)]
    with_labels: bool,
    #[command(flatten)]
    pub common: Common,
}

pub fn run(args: ReclusterArgs, refit: bool, quiet: bool) -> CmdResult {
    let db = args
        .common
        .db
        .unwrap_or_else(|| PathBuf::from("leadpipe.duckdb"));
    let verb = if refit { "refit" } else { "recluster" };
    if args.with_labels && !refit {
        return Err(CliError::BadArgument(
            "--with-labels refines a model being fitted: use it with leadpipe refit".into(),
        ));
    }
    if !db.exists() {
        return Err(CliError::DatabaseNotFound(db));
    }
    let plan = Plan::without_sources(verb, db);
    let opts = RunOptions {
        from: Some(Stage::Dedupe),
        progress: !quiet,
        command: verb.to_string(),
        as_of: args.as_of,
        labels_feed_m: refit && args.with_labels,
        recluster: if refit {
            Recluster::AllRefit
        } else {
            Recluster::All
        },
        ..RunOptions::default()
    };
    let summary = pipeline::run(&plan, &opts, None)?;
    print_run_summary(&summary, args.common.json, quiet);
    Ok(())
}
