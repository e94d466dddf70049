//! Every way a command can fail, and the one place that turns a failure into the message on
//! stderr and the process exit code.

use leadpipe::consent_commands::CommandError;
use leadpipe::pipeline::RunError;
use leadpipe::sources::SourceError;
use leadpipe::store::StoreError;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes (sysexits-style), so batch schedulers can tell whose fault a failure was.
/// Clap exits with 2 itself for a bad command line.
const EXIT_BAD_INPUT: u8 = 65; // the file or pipeline file is wrong: fix the input
const EXIT_NO_INPUT: u8 = 66; // a file named on the command line or in the pipeline is missing
const EXIT_INTERNAL: u8 = 70; // a bug in leadpipe: please report it
const EXIT_DB: u8 = 74; // the database (or a file being written) could not be opened or written

/// Why a command failed. The library's errors convert into it with `?`; the rest are the
/// command layer's own checks.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A pipeline run or a one-file import failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A command over an existing base (call list, erase, reports …) failed.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The base could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Commands other than runs and imports never create a base.
    #[error("{}: database not found", .0.display())]
    DatabaseNotFound(PathBuf),
    #[error("lead {lead_id} not found in {}", db.display())]
    LeadNotFound { lead_id: i64, db: PathBuf },
    /// An argument clap accepted but the command cannot use.
    #[error("{0}")]
    BadArgument(String),
    /// An output file could not be written.
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `gen` could not write its file (its message names the verb, not "error").
    #[error("{}: {source}", path.display())]
    Generate {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the web server: {0}")]
    WebServerStart(std::io::Error),
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen { port: u16, source: std::io::Error },
    #[error("{0}")]
    WebServer(std::io::Error),
    /// A panic: a bug. The run's transaction is never committed.
    #[error("internal error (panic)")]
    Panic,
}

