//! The CLI: parse arguments, call the library, turn errors into messages and exit codes.

use clap::{Args, Parser, Subcommand};
use leadpipe::consent::{Channel, ContactKind, Purpose};
use leadpipe::consent_commands::{self as consent_cmd, CommandError, Withdrawal};
use leadpipe::normalise::Normaliser;
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

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline file: every source, every stage, one transaction.
    #[command(after_help = "Examples:
  leadpipe run pipelines/demo.toml
  leadpipe run pipelines/demo.toml --db /tmp/demo.duckdb --json
  leadpipe run pipelines/demo.toml --only import      land raw rows only
  leadpipe run pipelines/demo.toml --from normalise   re-derive records from landed raw rows
  leadpipe run pipelines/demo.toml --to normalise     land clean records; dedupe later

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
        /// Stop after this stage (`--to normalise`: land clean records, leave deduplication,
        /// consent and warmth for a later `--from dedupe`).
        #[arg(long, value_enum, conflicts_with = "only")]
        to: Option<Stage>,
        /// Judge consent expiry at this time instead of now (reproducible runs), e.g.
        /// 2026-11-23T09:00:00+03:00.
        #[arg(long, value_parser = parse_time)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
        /// Fetch web pages (html sources with [sources.fetch]) again instead of using the
        /// copies kept from earlier runs.
        #[arg(long)]
        refresh: bool,
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
        /// Judge consent expiry and warmth at this time instead of now.
        #[arg(long, value_parser = parse_time)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
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
    /// Write who may be called now: only valid numbers with call consent granted, in force
    /// and given for that number, never suppressed, never erased.
    #[command(
        name = "call-list",
        after_help = "Examples:
  leadpipe call-list --db demo.duckdb --out calls.csv
  leadpipe call-list --db demo.duckdb --out calls.csv --as-of 2026-12-01 --json

