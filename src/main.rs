//! The CLI: parse arguments, call the library, turn errors into messages and exit codes.

use clap::{Args, Parser, Subcommand};
use leadpipe::pipeline::{self, RunError, RunOptions, RunSummary};
use leadpipe::record::{Origin, Stage};
use leadpipe::sources::SourceKind;
use std::path::PathBuf;
use std::process::ExitCode;

// The pipeline allocates millions of small strings across threads; mimalloc does that
// faster than glibc's malloc (measured in the README's benchmark section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes (sysexits-style), so batch schedulers can tell whose fault a failure was.
const EXIT_BAD_INPUT: u8 = 65; // the file or pipeline file is wrong: fix the input
const EXIT_NO_INPUT: u8 = 66; // a file named on the command line or in the pipeline is missing
const EXIT_INTERNAL: u8 = 70; // a bug in leadpipe: please report it
const EXIT_DB: u8 = 74; // the database could not be opened or written

#[derive(Parser)]
#[command(
    name = "leadpipe",
    version,
    about = "Turn messy lead files into a clean, deduplicated, consent-checked base in DuckDB",
    long_about = "leadpipe reads lead files (CSV in any encoding, XLSX, JSONL form exports), \
normalises phones, emails and names, and lands raw rows, clean records and rejects in one \
DuckDB file. Every input row ends up either in `records` or in `rejects` with a reason.",
    after_help = "Examples:
  leadpipe run pipelines/demo.toml                  run the demo pipeline on fixtures/
  leadpipe run pipelines/demo.toml --json           same, print a machine-readable summary
  leadpipe run pipelines/demo.toml --only normalise re-normalise what earlier runs landed
  leadpipe import list.csv --origin purchased --db leads.duckdb
  leadpipe import export.jsonl --origin form --source site-form

Exit codes: 0 ok, 2 bad command line, 65 bad input, 66 input missing,
70 internal error, 74 database error. Logs go to stderr (LEADPIPE_LOG=debug for more)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors on stderr, and no progress bars.
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline file: every source, every stage, one transaction.
    #[command(after_help = "Examples:
  leadpipe run pipelines/demo.toml
  leadpipe run pipelines/demo.toml --db /tmp/demo.duckdb --json
  leadpipe run pipelines/demo.toml --only import      land raw rows only
  leadpipe run pipelines/demo.toml --from normalise   re-derive records from landed raw rows

Relative paths inside the pipeline file are relative to the file's folder.
Re-running on unchanged files adds nothing but a row in `runs`.")]
    Run {
        /// The pipeline file (TOML): sources, settings, output database.
        pipeline: PathBuf,
        #[command(flatten)]
        common: Common,
        /// Run only this stage (against what earlier runs landed).
        #[arg(long, value_enum, conflicts_with = "from")]
        only: Option<Stage>,
        /// Run this stage and every later one.
        #[arg(long, value_enum)]
        from: Option<Stage>,
    },
    /// Import one file, mapping its headers automatically.
    #[command(after_help = "Examples:
  leadpipe import list.csv --origin purchased --db leads.duckdb
  leadpipe import leads.xlsx --origin purchased --source vendor-2026-11
  leadpipe import form.jsonl --origin form

Headers such as ФИО, Фамилия, Имя, Отчество, Телефон, Моб. телефон, E-mail, Почта,
Компания, Город, ИНН (or name, phone, email, company, city) are recognised.
For anything else, write a pipeline file with a [sources.columns] map.")]
    Import {
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
        #[command(flatten)]
        common: Common,
    },
    /// Show why a lead is what it is: golden record, member records, merge evidence.
    #[command(after_help = "Examples:
  leadpipe explain 42 --db demo.duckdb
  leadpipe explain 42 --db demo.duckdb --json

