//! `leadpipe serve`: the local, read-only review page.

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

It binds to 127.0.0.1 only and opens the database read-only.")]
pub struct ServeArgs {
    #[arg(long, default_value = "leadpipe.duckdb")]
    db: PathBuf,
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Language of the page; default the base's `[output] lang` (Russian unless set).
    #[arg(long, value_enum)]
    lang: Option<Lang>,
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
        let app = leadpipe::serve::router(args.db.clone(), &settings, port);
        eprintln!(
            "leadpipe: serving {} on http://127.0.0.1:{port} (read-only; Ctrl-C stops)",
            args.db.display()
        );
        axum::serve(listener, app)
            .await
            .map_err(CliError::WebServer)
    })
}