Consent is derived from the full history at the moment of the call list (not from what
`leads.call_consent` said at the last run), so a withdrawal recorded a minute ago counts.
The CSV is UTF-8 with a BOM (Excel opens it as is); --json prints counts and reasons."
    )]
    CallList {
        /// DuckDB file to read.
        #[arg(long, default_value = "leadpipe.duckdb")]
        db: PathBuf,
        /// File to write: calls.csv (UTF-8 with BOM) or calls.xlsx.
        #[arg(long)]
        out: PathBuf,
        /// Advertising calls need prior consent; service calls rest on a contract.
        #[arg(long, value_enum, default_value_t = Purpose::Advertising)]
        purpose: Purpose,
        /// Judge consent and calling windows at this time instead of now.
        #[arg(long, value_parser = parse_time)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
        /// Only these warmth tiers (repeatable: --tier hot --tier warm).
        #[arg(long, value_parser = ["hot", "warm", "cold"])]
        tier: Vec<String>,
        /// Only leads scoring at least this.
        #[arg(long)]
        min_score: Option<i64>,
        /// Only leads that came from this source (repeatable).
        #[arg(long)]
        source: Vec<String>,
        /// Only leads in this city (repeatable, any case).
        #[arg(long)]
        city: Vec<String>,
        /// Only leads in this region (name or code, repeatable).
        #[arg(long)]
        region: Vec<String>,
        /// Allowed local hours of the callee, e.g. 09:00-21:00.
        #[arg(long, default_value = "09:00-21:00", value_parser = parse_window)]
        window: (chrono::NaiveTime, chrono::NaiveTime),
        /// Numbers outside their window now: leave out, or keep with `call_after_utc`.
        #[arg(long, value_enum, default_value_t = leadpipe::export::OutsideWindow::Exclude)]
        outside_window: leadpipe::export::OutsideWindow,
        /// Split across this many operators (round-robin, best leads spread evenly).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        operators: u32,
        /// At most this many numbers per operator.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        capacity: Option<u32>,
        /// One file per operator (calls.op1.csv …) instead of an `operator` column only.
        #[arg(long)]
        split: bool,
        /// CSV delimiter: `,` or `;` (Excel in Russian locales expects `;`).
        #[arg(long, default_value = ",")]
        delimiter: char,
        /// Print counts and blocked reasons as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Engagement events (site visits, e-mail opens, replies) that make leads warmer.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Call results coming back from the call centre.
    #[command(subcommand, name = "call-result")]
    CallResult(CallResultCommand),
    /// Erase a person: every record, raw row, reject and consent event holding the number
    /// or address (and the rest of that person's lead) is removed and the file rewritten.
    #[command(after_help = "Examples:
  leadpipe erase --phone '8 (916) 123-45-67' --db leads.duckdb --dry-run
  leadpipe erase --email ivanov@mail.ru --db leads.duckdb

Only salted hashes of the person's numbers and addresses stay (suppressions, list
\"erasure\"): a later file that brings them back has those rows refused as
`erased_person`, and they are never called. The database file is rewritten so no old
page keeps the data; keep no other copies (backups, exported call lists) either.")]
    Erase {
        /// The person's phone, in any format.
        #[arg(long, conflicts_with = "email", required_unless_present = "email")]
        phone: Option<String>,
        /// The person's e-mail address.
        #[arg(long)]
        email: Option<String>,
        /// DuckDB file to change.
        #[arg(long, default_value = "leadpipe.duckdb")]
        db: PathBuf,
        /// Show what would be erased (counts), change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Suppression lists: do-not-call registers, opt-outs, complaints.
    #[command(subcommand)]
    Suppress(SuppressCommand),
    /// Consent history: record withdrawals.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Reports for compliance reviewers.
    #[command(subcommand)]
    Compliance(ComplianceCommand),
    /// Write a self-contained HTML report of a run: funnel, rejects by reason, source
    /// quality, warmth distribution, consent coverage (charts with their numbers).
    #[command(after_help = "Examples:
  leadpipe report --db demo.duckdb --out report.html           the latest run
  leadpipe report --db demo.duckdb --run 3 --out run3.html

The file opens in any browser without a network connection.")]
    Report {
        #[arg(long, default_value = "leadpipe.duckdb")]
        db: PathBuf,
        /// The run (see `leadpipe runs`); default the latest.
        #[arg(long)]
        run: Option<i64>,
        #[arg(long)]
        out: PathBuf,
    },
    /// A local, read-only web page: search a lead by phone, e-mail or name and see its
    /// golden record, member records, merge evidence, consent history and warmth.
    #[command(after_help = "Examples:
  leadpipe serve --db demo.duckdb                 then open http://127.0.0.1:8080
  leadpipe serve --db demo.duckdb --port 9000

It binds to 127.0.0.1 only and opens the database read-only.")]
    Serve {
        #[arg(long, default_value = "leadpipe.duckdb")]
        db: PathBuf,
        #[arg(long, default_value_t = 8080)]
        port: u16,
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

#[derive(Subcommand)]
enum SuppressCommand {
    /// Load a list of numbers and/or addresses (CSV/TXT in any encoding, or XLSX; with or
    /// without a header). The list remembers when it was loaded.
    #[command(after_help = "Examples:
  leadpipe suppress import dnc.csv --list rkn-dnc --db leads.duckdb
  leadpipe suppress import unsub.xlsx --list unsubscribed --reason opt_out --channel email

A suppressed number or address is never in a call list, whichever source brings it back.
Loading the same file into the same list again changes nothing.")]
    Import {
        /// The list file.
        file: PathBuf,
        /// Name of the list (e.g. dnc, complaints-2026).
        #[arg(long)]
        list: String,
        /// Why these contacts are suppressed.
        #[arg(long, value_enum, default_value_t = SuppressReason::DoNotCall)]
        reason: SuppressReason,
        /// Only for this channel (default: every channel).
        #[arg(long, value_enum)]
        channel: Option<Channel>,
        #[arg(long, default_value = "leadpipe.duckdb")]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SuppressReason {
    DoNotCall,
    OptOut,
    Complaint,
    Withdrawal,
}

impl SuppressReason {
    fn as_str(self) -> &'static str {
        match self {
            SuppressReason::DoNotCall => "do_not_call",
            SuppressReason::OptOut => "opt_out",
            SuppressReason::Complaint => "complaint",
            SuppressReason::Withdrawal => "withdrawal",
        }
    }
}

#[derive(Subcommand)]
enum ConsentCommand {
    /// Record that a person withdrew consent. Honoured by the next call list, always.
    #[command(after_help = "Examples:
  leadpipe consent withdraw --phone '+7 916 123-45-67' --db leads.duckdb
  leadpipe consent withdraw --email a@b.ru --channel email --via 'reply to mailing'
  leadpipe consent withdraw --file withdrawals.csv --source 'call-centre 2026-11'

Applies to every lead holding the number or address, now or when it turns up later.
Default: every channel and purpose. A contact no lead holds is also added to the
`withdrawals` suppression list. A file may carry a date column (when they withdrew).")]
    Withdraw {
        /// The person's phone, in any format (repeatable).
        #[arg(long)]
        phone: Vec<String>,
        /// The person's e-mail (repeatable).
        #[arg(long)]
        email: Vec<String>,
        /// A file of withdrawals: phones and/or e-mails, optional date column.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Channels withdrawn (default: all).
        #[arg(long, value_enum)]
        channel: Vec<Channel>,
        /// Purposes withdrawn (default: all).
        #[arg(long, value_enum)]
        purpose: Vec<Purpose>,
        /// When they withdrew (default: now). A date alone means the end of that day.
        #[arg(long, value_parser = parse_time_late)]
        at: Option<chrono::DateTime<chrono::Utc>>,
        /// Who passed the withdrawal on (ticket, team, file).
        #[arg(long, default_value = "command line")]
        source: String,
        /// How the person withdrew (phone call, e-mail, letter …).
        #[arg(long)]
        via: Option<String>,
        #[arg(long, default_value = "leadpipe.duckdb")]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Load events: each row a phone and/or e-mail, a date, and the kind (visit,
    /// email_open, reply) in a column, or --kind for the whole file. Warmth is re-scored.
    #[command(after_help = "Examples:
  leadpipe events import visits.csv --kind visit --db leads.duckdb
  leadpipe events import mailing-stats.xlsx --db leads.duckdb")]
    Import {
        file: PathBuf,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value = "leadpipe.duckdb")]
        db: PathBuf,
        /// Score as of this time (default now).
        #[arg(long, value_parser = parse_time)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CallResultCommand {
    /// Load call results: each row the number called, the outcome (reached, no answer,
    /// refused, asked not to call, wrong number; Russian words too) and optionally when.
    #[command(after_help = "Examples:
  leadpipe call-result import results-2026-11-23.csv --db leads.duckdb

Every result updates warmth. \"Asked not to call\" withdraws call consent for the number
and puts it on the `call-outcomes` list; \"wrong number\" puts the number (only) on the
`wrong-numbers` list. The next call list honours both.")]
    Import {
        file: PathBuf,
        #[arg(long, default_value = "leadpipe.duckdb")]
        db: PathBuf,
        #[arg(long, value_parser = parse_time)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long)]
        json: bool,
    },
}

/// `09:00-21:00` → (09:00, 21:00).
fn parse_window(s: &str) -> Result<(chrono::NaiveTime, chrono::NaiveTime), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?}: write the window as HH:MM-HH:MM, e.g. 09:00-21:00"))?;
    let t = |x: &str| {
        chrono::NaiveTime::parse_from_str(x.trim(), "%H:%M")
            .map_err(|_| format!("{x:?} is not a time of day (HH:MM)"))
    };
    let (start, end) = (t(a)?, t(b)?);
    if start == end {
        return Err("the calling window is empty".into());
    }
    Ok((start, end))
}

#[derive(Subcommand)]
enum ComplianceCommand {
    /// Consent coverage, who would be called and on what basis, who is blocked and why,
    /// suppression lists, and one lead's audit trail. HTML (self-contained) or CSV.
    #[command(after_help = "Examples:
  leadpipe compliance report --db demo.duckdb --out report.html
  leadpipe compliance report --db demo.duckdb --out decisions.csv
  leadpipe compliance report --db demo.duckdb --out lead.html --lead 3

The CSV has one row per lead and number with the decision and its reason.")]
    Report {
        #[arg(long, default_value = "leadpipe.duckdb")]
        db: PathBuf,
        /// report.html or report.csv.
        #[arg(long)]
        out: PathBuf,
        /// Add this lead's consent history and audit trail.
        #[arg(long)]
        lead: Option<i64>,
        #[arg(long, value_enum, default_value_t = Purpose::Advertising)]
        purpose: Purpose,
        #[arg(long, value_parser = parse_time)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    },
}

/// Timestamps on the command line: RFC 3339, `YYYY-MM-DD[ HH:MM]`, `DD.MM.YYYY`; no zone
/// means Moscow time.
fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    leadpipe::normalise::datetime::parse_timestamp(s, Normaliser::default().naive_offset)
        .ok_or_else(|| {
            format!("{s:?} is not a time; use e.g. 2026-11-23T09:00:00+03:00 or 23.11.2026")
        })
}

/// For withdrawal times: a date alone means the end of that day.
fn parse_time_late(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    leadpipe::normalise::datetime::parse_timestamp_late(s, Normaliser::default().naive_offset)
        .ok_or_else(|| {
            format!("{s:?} is not a time; use e.g. 2026-11-23T09:00:00+03:00 or 23.11.2026")
        })
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
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(cli))) {
        Ok(code) => code,
        Err(_) => {
            eprintln!("leadpipe: internal error (panic); the database was left as it was before the run. Please report this.");
            ExitCode::from(EXIT_INTERNAL)
        }
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

fn execute(cli: Cli) -> ExitCode {
    let quiet = cli.quiet;
    let progress = !quiet;
    let outcome = match cli.command {
        Command::Run {
            pipeline: path,
            common,
            only,
            from,
            to,
            as_of,
            refresh,
        } => pipeline::load_pipeline(&path)
            .map_err(RunError::from)
            .and_then(|plan| {
                let opts = RunOptions {
                    only,
                    from,
                    to,
                    progress,
                    command: format!("run {}", path.display()),
                    as_of,
                    refresh,
                };
                pipeline::run(&plan, &opts, common.db.as_deref())
            })
            .map(|s| report(&s, common.json, quiet)),
        Command::Import {
            file,
            origin,
            source,
            kind,
            as_of,
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
                        as_of,
                        ..RunOptions::default()
                    };
                    pipeline::run(&plan, &opts, None)
                })
                .map(|s| report(&s, common.json, quiet))
        }
        Command::Explain { lead_id, db, json } => {
            return explain(lead_id, &db, json);
        }
        Command::Runs { db, limit, json } => {
            return runs(&db, limit, json);
        }
        Command::CallList {
            db,
            out,
            purpose,
            as_of,
            tier,
            min_score,
            source,
            city,
            region,
            window,
            outside_window,
            operators,
            capacity,
            split,
            delimiter,
            json,
        } => {
            if !delimiter.is_ascii() {
                eprintln!("leadpipe: error: --delimiter must be one ASCII character");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            let opts = leadpipe::export::CallListOptions {
                tiers: tier,
                min_score,
                sources: source,
                cities: city,
                regions: region,
                window_start: window.0,
                window_end: window.1,
                outside_window,
                operators: operators.max(1),
                capacity,
                split_files: split,
                delimiter: delimiter as u8,
                ..leadpipe::export::CallListOptions::default()
            };
            return call_list(&db, &out, purpose, as_of, &opts, json);
        }
        Command::Events(EventsCommand::Import {
            file,
            kind,
            db,
            as_of,
            json,
        }) => return outcomes(&db, &file, Some(kind), as_of, json),
        Command::CallResult(CallResultCommand::Import {
            file,
            db,
            as_of,
            json,
        }) => return outcomes(&db, &file, None, as_of, json),
        Command::Erase {
            phone,
            email,
            db,
            dry_run,
            json,
        } => return erase(&db, phone.as_deref(), email.as_deref(), dry_run, json),
        Command::Suppress(SuppressCommand::Import {
            file,
            list,
            reason,
            channel,
            db,
            json,
        }) => return suppress_import(&db, &file, &list, reason, channel, json),
        Command::Consent(ConsentCommand::Withdraw {
            phone,
            email,
            file,
            channel,
            purpose,
            at,
            source,
            via,
            db,
            json,
        }) => {
            let w = Withdrawal {
                channels: if channel.is_empty() {
                    Channel::ALL.to_vec()
                } else {
                    channel
                },
                purposes: if purpose.is_empty() {
                    Purpose::ALL.to_vec()
                } else {
                    purpose
                },
                at,
                source,
                via,
            };
            return withdraw(&db, &phone, &email, file.as_deref(), &w, json);
        }
        Command::Report { db, run, out } => return run_report(&db, run, &out),
        Command::Serve { db, port } => return serve(&db, port),
        Command::Compliance(ComplianceCommand::Report {
            db,
            out,
            lead,
            purpose,
            as_of,
        }) => return compliance_report(&db, &out, lead, purpose, as_of),
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

/// Opens a database that must already exist (commands other than runs and imports never
/// create one), with `open` (for writing, or read-only).
fn open_found(
    db: &std::path::Path,
    open: fn(&std::path::Path) -> Result<leadpipe::store::Store, leadpipe::store::StoreError>,
) -> Result<leadpipe::store::Store, ExitCode> {
    if !db.exists() {
        eprintln!("leadpipe: error: {}: database not found", db.display());
        return Err(ExitCode::from(EXIT_NO_INPUT));
    }
    open(db).map_err(|err| {
        eprintln!("leadpipe: error: {err}");
        ExitCode::from(EXIT_DB)
    })
}

/// An existing database, for a command that writes.
fn open_existing(db: &std::path::Path) -> Result<leadpipe::store::Store, ExitCode> {
    open_found(db, leadpipe::store::Store::open)
}

/// An existing database, for a command that only reads it: other readers (a running
/// `serve`, another report) do not stand in its way.
fn open_for_reading(db: &std::path::Path) -> Result<leadpipe::store::Store, ExitCode> {
    open_found(db, leadpipe::store::Store::open_read_only)
}

/// An opened database and the normaliser of its pipeline (region, time zone), for
/// commands.
fn with_normaliser(
    opened: Result<leadpipe::store::Store, ExitCode>,
) -> Result<(leadpipe::store::Store, Normaliser), ExitCode> {
    let store = opened?;
    let normaliser = pipeline::normaliser_for(&store).map_err(|e| {
        eprintln!("leadpipe: error: {e}");
        ExitCode::from(EXIT_DB)
    })?;
    Ok((store, normaliser))
}

/// Opens (or creates) a database for a command that writes.
fn open_or_create(db: &std::path::Path) -> Result<leadpipe::store::Store, ExitCode> {
    leadpipe::store::Store::open(db).map_err(|e| {
        eprintln!("leadpipe: error: {e}");
        ExitCode::from(EXIT_DB)
    })
}

/// Prints a library command's error and picks the exit code.
fn fail(err: &CommandError) -> ExitCode {
    eprintln!("leadpipe: error: {err}");
    ExitCode::from(match err {
        CommandError::BadInput(_) => EXIT_BAD_INPUT,
        CommandError::Source(leadpipe::sources::SourceError::NotFound { .. }) => EXIT_NO_INPUT,
        CommandError::Source(_) => EXIT_BAD_INPUT,
        CommandError::Store(_) | CommandError::Io { .. } | CommandError::Compaction(_) => EXIT_DB,
    })
}

fn print_json<T: serde::Serialize>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("leadpipe: cannot print JSON: {e}"),
    }
}