Each merge shows the match probability and, field by field, the weight (log2 odds) that
the agreement level contributed: positive pulls together, negative pushes apart.")]
    Explain {
        /// The lead id (records.lead_id / leads.lead_id).
        lead_id: i64,
        /// DuckDB file to read.
        #[arg(long, default_value = "leadpipe.duckdb")]
        db: PathBuf,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List run history from the `runs` table, newest first.
    #[command(after_help = "Examples:
  leadpipe runs --db demo.duckdb
  leadpipe runs --db demo.duckdb --limit 5 --json")]
    Runs {
        /// DuckDB file to read.
        #[arg(long, default_value = "leadpipe.duckdb")]
        db: PathBuf,
        /// How many runs to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write synthetic Russian leads with realistic corruptions (for benchmarks).
    #[command(hide = true)]
    Gen {
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
    },
}

#[derive(Args)]
struct Common {
    /// DuckDB file to write (default: the pipeline's `db`, or ./leadpipe.duckdb).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Print the run summary as JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEADPIPE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    // A panic is a bug: say so, and exit as an internal error (the run's transaction is
    // never committed, so the database is unchanged).
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(cli))) {
        Ok(code) => code,
        Err(_) => {
            eprintln!("leadpipe: internal error (panic); the database was left as it was before the run. Please report this.");
            ExitCode::from(EXIT_INTERNAL)
        }
    }
}

fn execute(cli: Cli) -> ExitCode {
    let progress = !cli.quiet;
    let outcome = match cli.command {
        Command::Run {
            pipeline: path,
            common,
            only,
            from,
        } => pipeline::load_pipeline(&path)
            .map_err(RunError::from)
            .and_then(|plan| {
                let opts = RunOptions {
                    only,
                    from,
                    progress,
                    command: format!("run {}", path.display()),
                };
                pipeline::run(&plan, &opts, common.db.as_deref())
            })
            .map(|s| report(&s, common.json)),
        Command::Import {
            file,
            origin,
            source,
            kind,
            common,
        } => {
            let db = common
                .db
                .clone()
                .unwrap_or_else(|| PathBuf::from("leadpipe.duckdb"));
            pipeline::plan_for_file(&file, origin, source, kind, db)
                .map_err(RunError::from)
                .and_then(|plan| {
                    let opts = RunOptions {
                        progress,
                        command: format!("import {}", file.display()),
                        ..RunOptions::default()
                    };
                    pipeline::run(&plan, &opts, None)
                })
                .map(|s| report(&s, common.json))
        }
        Command::Explain { lead_id, db, json } => {
            return explain(lead_id, &db, json);
        }
        Command::Runs { db, limit, json } => {
            return runs(&db, limit, json);
        }
        Command::Gen {
            rows,
            out,
            seed,
            cp1251,
        } => {
            return match leadpipe::gen::write_csv(&out, rows, seed, cp1251) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("leadpipe gen: {}: {e}", out.display());
                    ExitCode::from(EXIT_DB)
                }
            }
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("leadpipe: error: {e}");
            let code = if e.is_missing_input() {
                EXIT_NO_INPUT
            } else if e.is_bad_input() {
                EXIT_BAD_INPUT
            } else if matches!(e, RunError::Store(_)) {
                EXIT_DB
            } else {
                EXIT_INTERNAL
            };
            if code == EXIT_INTERNAL {
                eprintln!(
                    "leadpipe: this is a bug; the database was left as it was before the run."
                );
            }
            ExitCode::from(code)
        }
    }
}

/// Opens a database that must already exist (read commands never create one).
fn open_existing(db: &std::path::Path) -> Result<leadpipe::store::Store, ExitCode> {
    if !db.exists() {
        eprintln!("leadpipe: error: {}: database not found", db.display());
        return Err(ExitCode::from(EXIT_NO_INPUT));
    }
    leadpipe::store::Store::open(db).map_err(|err| {
        eprintln!("leadpipe: error: {err}");
        ExitCode::from(EXIT_DB)
    })
}

