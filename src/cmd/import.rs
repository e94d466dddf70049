//! `leadpipe import`: one file, headers mapped automatically, run like a one-source pipeline.

use super::run::{print_run_summary, Common};
use super::time_arg::parse_time;
use super::CmdResult;
use clap::Args;
use leadpipe::pipeline::{self, RunError, RunOptions};
use leadpipe::record::Origin;
use leadpipe::settings::TypedTime;
use leadpipe::sources::SourceKind;
use std::path::PathBuf;

/// Import one file, mapping its headers automatically.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe import list.csv --origin purchased --db leads.duckdb
  leadpipe import leads.xlsx --origin purchased --source vendor-2026-11
  leadpipe import form.jsonl --origin form

Headers such as ФИО, Фамилия, Имя, Отчество, Телефон, Моб. телефон, E-mail, Почта,
Компания, Город, ИНН (or name, phone, email, company, city) are recognised.
For anything else, write a pipeline file with a [sources.columns] map.")]
pub struct ImportArgs {
    /// CSV/TSV, XLSX or JSONL file.
    file: PathBuf,
    /// Where the leads came from; decides what consent they can carry.
    #[arg(long, value_enum, default_value_t = Origin::Purchased)]
    origin: Origin,
    /// Source name recorded on every row (default: the file name).
    #[arg(long)]
    source: Option<String>,
    /// File kind, when the extension does not tell.
    #[arg(long, value_enum)]
    kind: Option<SourceKind>,
    /// Judge consent expiry and warmth at this time instead of now.
    #[arg(long, value_parser = parse_time)]
    as_of: Option<TypedTime>,
    #[command(flatten)]
    common: Common,
}

pub fn run(args: ImportArgs, quiet: bool) -> CmdResult {
    let db = args
        .common
        .db
        .unwrap_or_else(|| PathBuf::from("leadpipe.duckdb"));
    let plan = pipeline::plan_for_file(&args.file, args.origin, args.source, args.kind, db)
        .map_err(RunError::from)?;
    let opts = RunOptions {
        progress: !quiet,
        command: format!("import {}", args.file.display()),
        as_of: args.as_of,
        ..RunOptions::default()
    };
    let summary = pipeline::run(&plan, &opts, None)?;
    print_run_summary(&summary, args.common.json, quiet);
    Ok(())
}