fn call_list(
    db: &std::path::Path,
    out: &std::path::Path,
    purpose: Purpose,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    opts: &leadpipe::export::CallListOptions,
    json: bool,
) -> ExitCode {
    let (store, normaliser) = match with_normaliser(open_for_reading(db)) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let mut opts = opts.clone();
    // Callees with no known time zone are taken in the base's default zone.
    opts.default_offset_minutes = i64::from(normaliser.naive_offset.local_minus_utc() / 60);
    let now = as_of.unwrap_or_else(chrono::Utc::now);
    let result = consent_cmd::call_list(&store, purpose, now, &normaliser).and_then(|list| {
        leadpipe::export::export_call_list(&store, &list, &opts, out).map(|r| (list, r))
    });
    let (list, (_, stats, files)) = match result {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if json {
        print_json(&serde_json::json!({
            "files": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "as_of": list.as_of,
            "purpose": list.purpose,
            "rows": stats,
            "blocked_by_reason": list.blocked_by_reason,
        }));
    } else {
        println!(
            "{}: {} numbers to call ({} purpose, as of {}); {} callable before filters",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            stats.rows,
            list.purpose.as_str(),
            list.as_of.format("%Y-%m-%d %H:%M UTC"),
            stats.callable_numbers
        );
        for (what, n) in [
            ("left out by filters", stats.filtered_out),
            ("outside their calling window", stats.outside_window),
            ("scheduled for later (call_after_utc)", stats.scheduled),
            ("over operator capacity", stats.over_capacity),
        ] {
            if n > 0 {
                println!("  {what:<38} {n:>8}");
            }
        }
        for (reason, n) in &list.blocked_by_reason {
            println!("  blocked: {reason:<30} {n:>8}");
        }
        println!("  (leads with no consent history at all are never callable and not counted)");
    }
    ExitCode::SUCCESS
}

/// `events import` (kind given or read per row) and `call-result import` (kind `None`).
fn outcomes(
    db: &std::path::Path,
    file: &std::path::Path,
    events_kind: Option<Option<String>>,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    json: bool,
) -> ExitCode {
    let (store, normaliser) = match with_normaliser(open_existing(db)) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let warmth = match pipeline::warmth_settings_for(&store) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("leadpipe: error: {e}");
            return ExitCode::from(EXIT_DB);
        }
    };
    let now = as_of.unwrap_or_else(chrono::Utc::now);
    let result = match &events_kind {
        Some(kind) => leadpipe::outcomes::import_events(
            &store,
            file,
            kind.as_deref(),
            &normaliser,
            &warmth,
            now,
            &format!("events import {}", file.display()),
        ),
        None => leadpipe::outcomes::import_call_results(
            &store,
            file,
            &normaliser,
            &warmth,
            now,
            &format!("call-result import {}", file.display()),
        ),
    };
    let r = match result {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    // A call-result row that could not be read may hide "asked not to call": the run
    // recorded the rest, but must not look like a clean success.
    let code = if r.rows_rejected.is_empty() || events_kind.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_BAD_INPUT)
    };
    if json {
        print_json(&r);
        return code;
    }
    if r.unchanged {
        println!("{}: already loaded; nothing changed", file.display());
        return ExitCode::SUCCESS;
    }
    println!(
        "{}: {} rows read, {} recorded, {} rejected; warmth changed for {} leads",
        file.display(),
        r.rows_read,
        r.recorded,
        r.rows_rejected.len(),
        r.warmth_changed
    );
    for (k, n) in &r.by_kind {
        println!("  {k:<14} {n:>8}");
    }
    if r.withdrawn > 0 || r.suppressed > 0 {
        println!(
            "  call consent withdrawn for {} numbers; {} numbers suppressed for calls",
            r.withdrawn, r.suppressed
        );
    }
    for (row, why) in r.rows_rejected.iter().take(20) {
        println!("  {}: row {row}: {why}", file.display());
    }
    if code != ExitCode::SUCCESS {
        eprintln!(
            "leadpipe: {} call-result rows were not recorded (listed above); fix them and load \
             them in a new file: a lost \"do not call\" is the costliest mistake",
            r.rows_rejected.len()
        );
    }
    code
}

