//! Opening the DuckDB base for a command, and the normaliser its pipeline was run with.

use super::CliError;
use leadpipe::settings::Settings;
use leadpipe::store::{Store, StoreError};
use std::path::Path;

/// An existing base, for a command that writes. Commands other than runs and imports never
/// create one: a mistyped `--db` must not leave an empty base behind.
pub fn open_existing(db: &Path) -> Result<Store, CliError> {
    open_found(db, Store::open)
}

/// An existing base, for a command that only reads it: other readers (a running `serve`,
/// another report) do not stand in its way.
pub fn open_for_reading(db: &Path) -> Result<Store, CliError> {
    open_found(db, Store::open_read_only)
}

/// Opens (or creates) a base for a command that writes and may be the first to.
pub fn open_or_create(db: &Path) -> Result<Store, CliError> {
    Ok(Store::open(db)?)
}

fn open_found(db: &Path, open: fn(&Path) -> Result<Store, StoreError>) -> Result<Store, CliError> {
    if !db.exists() {
        return Err(CliError::DatabaseNotFound(db.to_path_buf()));
    }
    Ok(open(db)?)
}

/// The base's settings (its pipeline's region and time zone, origin priority, warmth), so
/// contacts typed on the command line are read the way the records were.
pub fn with_settings(store: Store) -> Result<(Store, Settings), CliError> {
    let settings = Settings::of_base(&store)?;
    Ok((store, settings))
}
