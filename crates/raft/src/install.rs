//! Replacing the current snapshot: installing one received from the leader (which
//! replaces the state machine too), and storing one built here.
//!
//! Neither writes more than a bounded amount per WAL record (a record holds at most
//! 64 MiB), and each becomes visible, and durable, with one synced `raft-meta` batch:
//!
//! ```text
//! install   1. decode and verify the snapshot data
//!           2. drop state keyspaces that are not live (leftovers of a crash)
//!           3. stage the pairs in a fresh keyspace raft-state-<n>, batches of bounded size
//!           4. write the data in chunks of a new generation            (chunks.rs)
//!           5. synced batch in raft-meta: applied, membership, snapshot-meta,
//!              snapshot-chunks, state-keyspace = raft-state-<n>, delete old chunks
//!              -- written under the live-state write lock, which also swaps the handle
//!           6. drop the old state keyspace (one manifest edit, no scan)
//! store     1. write the data in chunks of a new generation
//!           2. synced batch in raft-meta: snapshot-meta, snapshot-chunks, delete old chunks
//! ```
//!
//! A crash before the synced batch leaves the old state and snapshot, plus leftovers
//! that no record names and the next open removes; a crash after it leaves the new
//! ones (plus, after an install, the old keyspace, dropped by the next open).

use std::sync::{Mutex, PoisonError};

use quickcache::{Keyspace, WriteBatch, WriteOptions};
use snafu::ResultExt;

use crate::chunks::{self, Chunks};
use crate::error::{DbSnafu, Result};
use crate::store::{Spaces, encode_json, read_json};
use crate::{NodeId, keys, live, snapshot};

type Meta = openraft::SnapshotMeta<NodeId, crate::Node>;

/// Replaces the state machine with the snapshot `data` described by `meta`, and makes
/// it the current snapshot. The caller holds the lock that serializes snapshot
/// replacements, and openraft applies no entry meanwhile.
pub(crate) fn install(spaces: &Spaces, meta: &Meta, data: &[u8]) -> Result<()> {
    let pairs = snapshot::decode(data)?;
    let db = &spaces.db;
    let old_name = spaces.state().name().to_owned();
    live::drop_stale_state_keyspaces(db, &old_name)?;
    let name = live::next_state_name(db)?;
    let staged = db.keyspace(&name).context(DbSnafu {
        operation: "creating a state keyspace to install into",
    })?;
    stage(spaces, &staged, pairs)?;
    let old_chunks = chunks::current(&spaces.meta)?;
    let new_chunks = chunks::write(spaces, data)?;
    let records = &spaces.meta;
    let mut batch = WriteBatch::new();
    let applied = encode_json(&meta.last_log_id, "last applied log id")?;
    let membership = encode_json(&meta.last_membership, "last membership")?;
    batch.put_in(records, keys::APPLIED, applied);
    batch.put_in(records, keys::MEMBERSHIP, membership);
    put_meta_and_chunks(&mut batch, records, meta, old_chunks, new_chunks)?;
    batch.put_in(
        records,
        keys::LIVE_STATE,
        encode_json(&name, "live state keyspace")?,
    );
    {
        // Readers and builds take the read lock to get the handle and make their
        // iterators, so each sees the keyspace the records of its instant name.
        let mut live = spaces.state.write().unwrap_or_else(PoisonError::into_inner);
        db.write_with(batch, &WriteOptions::synced())
            .context(DbSnafu {
                operation: "switching to the installed snapshot",
            })?;
        *live = staged;
    }
    // No reader holds the old handle outside the lock, and iterators made before
    // keep what they pinned. A crash before this drop leaves it to the next open.
    db.drop_keyspace(&old_name).context(DbSnafu {
        operation: "dropping the replaced state keyspace",
    })
}

/// Writes `pairs` into `staged`, unsynced, in batches of about
/// [`Spaces::stage_bytes`] (a pair larger than that is a batch of its own). The
/// synced switch that follows makes them durable: the WAL is one ordered log.
fn stage(spaces: &Spaces, staged: &Keyspace, pairs: Vec<(&[u8], &[u8])>) -> Result<()> {
    let limit = spaces.stage_bytes();
    let mut batch = WriteBatch::new();
    let mut bytes = 0usize;
    let flush = |batch: &mut WriteBatch| {
        let full = std::mem::take(batch);
        spaces.db.write(full).context(DbSnafu {
            operation: "staging a snapshot's keys",
        })
    };
    for (key, value) in pairs {
        let size = key.len() + value.len();
        if !batch.is_empty() && bytes.saturating_add(size) > limit {
            flush(&mut batch)?;
            bytes = 0;
        }
        batch.put_in(staged, key, value);
        bytes = bytes.saturating_add(size);
    }
    if !batch.is_empty() {
        flush(&mut batch)?;
    }
    Ok(())
}

/// Adds the snapshot's metadata and what makes `new` its current data to `batch`.
fn put_meta_and_chunks(
    batch: &mut WriteBatch,
    records: &Keyspace,
    meta: &Meta,
    old: Option<Chunks>,
    new: Chunks,
) -> Result<()> {
    let snapshot_meta = encode_json(meta, "snapshot metadata")?;
    batch.put_in(records, keys::SNAPSHOT_META, snapshot_meta);
    chunks::switch(batch, records, old, new)
}

/// Stores `meta` and `data` as the current snapshot (synced) unless the current one
/// covers more of the log; returns whether it stored them. (One covering the same
/// log has the same content; the newer id replaces it, so that the current snapshot
/// is the one openraft was last given.)
pub(crate) fn store_if_newer(
    spaces: &Spaces,
    current: &Mutex<()>,
    meta: &Meta,
    data: &[u8],
) -> Result<bool> {
    let _replacing = current.lock().unwrap_or_else(PoisonError::into_inner);
    let records = &spaces.meta;
    let stored: Option<Meta> = read_json(records.get(keys::SNAPSHOT_META), "snapshot metadata")?;
    if stored.is_some_and(|stored| stored.last_log_id > meta.last_log_id) {
        return Ok(false);
    }
    let old_chunks = chunks::current(records)?;
    let new_chunks = chunks::write(spaces, data)?;
    let mut batch = WriteBatch::new();
    put_meta_and_chunks(&mut batch, records, meta, old_chunks, new_chunks)?;
    spaces
        .db
        .write_with(batch, &WriteOptions::synced())
        .context(DbSnafu {
            operation: "storing a built snapshot",
        })?;
    Ok(true)
}
