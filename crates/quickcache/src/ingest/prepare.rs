//! Before an ingest touches the database: checking each file and copying it in.
//!
//! A file is accepted only if it is an intact table (every checksum, key order,
//! properties: [`Table::verify`]) holding at least one entry, every entry with
//! sequence number 0 (as [`TableBuilder::add_plain`](quickcache_sstable::TableBuilder::add_plain)
//! writes them) and each user key once, so that one global sequence number gives
//! its entries their place in the order of writes. Files must not overlap each
//! other: which of two would win is not defined.

use std::path::{Path, PathBuf};

use quickcache_fs::FileSystem;
use quickcache_sstable::{Cursor, KeyRef, SeqNo, Table, ValueKind};

use crate::error::{Error, Result};

/// Copy in chunks of this size.
const COPY_CHUNK: usize = 4 << 20;

/// A file that passed the checks, and what the manifest will record of it.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) source: PathBuf,
    pub(crate) smallest: Vec<u8>,
    pub(crate) largest: Vec<u8>,
    pub(crate) first_kind: ValueKind,
    pub(crate) last_kind: ValueKind,
    pub(crate) entries: u64,
    pub(crate) tombstones: u64,
    pub(crate) size: u64,
}

fn refused(path: &Path, reason: impl Into<String>) -> Error {
    Error::IngestRefused {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// How much of a file to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trust {
    /// A caller's file: everything (see the module documentation).
    None,
    /// A table this process just wrote through the builder from sorted, distinct
    /// keys ([`crate::BulkLoader`]'s): its footer and properties are checked on open,
    /// its blocks were checksummed as they were written, so reading it all again
    /// would only double the load's I/O.
    Written,
}

/// Checks every file, then that no two overlap; sorted by smallest key.
pub(crate) fn check_all(
    fs: &dyn FileSystem,
    paths: &[PathBuf],
    trust: Trust,
) -> Result<Vec<Checked>> {
    let mut checked = (paths.iter())
        .map(|p| check(fs, p, trust))
        .collect::<Result<Vec<_>>>()?;
    checked.sort_by(|a, b| a.smallest.cmp(&b.smallest));
    for pair in checked.windows(2) {
        if pair[0].largest >= pair[1].smallest {
            let reason = format!(
                "its keys overlap those of {} (files ingested together must not overlap)",
                pair[0].source.display()
            );
            return Err(refused(&pair[1].source, reason));
        }
    }
    Ok(checked)
}

/// Checks one file (see the module documentation).
fn check(fs: &dyn FileSystem, path: &Path, trust: Trust) -> Result<Checked> {
    let table_error = |source| Error::Table {
        operation: "checking a table to ingest",
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    let table = Table::open(fs, path).map_err(table_error)?;
    if trust == Trust::None {
        table.verify().map_err(table_error)?;
    }
    let p = table.properties();
    if p.entry_count == 0 {
        return Err(refused(path, "the table holds no entries"));
    }
    // A range tombstone would need the global sequence number applied to its own
    // sequence numbers, which ingested tables do not get: refuse rather than let it
    // delete, or fail to delete, the wrong versions.
    if !table.range_tombstones().is_empty() {
        return Err(refused(
            path,
            "the table holds range tombstones; ingest takes puts and deletes only",
        ));
    }
    if p.largest_seqno != SeqNo::ZERO {
        let reason = format!(
            "entries carry sequence numbers (up to {}); write it with TableBuilder::add_plain, or with sequence number 0",
            p.largest_seqno
        );
        return Err(refused(path, reason));
    }
    if trust == Trust::None
        && let Err(key) = unique_keys(&table).map_err(table_error)?
    {
        let reason = format!("user key {key:?} occurs twice (as a value and a tombstone)");
        return Err(refused(path, reason));
    }
    // Present in a non-empty table (the properties decoder checks it).
    let (Some(first), Some(last)) = (&p.smallest_key, &p.largest_key) else {
        return Err(refused(path, "the table's properties name no key range"));
    };
    let (first, last) = (first.as_ref(), last.as_ref());
    Ok(Checked {
        source: path.to_path_buf(),
        smallest: first.user_key.to_vec(),
        largest: last.user_key.to_vec(),
        first_kind: first.kind,
        last_kind: last.kind,
        entries: p.entry_count,
        tombstones: p.tombstone_count,
        size: table.file_size(),
    })
}

/// `Err` with the first user key found twice.
fn unique_keys(table: &Table) -> quickcache_sstable::Result<std::result::Result<(), Vec<u8>>> {
    let mut cursor = table.cursor();
    cursor.seek_to_first()?;
    let mut prev: Option<Vec<u8>> = None;
    while let Some(KeyRef { user_key, .. }) = cursor.key() {
        match &mut prev {
            Some(p) if p.as_slice() == user_key => return Ok(Err(user_key.to_vec())),
            Some(p) => {
                p.clear();
                p.extend_from_slice(user_key);
            }
            None => prev = Some(user_key.to_vec()),
        }
        cursor.next()?;
    }
    Ok(Ok(()))
}

/// Copies `from` to `to` through `fs` and syncs the copy (not its directory).
pub(crate) fn copy(fs: &dyn FileSystem, from: &Path, to: &Path) -> Result<()> {
    let fs_error = |operation| {
        move |source| Error::Fs {
            operation,
            path: to.to_path_buf(),
            source,
        }
    };
    let src = fs.open(from).map_err(|source| Error::Fs {
        operation: "opening a table to ingest",
        path: from.to_path_buf(),
        source,
    })?;
    let mut dst = fs
        .create(to)
        .map_err(fs_error("creating an ingested table"))?;
    let mut buf = vec![0; COPY_CHUNK];
    let mut at = 0u64;
    loop {
        let n = src.read_at(at, &mut buf).map_err(|source| Error::Fs {
            operation: "reading a table to ingest",
            path: from.to_path_buf(),
            source,
        })?;
        if n == 0 {
            break;
        }
        dst.append(&buf[..n])
            .map_err(fs_error("writing an ingested table"))?;
        at += n as u64;
    }
    dst.sync_data()
        .map_err(fs_error("syncing an ingested table"))?;
    dst.close().map_err(fs_error("closing an ingested table"))
}

/// The internal key the manifest records for an edge of an ingested table.
pub(crate) fn edge_key(
    user_key: &[u8],
    seqno: SeqNo,
    kind: ValueKind,
) -> quickcache_sstable::InternalKey {
    quickcache_sstable::InternalKey::new(user_key, seqno, kind)
}
