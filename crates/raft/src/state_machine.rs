//! The replicated state machine on quickcache: openraft's `RaftStateMachine` and
//! `RaftSnapshotBuilder`.
//!
//! The replicated keys live in the `raft-state` keyspace, as the user wrote them; the
//! last applied log id, the membership and the current snapshot in `raft-meta`.
//!
//! Applying entries is one `WriteBatch` per call, across both keyspaces: the writes of
//! every entry plus the last applied log id and membership, so the data and the record
//! of how far it got never disagree. Applied writes are not synced: the log holds every committed entry
//! until a snapshot covers it, and the quickcache WAL is one ordered log, so the
//! synced write that makes a snapshot durable makes every earlier apply durable too.
//!
//! A snapshot is built from one `Db::snapshot`, a consistent view of every keyspace
//! taken while writes go on, and kept in the database as the current snapshot. Installing one replaces the
//! whole state machine in one atomic, synced batch: a crash leaves the old state or the
//! new one, never a mix.

use std::io::Cursor;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, LogId, OptionalSend, RaftSnapshotBuilder, SnapshotMeta,
    StorageError, StoredMembership,
};
use quickcache::{WriteBatch, WriteOptions};
use snafu::ResultExt;

use crate::error::{self, DbSnafu, Result};
use crate::snapshot::{self, SnapshotWriter};
use crate::store::{Spaces, blocking, encode_json, read_json};
use crate::{NodeId, Op, Response, TypeConfig, keys};

type Entry = openraft::Entry<TypeConfig>;
type Membership = StoredMembership<NodeId, crate::Node>;
type Meta = SnapshotMeta<NodeId, crate::Node>;

/// A node's key-value state machine, kept in the node's quickcache database. Made by
/// [`crate::Store::state_machine`].
#[derive(Debug, Clone)]
pub struct StateMachine {
    spaces: Arc<Spaces>,
    current: CurrentSnapshotLock,
}

/// Builds snapshots of a [`StateMachine`]. openraft runs a build in its own task,
/// concurrently with applies and installs on the state machine.
#[derive(Debug, Clone)]
pub struct SnapshotBuilder {
    spaces: Arc<Spaces>,
    current: CurrentSnapshotLock,
}

/// Serializes replacing the current snapshot: a build that started before an install
/// must not store its older snapshot over the installed one (the log before the
/// installed snapshot may already be purged, so the older one could not be followed
/// by the log). Guards no data, so a poisoned lock is taken as is.
type CurrentSnapshotLock = Arc<Mutex<()>>;

