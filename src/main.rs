//! The `leadpipe` binary: the command line (one module per verb under `cmd/`), logging, and
//! the one place where a command's failure becomes a message and an exit code.

mod cmd;

use clap::{Parser, Subcommand};
use cmd::{CliError, CmdResult};
use std::process::ExitCode;

// The pipeline allocates millions of small strings across threads; mimalloc does that
// faster than glibc's malloc (measured in the README's benchmark section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "leadpipe",
    version,
    about = "Turn messy lead files into a clean, deduplicated, consent-checked base in DuckDB",
    long_about = "leadpipe reads lead files (CSV in any encoding, XLSX, JSONL form exports), \
normalises phones, emails and names, merges duplicates into leads, records who consented to \
what, scores warmth, and lands it all in one DuckDB file. Every input row ends up either in \
`records` or in `rejects` with a reason. Call lists only ever hold numbers with consent.",
    after_help = "Examples:
  leadpipe run pipelines/demo.toml                  run the demo pipeline on fixtures/
  leadpipe run pipelines/demo.toml --json           same, print a machine-readable summary
  leadpipe run pipelines/demo.toml --only normalise re-normalise what earlier runs landed
  leadpipe import list.csv --origin purchased --db leads.duckdb
  leadpipe call-list --db demo.duckdb --out calls.xlsx --tier hot --operators 3
  leadpipe call-result import results.csv --db demo.duckdb
  leadpipe consent withdraw --phone '+7 916 123-45-67' --db demo.duckdb
  leadpipe compliance report --db demo.duckdb --out report.html
  leadpipe deals import orders.xlsx --db demo.duckdb
  leadpipe analyse --db demo.duckdb --out analysis.html

Exit codes: 0 ok, 2 bad command line, 65 bad input, 66 input missing,
70 internal error, 74 database error. Logs go to stderr (LEADPIPE_LOG=debug for more)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// No progress bars and no run summary: only warnings and errors, on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
}

/// The verbs; each one's help text and arguments live in its module under `cmd/`.
#[derive(Subcommand)]
enum Command {
    Run(cmd::run::RunArgs),
    Import(cmd::import::ImportArgs),
    Explain(cmd::explain::ExplainArgs),
    Runs(cmd::runs::RunsArgs),
    #[command(name = "call-list")]
    CallList(cmd::call_list::CallListArgs),
    Export(cmd::export::ExportArgs),
    /// Engagement events (site visits, e-mail opens, replies) that make leads warmer.
    #[command(subcommand)]
    Events(cmd::outcomes::EventsCommand),
    /// Call results coming back from the call centre.
    #[command(subcommand, name = "call-result")]
    CallResult(cmd::outcomes::CallResultCommand),
    Erase(cmd::erase::EraseArgs),
    /// Suppression lists: do-not-call registers, opt-outs, complaints.
    #[command(subcommand)]
    Suppress(cmd::suppress::SuppressCommand),
    /// Consent history: record withdrawals.
    #[command(subcommand)]
    Consent(cmd::consent::ConsentCommand),
    /// Reports for compliance reviewers.
    #[command(subcommand)]
    Compliance(cmd::compliance::ComplianceCommand),
    Report(cmd::report::ReportArgs),
    /// Cluster every record of the base again with the stored match model: what daily
    /// runs, which cluster only what their new records touch, add up to.
    Recluster(cmd::recluster::ReclusterArgs),
    /// Fit the match model again on every record of the base, then cluster it again.
    Refit(cmd::recluster::ReclusterArgs),
    /// Two leads are one person: a reviewer's decision every later run keeps.
    Merge(cmd::decide::MergeArgs),
    /// Some records of a lead are another person: kept apart by every later run.
    Split(cmd::decide::SplitArgs),
    /// Label two records the same person or different people.
    Label(cmd::decide::LabelArgs),
    /// Reviewers' decisions and whether each is in force.
    Decisions(cmd::decide::DecisionsArgs),
    /// What a reviewer should decide next.
    #[command(subcommand)]
    Review(cmd::decide::ReviewCommand),
    Serve(cmd::serve::ServeArgs),
    Sql(cmd::sql::SqlArgs),
    #[command(subcommand)]
    Deals(cmd::deals::DealsCommand),
    #[command(subcommand)]
    Spend(cmd::deals::SpendCommand),
    Segments(cmd::analyse::SegmentsArgs),
    Analyse(cmd::analyse::AnalyseArgs),
    #[command(hide = true)]
    Gen(cmd::gen::GenArgs),
}

/// Runs the verb. Only `run` and `import` print progress and a summary that `--quiet` drops.
fn execute(cli: Cli) -> CmdResult {
    let quiet = cli.quiet;
    match cli.command {
        Command::Run(args) => cmd::run::run(args, quiet),
        Command::Import(args) => cmd::import::run(args, quiet),
        Command::Explain(args) => cmd::explain::run(args),
        Command::Runs(args) => cmd::runs::run(args),
        Command::CallList(args) => cmd::call_list::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Events(command) => cmd::outcomes::events(command),
        Command::CallResult(command) => cmd::outcomes::call_results(command),
        Command::Erase(args) => cmd::erase::run(args),
        Command::Sql(args) => cmd::sql::run(args),
        Command::Suppress(command) => cmd::suppress::run(command),
        Command::Consent(command) => cmd::consent::run(command),
        Command::Compliance(command) => cmd::compliance::run(command),
        Command::Report(args) => cmd::report::run(args),
        Command::Recluster(args) => cmd::recluster::run(args, false, quiet),
        Command::Refit(args) => cmd::recluster::run(args, true, quiet),
        Command::Merge(args) => cmd::decide::merge(args, quiet),
        Command::Split(args) => cmd::decide::split(args, quiet),
        Command::Label(args) => cmd::decide::label(args, quiet),
        Command::Decisions(args) => cmd::decide::list(args),
        Command::Review(command) => cmd::decide::review(command),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Deals(command) => cmd::deals::deals(command),
        Command::Spend(command) => cmd::deals::spend(command),
        Command::Segments(args) => cmd::analyse::segments(args),
        Command::Analyse(args) => cmd::analyse::run(args),
        Command::Gen(args) => cmd::gen::run(args),
    }
}

/// Logs go to stderr, so stdout carries only the command's output (tables, JSON).
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
    // `leadpipe runs | head` should stop quietly when `head` does, as other Unix tools do,
    // instead of failing to print (Rust ignores SIGPIPE by default).
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    tune_c_allocator();
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    // A panic is a bug: say so, and exit as an internal error (the run's transaction is
    // never committed, so the database is unchanged).
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(cli)))
        .unwrap_or(Err(CliError::Panic));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.exit(),
    }
}

/// DuckDB (C++) allocates its 256 KiB blocks with glibc malloc. By default glibc serves
/// blocks that size with mmap and hands freed memory straight back to the kernel, so a
/// million-row run spent about 2 s of CPU having the kernel zero fresh pages. Keeping
/// freed memory in the heap for reuse took about 10% off a 1M-row run (see README).
fn tune_c_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's thresholds; called before any other thread
    // starts or DuckDB allocates.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
    // Transparent huge pages: mimalloc's arena got 2 MiB pages, and every time it
    // returned a few KiB of one to the kernel the next touch had the kernel zero a whole
    // fresh 2 MiB page (~9% of the import's CPU samples). Without them the 1M-row runs
    // are ~1 s faster with less peak memory (README, Benchmarks). Failure is harmless.
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