fn erase(
    db: &std::path::Path,
    phone: Option<&str>,
    email: Option<&str>,
    dry_run: bool,
    json: bool,
) -> ExitCode {
    let (store, normaliser) = match with_normaliser(open_existing(db)) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let phone = match phone.map(|p| consent_cmd::parse_contact(ContactKind::Phone, p, &normaliser))
    {
        Some(Err(e)) => return fail(&e),
        Some(Ok(p)) => Some(p),
        None => None,
    };
    let email = match email.map(|m| consent_cmd::parse_contact(ContactKind::Email, m, &normaliser))
    {
        Some(Err(e)) => return fail(&e),
        Some(Ok(m)) => Some(m),
        None => None,
    };
    let (plan, removed) = match consent_cmd::erase(
        store,
        db,
        phone.as_deref(),
        email.as_deref(),
        dry_run,
        "erase",
    ) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    if json {
        print_json(&serde_json::json!({"dry_run": dry_run, "plan": plan, "removed": removed}));
    } else {
        println!(
            "{} {} lead(s), {} record(s), {} raw row(s); {} phone(s) and {} e-mail(s) {} kept as salted hashes only",
            if dry_run { "would erase" } else { "erased" },
            plan.lead_ids.len(),
            plan.record_ids.len(),
            plan.raw_ids.len(),
            plan.phones_hashed,
            plan.emails_hashed,
            if dry_run { "would be" } else { "are" },
        );
        if let Some(removed) = removed {
            println!(
                "rows removed or redacted, by table: {}; the file was rewritten so no free block keeps them",
                removed.summary()
            );
        }
    }
    ExitCode::SUCCESS
}

