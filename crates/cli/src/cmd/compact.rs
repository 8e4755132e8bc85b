//! `compact`: a full manual compaction, with a spinner showing the tree's shape.

use std::io::Write;

use quickcache::Stats;

use super::open::{db_error, open_existing};
use super::spinner::with_spinner;
use super::stats::human_bytes;
use crate::CliError;
use crate::args::DbArgs;
use crate::error::output;

/// `L0 3 files 12.0 MB | L1 ...` for the non-empty levels.
fn shape(stats: &Stats) -> String {
    let levels: Vec<_> = stats
        .levels
        .iter()
        .filter(|l| l.files > 0)
        .map(|l| format!("L{} {} files {}", l.level, l.files, human_bytes(l.bytes)))
        .collect();
    if levels.is_empty() {
        "empty".into()
    } else {
        levels.join(" | ")
    }
}

/// Compacts the default keyspace, then every named one, down to the bottom level.
fn compact_every_keyspace(db: &quickcache::Db) -> quickcache::Result<()> {
    db.compact_range(..)?;
    let named = db.keyspaces().into_iter().skip(1);
    // A keyspace dropped meanwhile by another process cannot be: the CLI holds the
    // lock. `find_keyspace` finds every name `keyspaces` listed.
    for keyspace in named.filter_map(|name| db.find_keyspace(&name)) {
        keyspace.compact_range(..)?;
    }
    Ok(())
}

/// Compacts the database in `--db` (every keyspace) down to the bottom level.
///
/// # Errors
/// No database, a database error.
pub(crate) fn compact(args: &DbArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let db = open_existing(&args.db)?;
    writeln!(out, "before: {}", shape(&db.stats())).map_err(output)?;
    let done = with_spinner(
        "compacting",
        || shape(&db.stats()),
        || compact_every_keyspace(&db),
    )?;
    done.map_err(db_error(&args.db))?;
    writeln!(out, "after:  {}", shape(&db.stats())).map_err(output)?;
    db.close().map_err(db_error(&args.db))
}
