//! The current snapshot's data, stored in `raft-meta` in chunks of bounded size.
//!
//! A value is written in one WAL record, at most 64 MiB, so the data of a large
//! snapshot cannot be one value. Each stored snapshot gets a new generation `g`; its
//! data is cut into chunks of at most [`crate::Store::set_stage_bytes`] bytes under
//! `chunk/<g: u64 BE><index: u32 BE>`, written (unsynced) before the one synced batch
//! that makes it current. That batch puts the `snapshot-chunks` record (generation,
//! chunk count, length) beside `snapshot-meta`, and deletes the previous generation's
//! chunks with one range delete (and the previous layout's one-value `snapshot-data`).
//! The WAL is one ordered log, so the synced batch makes the chunks before it durable
//! too. Chunks of a generation that never became current are removed at the next
//! open and before the next store.

use quickcache::{Db, Keyspace, Snapshot, WriteBatch};
use serde::{Deserialize, Serialize};
use snafu::ResultExt;

use crate::error::{DbSnafu, Result, StoredSnapshotSnafu};
use crate::keys;
use crate::store::{Spaces, encode_json, read_json};

/// The `snapshot-chunks` record: where the current snapshot's data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Chunks {
    /// The generation whose chunk keys hold the data.
    pub(crate) generation: u64,
    /// How many chunks, indexed from 0.
    pub(crate) count: u32,
    /// The data's length in bytes, all chunks together.
    pub(crate) len: u64,
}

/// The current `snapshot-chunks` record, if the current snapshot is stored in chunks.
pub(crate) fn current(meta: &Keyspace) -> Result<Option<Chunks>> {
    read_json(meta.get(keys::SNAPSHOT_CHUNKS), "snapshot chunks")
}

/// Writes `data` as the chunks of a new generation, not yet current: the caller
/// makes them current with [`switch`] in its synced batch. The caller holds the lock
/// that serializes snapshot stores, so that no other store changes the current
/// record meanwhile. Leftovers of an interrupted store are removed first.
pub(crate) fn write(spaces: &Spaces, data: &[u8]) -> Result<Chunks> {
    let meta = &spaces.meta;
    let old = current(meta)?;
    remove_orphans(&spaces.db, meta)?;
    let generation = old.map_or(1, |c| c.generation.saturating_add(1));
    let mut count = 0u32;
    for chunk in data.chunks(spaces.stage_bytes()) {
        meta.put(keys::chunk_key(generation, count), chunk)
            .context(DbSnafu {
                operation: "writing a snapshot data chunk",
            })?;
        count = count.checked_add(1).ok_or_else(|| {
            StoredSnapshotSnafu {
                reason: "over 2^32 chunks".to_owned(),
            }
            .build()
        })?;
    }
    Ok(Chunks {
        generation,
        count,
        len: data.len() as u64,
    })
}

/// Adds to `batch` what makes `new` the current snapshot's data: its record, and the
/// removal of the data it replaces (the chunks of `old`, or the one value of the
/// previous layout).
pub(crate) fn switch(
    batch: &mut WriteBatch,
    meta: &Keyspace,
    old: Option<Chunks>,
    new: Chunks,
) -> Result<()> {
    debug_assert!(old.is_none_or(|old| old.generation != new.generation));
    // From this batch on the directory is of layout 2 only: the previous layout's
    // code must refuse it (it checks the default keyspace is empty).
    batch.put(keys::LAYOUT, keys::LAYOUT_VERSION);
    batch.put_in(
        meta,
        keys::SNAPSHOT_CHUNKS,
        encode_json(&new, "snapshot chunks")?,
    );
    batch.delete_in(meta, keys::SNAPSHOT_DATA);
    if let Some(old) = old {
        batch.delete_range_in(meta, keys::chunk_range(old.generation));
    }
    Ok(())
}

/// Removes the chunks of every generation but the current one (with range deletes,
/// and only if there are any: an open with nothing to clean writes nothing).
pub(crate) fn remove_orphans(db: &Db, meta: &Keyspace) -> Result<()> {
    let keep = current(meta)?.map(|c| c.generation);
    let mut batch = WriteBatch::new();
    for range in keys::chunk_ranges_except(keep) {
        if let Some(first) = meta.range(range.clone()).next() {
            first.context(DbSnafu {
                operation: "looking for orphan snapshot chunks",
            })?;
            batch.delete_range_in(meta, range);
        }
    }
    if batch.is_empty() {
        return Ok(());
    }
    db.write(batch).context(DbSnafu {
        operation: "removing orphan snapshot chunks",
    })
}

/// The current snapshot's data as of `view`: its chunks, or the one value of the
/// previous layout (empty if there is neither).
///
/// # Errors
/// [`crate::Error::StoredSnapshot`] if the chunks do not match their record.
pub(crate) fn read(view: &Snapshot, meta: &Keyspace) -> Result<Vec<u8>> {
    let record = view.get_in(meta, keys::SNAPSHOT_CHUNKS);
    let Some(chunks) = read_json::<Chunks>(record, "snapshot chunks")? else {
        let data = view.get_in(meta, keys::SNAPSHOT_DATA).context(DbSnafu {
            operation: "reading snapshot data",
        })?;
        return Ok(data.map(|value| value.into_vec()).unwrap_or_default());
    };
    let damaged = |reason: String| StoredSnapshotSnafu { reason }.fail();
    // Not sized from the record's length: a damaged one must not size an allocation.
    let mut data = Vec::new();
    let mut next = 0u32;
    for kv in view.range_in(meta, keys::chunk_range(chunks.generation)) {
        let (key, value) = kv.context(DbSnafu {
            operation: "reading snapshot data chunks",
        })?;
        if keys::chunk_index(&key, chunks.generation) != Some(next) {
            return damaged(format!(
                "generation {}: chunk {next} missing",
                chunks.generation
            ));
        }
        data.extend_from_slice(&value);
        next = next.saturating_add(1);
    }
    if (next, data.len() as u64) != (chunks.count, chunks.len) {
        return damaged(format!(
            "generation {}: {next} chunks of {} bytes, the record says {} of {}",
            chunks.generation,
            data.len(),
            chunks.count,
            chunks.len
        ));
    }
    Ok(data)
}