fn suppress_import(
    db: &std::path::Path,
    file: &std::path::Path,
    list: &str,
    reason: SuppressReason,
    channel: Option<Channel>,
    json: bool,
) -> ExitCode {
    let (store, normaliser) = match with_normaliser(open_or_create(db)) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let actor = format!("suppress import {}", file.display());
    let load = match consent_cmd::suppress_import(
        &store,
        file,
        list,
        reason.as_str(),
        channel,
        &normaliser,
        &actor,
    ) {
        Ok(l) => l,
        Err(e) => return fail(&e),
    };
    if json {
        print_json(&load);
        return ExitCode::SUCCESS;
    }
    if load.unchanged {
        println!(
            "{}: already loaded into list {list:?}; nothing changed",
            file.display()
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "{}: list {list:?} ({}): {} rows read, {} contacts suppressed, {} rows rejected",
        file.display(),
        load.reason,
        load.rows_read,
        load.contacts,
        load.rows_rejected
    );
    for (row, why) in load.rejects.iter().take(20) {
        println!("  {}: row {row}: {why}", file.display());
    }
    if load.rejects.len() > 20 {
        println!(
            "  … {} more (all in suppression_lists.rejects)",
            load.rejects.len() - 20
        );
    }
    ExitCode::SUCCESS
}

fn withdraw(
    db: &std::path::Path,
    phones: &[String],
    emails: &[String],
    file: Option<&std::path::Path>,
    w: &Withdrawal,
    json: bool,
) -> ExitCode {
    let (store, normaliser) = match with_normaliser(open_or_create(db)) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let mut contacts = Vec::new();
    for p in phones {
        match consent_cmd::parse_contact(ContactKind::Phone, p, &normaliser) {
            Ok(v) => contacts.push((ContactKind::Phone, v)),
            Err(e) => return fail(&e),
        }
    }
    for m in emails {
        match consent_cmd::parse_contact(ContactKind::Email, m, &normaliser) {
            Ok(v) => contacts.push((ContactKind::Email, v)),
            Err(e) => return fail(&e),
        }
    }
    let outcome =
        match consent_cmd::withdraw(&store, &contacts, file, w, &normaliser, "consent withdraw") {
            Ok(o) => o,
            Err(e) => return fail(&e),
        };
    if json {
        print_json(&outcome);
        return ExitCode::SUCCESS;
    }
    println!(
        "withdrawal recorded for {} contact(s) ({} held by no lead, added to list \"withdrawals\"); {} consent status change(s)",
        outcome.contacts, outcome.unknown_contacts, outcome.refresh.status_changes
    );
    for (row, why) in &outcome.rows_rejected {
        let name = file.map(|f| f.display().to_string()).unwrap_or_default();
        println!("  {name}: row {row}: {why}");
    }
    ExitCode::SUCCESS
}

fn run_report(db: &std::path::Path, run: Option<i64>, out: &std::path::Path) -> ExitCode {
    let (store, normaliser) = match with_normaliser(open_for_reading(db)) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let report = match leadpipe::report::build(&store, run, &normaliser) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if let Err(e) = std::fs::write(out, leadpipe::report::html(&report)) {
        eprintln!("leadpipe: error: {}: {e}", out.display());
        return ExitCode::from(EXIT_DB);
    }
    println!(
        "{}: report of run {} ({})",
        out.display(),
        report.run_id,
        report
            .funnel
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    ExitCode::SUCCESS
}

fn serve(db: &std::path::Path, port: u16) -> ExitCode {
    let store = match open_for_reading(db) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let normaliser = pipeline::normaliser_for(&store).unwrap_or_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("leadpipe: error: cannot start the web server: {e}");
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("leadpipe: error: cannot listen on 127.0.0.1:{port}: {e}");
                return ExitCode::from(EXIT_DB);
            }
        };
        // The port actually bound (`--port 0` picks one): only requests naming it are served.
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        let app = leadpipe::serve::router(store, normaliser, port);
        eprintln!(
            "leadpipe: serving {} on http://127.0.0.1:{port} (read-only; Ctrl-C stops)",
            db.display()
        );
        match axum::serve(listener, app).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("leadpipe: error: {e}");
                ExitCode::from(EXIT_INTERNAL)
            }
        }
    })
}