fn lock(current: &Mutex<()>) -> MutexGuard<'_, ()> {
    current.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StateMachine {
    pub(crate) fn new(spaces: Arc<Spaces>) -> StateMachine {
        StateMachine {
            spaces,
            current: CurrentSnapshotLock::default(),
        }
    }

    fn applied_state(&self) -> Result<(Option<LogId<NodeId>>, Membership)> {
        let meta = &self.spaces.meta;
        let applied = read_json(meta.get(keys::APPLIED), "last applied log id")?;
        let membership = read_json(meta.get(keys::MEMBERSHIP), "last membership")?;
        Ok((applied, membership.unwrap_or_default()))
    }

    fn current_snapshot(&self) -> Result<Option<Snapshot<TypeConfig>>> {
        let stored = self.spaces.meta.get(keys::SNAPSHOT_META);
        let Some(meta) = read_json::<Meta>(stored, "snapshot metadata")? else {
            return Ok(None);
        };
        let data = self.spaces.meta.get(keys::SNAPSHOT_DATA).context(DbSnafu {
            operation: "reading snapshot data",
        })?;
        let data = data.map(|value| value.to_vec()).unwrap_or_default();
        Ok(Some(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

/// Adds `entries`' writes, and how far they got, to `batch`; returns one response per
/// entry.
fn apply_entries(
    spaces: &Spaces,
    entries: impl IntoIterator<Item = Entry>,
    batch: &mut WriteBatch,
) -> Result<Vec<Response>> {
    let mut responses = Vec::new();
    let mut last = None;
    for entry in entries {
        let response = match entry.payload {
            EntryPayload::Blank => Response::default(),
            EntryPayload::Normal(command) => {
                for op in &command.ops {
                    match op {
                        Op::Put { key, value } => batch.put_in(&spaces.state, key, value),
                        Op::Delete { key } => batch.delete_in(&spaces.state, key),
                    };
                }
                Response {
                    applied_ops: command.ops.len(),
                }
            }
            EntryPayload::Membership(membership) => {
                let stored = Membership::new(Some(entry.log_id), membership);
                let bytes = encode_json(&stored, "last membership")?;
                batch.put_in(&spaces.meta, keys::MEMBERSHIP, bytes);
                Response::default()
            }
        };
        responses.push(response);
        last = Some(entry.log_id);
    }
    if let Some(last) = last {
        let bytes = encode_json(&last, "last applied log id")?;
        batch.put_in(&spaces.meta, keys::APPLIED, bytes);
    }
    Ok(responses)
}

fn sm_error(verb: ErrorVerb, error: &crate::Error) -> StorageError<NodeId> {
    error::storage(ErrorSubject::StateMachine, verb, error)
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, Membership), StorageError<NodeId>> {
        StateMachine::applied_state(self).map_err(|e| sm_error(ErrorVerb::Read, &e))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = WriteBatch::new();
        let responses = apply_entries(&self.spaces, entries, &mut batch)
            .map_err(|e| sm_error(ErrorVerb::Write, &e))?;
        blocking(&self.spaces, move |spaces| {
            spaces.db.write(batch).context(DbSnafu {
                operation: "applying log entries",
            })
        })
        .await
        .map_err(|e| sm_error(ErrorVerb::Write, &e))?;
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            spaces: Arc::clone(&self.spaces),
            current: Arc::clone(&self.current),
        }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        data: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let meta = meta.clone();
        let signature = Some(meta.signature());
        let current = Arc::clone(&self.current);
        blocking(&self.spaces, move |spaces| {
            let data = data.into_inner();
            let _replacing = lock(&current);
            install(spaces, &meta, data)
        })
        .await
        .map_err(|e| error::storage(ErrorSubject::Snapshot(signature), ErrorVerb::Write, &e))
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        self.current_snapshot()
            .map_err(|e| error::storage(ErrorSubject::Snapshot(None), ErrorVerb::Read, &e))
    }
}

/// Replaces the state machine with the snapshot `data` described by `meta`, and makes
/// it the current snapshot, in one synced batch.
///
/// The data is decoded and verified before anything is written. The batch holds the
/// deletion of every key of the state keyspace, the snapshot's pairs, and in the
/// metadata keyspace the applied log id and membership and the snapshot itself;
/// quickcache applies a batch all at once or not at all, across keyspaces and across a
/// crash, so the state machine is never a mix of the two.
/// (A batch is one WAL record, at most 64 MiB: see docs/raft.md for the limit.)
fn install(spaces: &Spaces, meta: &Meta, data: Vec<u8>) -> Result<()> {
    let pairs = snapshot::decode(&data)?;
    let (state, records) = (&spaces.state, &spaces.meta);
    let mut batch = WriteBatch::new();
    for kv in state.iter() {
        let (key, _) = kv.context(DbSnafu {
            operation: "listing keys to replace",
        })?;
        batch.delete_in(state, key);
    }
    for (key, value) in pairs {
        batch.put_in(state, key, value);
    }
    let applied = encode_json(&meta.last_log_id, "last applied log id")?;
    let membership = encode_json(&meta.last_membership, "last membership")?;
    batch.put_in(records, keys::APPLIED, applied);
    batch.put_in(records, keys::MEMBERSHIP, membership);
    let snapshot_meta = encode_json(meta, "snapshot metadata")?;
    batch.put_in(records, keys::SNAPSHOT_META, snapshot_meta);
    batch.put_in(records, keys::SNAPSHOT_DATA, &data);
    spaces
        .db
        .write_with(batch, &WriteOptions::synced())
        .context(DbSnafu {
            operation: "installing a snapshot",
        })
}

/// Builds a snapshot from one consistent view of both keyspaces and stores it, synced,
/// as the current snapshot unless a newer one is current by then. Its id is
/// `<term>-<node>-<index>-<view seqno>`: unique on this node, since a view's sequence
/// number only grows.
fn build(spaces: &Spaces, current: &Mutex<()>) -> Result<(Meta, Vec<u8>)> {
    // One view of every keyspace: the applied id and the data are of the same instant.
    let view = spaces.db.snapshot();
    let last_log_id: Option<LogId<NodeId>> = read_json(
        view.get_in(&spaces.meta, keys::APPLIED),
        "last applied log id",
    )?;
    let last_membership: Option<Membership> = read_json(
        view.get_in(&spaces.meta, keys::MEMBERSHIP),
        "last membership",
    )?;
    let mut writer = SnapshotWriter::new();
    for kv in view.iter_in(&spaces.state) {
        let (key, value) = kv.context(DbSnafu {
            operation: "reading the state machine for a snapshot",
        })?;
        writer.add(&key, &value)?;
    }
    let data = writer.finish();
    let snapshot_id = match &last_log_id {
        Some(id) => format!("{}-{}-{}", id.leader_id, id.index, view.seqno()),
        None => format!("none-{}", view.seqno()),
    };
    let meta = Meta {
        last_log_id,
        last_membership: last_membership.unwrap_or_default(),
        snapshot_id,
    };
    store_if_newer(spaces, current, &meta, &data)?;
    Ok((meta, data))
}

/// Stores `meta` and `data` as the current snapshot (synced) unless the current one
/// covers more of the log; returns whether it stored them. (One covering the same
/// log has the same content; the newer id replaces it, so that the current snapshot
/// is the one openraft was last given.)
fn store_if_newer(spaces: &Spaces, current: &Mutex<()>, meta: &Meta, data: &[u8]) -> Result<bool> {
    let _replacing = lock(current);
    let records = &spaces.meta;
    let stored: Option<Meta> = read_json(records.get(keys::SNAPSHOT_META), "snapshot metadata")?;
    if stored.is_some_and(|stored| stored.last_log_id > meta.last_log_id) {
        return Ok(false);
    }
    let mut batch = WriteBatch::new();
    let bytes = encode_json(meta, "snapshot metadata")?;
    batch.put_in(records, keys::SNAPSHOT_META, bytes);
    batch.put_in(records, keys::SNAPSHOT_DATA, data);
    spaces
        .db
        .write_with(batch, &WriteOptions::synced())
        .context(DbSnafu {
            operation: "storing a built snapshot",
        })?;
    Ok(true)
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let current = Arc::clone(&self.current);
        let (meta, data) = blocking(&self.spaces, move |spaces| build(spaces, &current))
            .await
            .map_err(|e| error::storage(ErrorSubject::Snapshot(None), ErrorVerb::Write, &e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;

    fn meta(index: u64) -> Meta {
        Meta {
            last_log_id: Some(LogId::new(CommittedLeaderId::new(1, 1), index)),
            last_membership: Membership::default(),
            snapshot_id: format!("s{index}"),
        }
    }

    #[test]
    fn an_older_build_never_replaces_a_newer_current_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path()).unwrap();
        let spaces = store.spaces();
        let current = Mutex::new(());
        assert!(store_if_newer(spaces, &current, &meta(12), b"twelve").unwrap());
        // A build that took its view at index 2, finishing after the install of 12.
        assert!(!store_if_newer(spaces, &current, &meta(2), b"two").unwrap());
        let records = &spaces.meta;
        let stored: Option<Meta> = read_json(records.get(keys::SNAPSHOT_META), "meta").unwrap();
        assert_eq!(stored.map(|m| m.snapshot_id).as_deref(), Some("s12"));
        let data = records.get(keys::SNAPSHOT_DATA).unwrap().unwrap();
        assert_eq!(data.to_vec(), b"twelve");
        // The same log covered: the newer build replaces it.
        assert!(store_if_newer(spaces, &current, &meta(12), b"twelve again").unwrap());
        assert!(store_if_newer(spaces, &current, &meta(20), b"twenty").unwrap());
    }
}
