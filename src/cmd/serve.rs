//! `leadpipe serve`: the local review page, read-only unless started with `--allow-edits`.

use super::base::open_for_reading;
use super::{CliError, CmdResult};
use clap::Args;
use leadpipe::lang::Lang;
use leadpipe::settings::Settings;
use std::path::PathBuf;

/// A local, read-only web page: search a lead by part of its name, phone, e-mail, company
/// or city and see its golden record, member records, merge evidence, consent history and
/// warmth.
#[derive(Args)]
#[command(after_help = "Examples:
  leadpipe serve --db demo.duckdb                 then open http://127.0.0.1:8080
  leadpipe serve --db demo.duckdb --port 9000 --lang en

It binds to 127.0.0.1 only and opens the database read-only. With --allow-edits, the
review queue (/review) has buttons that record a reviewer's verdict on a pair (a label
in match_decisions, applied at once); forms carry a token only this server's pages know.")]
pub struct ServeArgs {
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Language of the page; default the base's `[output] lang` (Russian unless set).
    #[arg(long, value_enum)]
    lang: Option<Lang>,
    /// Let reviewers record "same person" / "different people" on the review pages.
    #[arg(long)]
    allow_edits: bool,
    /// The name decisions made on the page are recorded under (default: $USER).
    #[arg(long)]
    reviewer: Option<String>,
}

/// A token for the page's forms: 128 bits from the system's random source, else from the
/// per-process random keys of the standard library's hasher.
fn form_token() -> String {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        use std::hash::{BuildHasher, Hasher};
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn run(args: ServeArgs) -> CmdResult {
    let store = open_for_reading(&args.db)?;
    // The page still serves a base whose stored settings cannot be read, with the defaults.
    let mut settings = Settings::of_base(&store).unwrap_or_default();
    settings.lang = args.lang.unwrap_or(settings.lang);
    // Each request opens the base on its own: holding it here would make every run fail.
    drop(store);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::WebServerStart)?;
    runtime.block_on(async move {
        let port = args.port;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| CliError::Listen { port, source })?;
        // The port actually bound (`--port 0` picks one): only requests naming it are served.
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        let edits = args.allow_edits.then(|| leadpipe::serve::Edits {
            token: form_token(),
            actor: args
                .reviewer
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "review page".into()),
        });
        let app = leadpipe::serve::router(args.db.clone(), &settings, port, edits);
        eprintln!(
            "leadpipe: serving {} on http://127.0.0.1:{port} ({}; Ctrl-C stops)",
            args.db.display(),
            if args.allow_edits {
                "reviewers may record decisions at /review"
            } else {
                "read-only"
            }
        );
        axum::serve(listener, app)
            .await
            .map_err(CliError::WebServer)
    })
}
