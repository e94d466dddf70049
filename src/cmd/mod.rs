//! One module per verb (or verb group): its clap arguments and `run`, which returns a
//! [`CliError`] instead of exiting, so `main` maps every failure to an exit code in one place.

pub mod analyse;
pub mod call_list;
pub mod compliance;
pub mod consent;
pub mod deals;
pub mod decide;
pub mod erase;
pub mod explain;
pub mod export;
pub mod gen;
pub mod import;
pub mod outcomes;
pub mod recluster;
pub mod report;
pub mod run;
pub mod runs;
pub mod serve;
pub mod sql;
pub mod suppress;

mod base;
mod error;
mod filters;
mod time_arg;

pub use error::CliError;

/// What every verb's `run` returns.
pub type CmdResult = Result<(), CliError>;

fn print_json<T: serde::Serialize>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("leadpipe: cannot print JSON: {e}"),
    }
}

/// Cuts `s` to `n` characters (the last one an ellipsis) to keep table columns aligned.
fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