fn compliance_report(
    db: &std::path::Path,
    out: &std::path::Path,
    lead: Option<i64>,
    purpose: Purpose,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> ExitCode {
    let (store, normaliser) = match with_normaliser(open_for_reading(db)) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let now = as_of.unwrap_or_else(chrono::Utc::now);
    let result = leadpipe::compliance::build(&store, purpose, now, lead, &normaliser)
        .and_then(|report| leadpipe::compliance::write(&report, out).map(|_| report));
    match result {
        Ok(r) => {
            println!(
                "{}: {} leads; {} numbers may be called, {} blocked",
                out.display(),
                r.total_leads,
                r.callable_numbers,
                r.blocked_numbers
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn explain(lead_id: i64, db: &std::path::Path, json: bool) -> ExitCode {
    let found = match open_for_reading(db) {
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
    let num = |k: &str| e.lead.get(k).and_then(|v| v.as_i64()).unwrap_or(0) as i32;
    if let Some(score) = e.lead.get("warmth_score").and_then(|v| v.as_i64()) {
        let points = leadpipe::warmth::WarmthPoints {
            origin: num("warmth_origin"),
            recency: num("warmth_recency"),
            frequency: num("warmth_frequency"),
            engagement: num("warmth_engagement"),
            completeness: num("warmth_completeness"),
        };
        println!(
            "warmth: {score} {} ({})",
            e.lead
                .get("warmth_tier")
                .and_then(|v| v.as_str())
                .unwrap_or(""),
            points.summary()
        );
    }
    if e.consent.is_empty() {
        println!("consent: none on record (may not be called for advertising)");
    } else {
        println!("consent:");
        for c in &e.consent {
            let g = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            println!(
                "  {:<6} {:<12} {:<10} {}",
                g("channel"),
                g("purpose"),
                g("status"),
                g("basis")
            );
        }
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
    if !e.refusals.is_empty() {
        println!("kept apart ({}):", e.refusals.len());
        for r in &e.refusals {
            let g = |k: &str| r.get(k).map(|v| v.to_string()).unwrap_or_default();
            let p = r.get("probability").and_then(|v| v.as_f64()).unwrap_or(0.0);
            let constraint = r.get("constraint").and_then(|v| v.as_str()).unwrap_or("?");
            let via = match (r.get("conflict_a"), r.get("conflict_b")) {
                (Some(a), Some(b)) if !a.is_null() && !b.is_null() => {
                    format!(" (records {a} and {b} would have been in one lead)")
                }
                _ => String::new(),
            };
            println!(
                "  {} + {}  p = {p:.4}  refused: {constraint}{via}; other lead {}",
                g("record_a"),
                g("record_b"),
                g("other_lead")
            );
        }
    }
    ExitCode::SUCCESS
}

fn runs(db: &std::path::Path, limit: usize, json: bool) -> ExitCode {
    let found = match open_for_reading(db) {
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

/// Prints a run's summary: JSON with `--json`, else a table, unless `--quiet` (warnings
/// then still go to stderr, where a scheduler's log keeps them).
fn report(s: &RunSummary, json: bool, quiet: bool) {
    for w in &s.warnings {
        eprintln!("leadpipe: warning: {w}");
    }
    if quiet && !json {
        return;
    }
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
    // Runs without import or normalise have nothing to say per source.
    let sources: Vec<_> = s.sources.iter().filter(|x| !x.status.is_empty()).collect();
    if !sources.is_empty() {
        println!(
            "  {:<28} {:<13} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "source", "status", "read", "accepted", "rejected", "phones", "emails"
        );
    }
    for src in sources {
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
    if let Some(c) = &s.consent {
        println!(
            "  consent: {} new events; {} leads with consent history, {} with call consent granted; {} status changes (consent_audit)",
            c.events_added, c.refresh.leads_with_events, c.refresh.call_granted, c.refresh.status_changes
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
