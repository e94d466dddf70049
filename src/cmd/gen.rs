//! `leadpipe gen` (hidden): synthetic leads for benchmarks.

use super::{CliError, CmdResult};
use clap::Args;
use std::path::PathBuf;

/// Write synthetic Russian leads with realistic corruptions (for benchmarks).
#[derive(Args)]
pub struct GenArgs {
    /// How many rows.
    #[arg(long, default_value_t = 1000)]
    rows: usize,
    /// Output CSV file.
    #[arg(long)]
    out: PathBuf,
    /// Random seed, for reproducible files.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write CP1251 with `;` like a purchased list (default: UTF-8 with `,`).
    #[arg(long)]
    cp1251: bool,
}

pub fn run(args: GenArgs) -> CmdResult {
    leadpipe::gen::write_csv(&args.out, args.rows, args.seed, args.cp1251).map_err(|source| {
        CliError::Generate {
            path: args.out,
            source,
        }
    })
}
