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

/// Checks every file, then that no two overlap; sorted by smallest key.
pub(crate) fn check_all(fs: &dyn FileSystem, paths: &[PathBuf]) -> Result<Vec<Checked>> {
    let mut checked = (paths.iter())
        .map(|p| check(fs, p))
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
fn check(fs: &dyn FileSystem, path: &Path) -> Result<Checked> {
    let table_error = |source| Error::Table {
        operation: "checking a table to ingest",
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    let table = Table::open(fs, path).map_err(table_error)?;
    table.verify().map_err(table_error)?;
    let p = table.properties();
    if p.entry_count == 0 {
        return Err(refused(path, "the table holds no entries"));
    }
    if p.largest_seqno != SeqNo::ZERO {
        let reason = format!(
            "entries carry sequence numbers (up to {}); write it with TableBuilder::add_plain, or with sequence number 0",
            p.largest_seqno
        );
        return Err(refused(path, reason));
    }
    let (first, last) = unique_keys(&table).map_err(table_error)?.map_err(|key| {
        let reason = format!("user key {key:?} occurs twice (as a value and a tombstone)");
        refused(path, reason)
    })?;
    Ok(Checked {
        source: path.to_path_buf(),
        smallest: first.0,
        largest: last.0,
        first_kind: first.1,
        last_kind: last.1,
        entries: p.entry_count,
        tombstones: p.tombstone_count,
        size: table.file_size(),
    })
}

type Edge = (Vec<u8>, ValueKind);

/// The first and last entries' user keys and kinds, or the first user key found
/// twice. Requires a non-empty table.
fn unique_keys(
    table: &Table,
) -> quickcache_sstable::Result<std::result::Result<(Edge, Edge), Vec<u8>>> {
    let mut cursor = table.cursor();
    cursor.seek_to_first()?;
    let mut first: Option<Edge> = None;
    let mut prev: Vec<u8> = Vec::new();
    let mut last_kind = ValueKind::Value;
    while let Some(KeyRef { user_key, kind, .. }) = cursor.key() {
        if first.is_some() && user_key == prev.as_slice() {
            return Ok(Err(prev));
        }
        if first.is_none() {
            first = Some((user_key.to_vec(), kind));
        }
        prev.clear();
        prev.extend_from_slice(user_key);
        last_kind = kind;
        cursor.next()?;
    }
    Ok(first.map(|f| (f, (prev, last_kind))).ok_or(Vec::new()))
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
