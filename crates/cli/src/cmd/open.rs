//! Opening the database a command names, refusing what is not one.

use std::path::Path;

use quickcache::{Db, Options};
use quickcache_compaction::CURRENT;

use crate::CliError;

/// Checks that `path` is a directory holding a quickcache database, without
/// touching it.
///
/// # Errors
/// [`CliError::NoDatabase`] saying why not.
pub fn check_database(path: &Path) -> Result<(), CliError> {
    let no = |why| CliError::NoDatabase {
        path: path.to_path_buf(),
        why,
    };
    match std::fs::metadata(path) {
        Err(_) => Err(no("the directory does not exist")),
        Ok(meta) if !meta.is_dir() => Err(no("not a directory")),
        // Tables or WAL segments without CURRENT: a database that lost the file,
        // which the open reports as such (pointing to `repair`).
        Ok(_) if !path.join(CURRENT).is_file() && !holds_data(path) => Err(no("no CURRENT file")),
        Ok(_) => Ok(()),
    }
}

/// Whether `path` holds a table or a WAL segment.
fn holds_data(path: &Path) -> bool {
    let has = |dir: &Path, suffix: &str| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(suffix))
        })
    };
    has(path, ".sst") || has(&path.join(quickcache::WAL_DIR), ".log")
}

/// Opens the existing database in `path`.
///
/// # Errors
/// [`CliError::NoDatabase`], or the database's own error (locked, damaged).
pub fn open_existing(path: &Path) -> Result<Db, CliError> {
    check_database(path)?;
    open(path)
}

/// What a read command says on stderr when it falls back on a read-only view.
pub(crate) const READ_ONLY_NOTE: &str =
    "note: database is in use; reading a read-only view as of now";

/// Opens the existing database in `path` for a read command: normally, or, when
/// another process holds it, as a read-only view of its state now
/// ([`Db::open_read_only`]), saying so on stderr.
///
/// # Errors
/// [`CliError::NoDatabase`], or the database's own error (damaged, I/O).
pub fn open_for_reading(path: &Path) -> Result<Db, CliError> {
    match open_existing(path) {
        Err(CliError::Db { source, .. }) if source.is_locked() => {
            eprintln!("{READ_ONLY_NOTE}");
            Db::open_read_only(path).map_err(db_error(path))
        }
        other => other,
    }
}

/// Opens or creates the database in `path`.
///
/// # Errors
/// The database's error (locked, damaged, not a database, I/O).
pub(crate) fn open(path: &Path) -> Result<Db, CliError> {
    // A command must not reshape the tree behind the user's back: with a flush on
    // close, `get` or `verify` would write a table out of the replayed WAL, and every
    // `put` would leave one more L0 table. The WAL keeps such writes durable anyway.
    let options = Options {
        flush_on_close: false,
        ..Options::default()
    };
    Db::open_with(path, options).map_err(|source| CliError::Db {
        path: path.to_path_buf(),
        source,
    })
}

/// Wraps a database error for `path`.
pub(crate) fn db_error(path: &Path) -> impl Fn(quickcache::Error) -> CliError + '_ {
    move |source| CliError::Db {
        path: path.to_path_buf(),
        source,
    }
}