fn explain(lead_id: i64, db: &std::path::Path, json: bool) -> ExitCode {
    let found = match open_existing(db) {
        Ok(store) => store.explain_lead(lead_id),
        Err(code) => return code,
    };
    let e = match found {
        Ok(Some(e)) => e,
        Ok(None) => {
            eprintln!(
                "leadpipe: error: lead {lead_id} not found in {}",
                db.display()
            );
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        Err(err) => {
            eprintln!("leadpipe: error: {err}");
            return ExitCode::from(EXIT_DB);
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&e).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let field = |k: &str| e.lead.get(k).map(|v| v.to_string()).unwrap_or_default();
    println!("lead {lead_id}: {}", field("full_name"));
    for k in [
        "phone_e164",
        "phones",
        "email",
        "emails",
        "city",
        "company",
        "sources",
        "origins",
        "record_count",
    ] {
        println!("  {k:<13} {}", field(k));
    }
    println!("members ({}):", e.members.len());
    for m in &e.members {
        let g = |k: &str| m.get(k).map(|v| v.to_string()).unwrap_or_default();
        println!(
            "  record {:>6}  {}:{}  {}  {}  {}",
            g("record_id"),
            g("source"),
            g("source_row"),
            g("full_name"),
            g("phone_e164"),
            g("email")
        );
    }
    println!("merges ({}):", e.links.len());
    for l in &e.links {
        let g = |k: &str| l.get(k).map(|v| v.to_string()).unwrap_or_default();
        let p = l.get("probability").and_then(|v| v.as_f64()).unwrap_or(0.0);
        println!("  {} + {}  p = {p:.4}", g("record_a"), g("record_b"));
        if let Some(fields) = l.get("fields").and_then(|f| f.as_array()) {
            for f in fields {
                let name = f.get("field").and_then(|v| v.as_str()).unwrap_or("?");
                let w = f.get("weight").and_then(|v| v.as_f64()).unwrap_or(0.0);
                let level = f.get("level").map(|v| v.to_string()).unwrap_or_default();
                println!("      {name:<12} level {level:<5} {w:+.1}");
            }
        }
    }
    ExitCode::SUCCESS
}

fn runs(db: &std::path::Path, limit: usize, json: bool) -> ExitCode {
    let found = match open_existing(db) {
        Ok(store) => store.list_runs(limit),
        Err(code) => return code,
    };
    let rows = match found {
        Ok(rows) => rows,
        Err(err) => {
            eprintln!("leadpipe: error: {err}");
            return ExitCode::from(EXIT_DB);
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "{:>5}  {:<26} {:<7} {:<28} {:>9} {:>9} {:>9} {:>8}",
        "run", "started", "status", "stages", "read", "accepted", "rejected", "seconds"
    );
    for r in rows {
        println!(
            "{:>5}  {:<26} {:<7} {:<28} {:>9} {:>9} {:>9} {:>8.1}",
            r.run_id,
            truncate(&r.started_at, 26),
            r.status,
            truncate(&r.stages, 28),
            r.rows_read,
            r.rows_accepted,
            r.rows_rejected,
            r.elapsed_ms as f64 / 1000.0
        );
        if let Some(e) = r.error {
            println!("       error: {e}");
        }
    }
    ExitCode::SUCCESS
}

fn report(s: &RunSummary, json: bool) {
    if json {
        match serde_json::to_string_pretty(s) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("leadpipe: cannot print the summary as JSON: {e}"),
        }
        return;
    }
    println!(
        "run {} ({}) into {}: {} rows read, {} accepted, {} rejected in {:.1}s",
        s.run_id,
        s.stages
            .iter()
            .map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join(" → "),
        s.db,
        s.rows_read,
        s.rows_accepted,
        s.rows_rejected,
        s.elapsed_ms as f64 / 1000.0
    );
    println!(
        "  {:<28} {:<13} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "source", "status", "read", "accepted", "rejected", "phones", "emails"
    );
    for src in &s.sources {
        println!(
            "  {:<28} {:<13} {:>9} {:>9} {:>9} {:>9} {:>9}",
            truncate(&src.source, 28),
            src.status,
            src.rows_read,
            src.rows_accepted,
            src.rows_rejected,
            src.phones_valid,
            src.emails_valid
        );
        for (reason, n) in &src.rejects_by_reason {
            println!("  {:<28} {:<13} {:>9}", "", format!("  {reason}"), n);
        }
    }
    if let Some(d) = &s.dedupe {
        println!(
            "  dedupe: {} records → {} leads ({} new); {} candidate pairs, {} vetoed (different people), {} merges refused",
            d.records, d.leads, d.new_leads, d.blocking.pairs, d.vetoed_pairs, d.refused_merges
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