impl CliError {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            // A setting or argument the base cannot use (a user's SQL segment, say).
            CliError::Store(StoreError::Invalid(_))
            | CliError::Command(CommandError::Store(StoreError::Invalid(_)))
            | CliError::Run(RunError::Store(StoreError::Invalid(_))) => EXIT_BAD_INPUT,
            CliError::Run(e) if e.is_missing_input() => EXIT_NO_INPUT,
            CliError::Run(e) if e.is_bad_input() => EXIT_BAD_INPUT,
            CliError::Run(RunError::Store(_)) => EXIT_DB,
            CliError::Run(_) => EXIT_INTERNAL,
            CliError::Command(CommandError::BadInput(_)) => EXIT_BAD_INPUT,
            CliError::Command(CommandError::Source(SourceError::NotFound { .. })) => EXIT_NO_INPUT,
            CliError::Command(CommandError::Source(_)) => EXIT_BAD_INPUT,
            CliError::Command(
                CommandError::Store(_) | CommandError::Io { .. } | CommandError::Compaction(_),
            ) => EXIT_DB,
            CliError::Store(_) => EXIT_DB,
            CliError::DatabaseNotFound(_) => EXIT_NO_INPUT,
            CliError::LeadNotFound { .. } | CliError::BadArgument(_) => EXIT_BAD_INPUT,
            CliError::Write { .. } | CliError::Generate { .. } | CliError::Listen { .. } => EXIT_DB,
            CliError::WebServerStart(_) | CliError::WebServer(_) => EXIT_INTERNAL,
            CliError::Panic => EXIT_INTERNAL,
        }
    }

    /// The lines written to stderr: most say `leadpipe: error: …`; a failed run that was a
    /// bug says so, and that the base is as it was.
    pub fn messages(&self) -> Vec<String> {
        match self {
            CliError::Run(_) if self.exit_code() == EXIT_INTERNAL => vec![
                format!("leadpipe: error: {self}"),
                "leadpipe: this is a bug; the database was left as it was before the run."
                    .to_string(),
            ],
            CliError::Generate { .. } => vec![format!("leadpipe gen: {self}")],
            CliError::Panic => vec![
                "leadpipe: internal error (panic); the database was left as it was before the \
                 run. Please report this."
                    .to_string(),
            ],
            _ => vec![format!("leadpipe: error: {self}")],
        }
    }

    /// Prints the messages and gives the exit code: what `main` ends with on failure.
    pub fn exit(&self) -> ExitCode {
        for line in self.messages() {
            eprintln!("{line}");
        }
        ExitCode::from(self.exit_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_error() -> StoreError {
        StoreError::Db {
            context: "reading",
            source: duckdb::Error::QueryReturnedNoRows,
        }
    }

    fn not_found(path: &str) -> SourceError {
        SourceError::NotFound { path: path.into() }
    }

    #[test]
    fn run_errors_say_whose_fault_they_are() {
        let missing = CliError::Run(RunError::Source(not_found("a.csv")));
        assert_eq!(missing.exit_code(), EXIT_NO_INPUT);
        assert_eq!(
            missing.messages(),
            ["leadpipe: error: a.csv: file not found"]
        );
        let bad = CliError::Run(RunError::Stages("--from warmth --to dedupe".into()));
        assert_eq!(bad.exit_code(), EXIT_BAD_INPUT);
        assert_eq!(
            CliError::Run(RunError::Store(store_error())).exit_code(),
            EXIT_DB
        );
    }

    #[test]
    fn a_run_that_hit_a_bug_says_the_base_is_unchanged() {
        let bug = CliError::Run(RunError::Internal("oops".into()));
        assert_eq!(bug.exit_code(), EXIT_INTERNAL);
        assert_eq!(
            bug.messages(),
            [
                "leadpipe: error: internal error: oops",
                "leadpipe: this is a bug; the database was left as it was before the run.",
            ]
        );
    }

    #[test]
    fn command_errors_keep_their_codes() {
        let code = |e: CommandError| CliError::Command(e).exit_code();
        assert_eq!(code(CommandError::BadInput("x".into())), EXIT_BAD_INPUT);
        assert_eq!(code(CommandError::Source(not_found("f"))), EXIT_NO_INPUT);
        assert_eq!(code(CommandError::Store(store_error())), EXIT_DB);
        assert_eq!(code(CommandError::Compaction(store_error())), EXIT_DB);
        assert_eq!(CliError::Store(store_error()).exit_code(), EXIT_DB);
    }

    #[test]
    fn the_command_layers_own_failures() {
        let gone = CliError::DatabaseNotFound("x.duckdb".into());
        assert_eq!(gone.exit_code(), EXIT_NO_INPUT);
        assert_eq!(
            gone.messages(),
            ["leadpipe: error: x.duckdb: database not found"]
        );
        let lead = CliError::LeadNotFound {
            lead_id: 7,
            db: "x.duckdb".into(),
        };
        assert_eq!(lead.exit_code(), EXIT_BAD_INPUT);
        assert_eq!(
            lead.messages(),
            ["leadpipe: error: lead 7 not found in x.duckdb"]
        );
        let io = || std::io::Error::other("disk full");
        let generate = CliError::Generate {
            path: "g.csv".into(),
            source: io(),
        };
        assert_eq!(generate.exit_code(), EXIT_DB);
        assert_eq!(generate.messages(), ["leadpipe gen: g.csv: disk full"]);
        assert_eq!(CliError::WebServerStart(io()).exit_code(), EXIT_INTERNAL);
        let listen = CliError::Listen {
            port: 80,
            source: io(),
        };
        assert_eq!(listen.exit_code(), EXIT_DB);
    }

    #[test]
    fn a_panic_is_an_internal_error() {
        assert_eq!(CliError::Panic.exit_code(), EXIT_INTERNAL);
        assert_eq!(
            CliError::Panic.messages(),
            ["leadpipe: internal error (panic); the database was left as it was before the run. Please report this."]
        );
    }
}
