//! The replicated state machine on quickcache: openraft's `RaftStateMachine` and
//! `RaftSnapshotBuilder`.
//!
//! The replicated keys live in the live state keyspace (`raft-state`, or the
//! `raft-state-<n>` the last install created), as the user wrote them; the last
//! applied log id, the membership and the current snapshot in `raft-meta`.
//!
//! Applying entries is one `WriteBatch` per call, across both keyspaces: the writes of
//! every entry plus the last applied log id and membership, so the data and the record
//! of how far it got never disagree. Applied writes are not synced: the log holds every committed entry
//! until a snapshot covers it, and the quickcache WAL is one ordered log, so the
//! synced write that makes a snapshot durable makes every earlier apply durable too.
//!
//! A snapshot is built from one `Db::snapshot`, a consistent view of every keyspace
//! taken while writes go on, and kept in the database as the current snapshot.
//! Installing one stages it in a fresh keyspace and switches to it with one synced
//! batch (`install.rs`): a crash leaves the old state or the new one, never a mix.

use std::io::Cursor;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, LogId, OptionalSend, RaftSnapshotBuilder, SnapshotMeta,
    StorageError, StoredMembership,
};
use quickcache::{Keyspace, WriteBatch};
use snafu::ResultExt;

use crate::error::{self, DbSnafu, Result};
use crate::install::{install, store_if_newer};
use crate::snapshot::SnapshotWriter;
use crate::store::{Spaces, blocking, encode_json, read_json};
use crate::{NodeId, Op, Response, TypeConfig, chunks, keys, live};

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
        // One view: a build storing a newer snapshot meanwhile deletes these chunks.
        let view = self.spaces.db.snapshot();
        let records = &self.spaces.meta;
        let stored = view.get_in(records, keys::SNAPSHOT_META);
        let Some(meta) = read_json::<Meta>(stored, "snapshot metadata")? else {
            return Ok(None);
        };
        let data = chunks::read(&view, records)?;
        Ok(Some(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

/// Adds `entries`' writes to the live state keyspace `state`, and how far they got,
/// to `batch`; returns one response per entry.
fn apply_entries(
    spaces: &Spaces,
    state: &Keyspace,
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
                        Op::Put { key, value } => batch.put_in(state, key, value),
                        Op::Delete { key } => batch.delete_in(state, key),
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
        // openraft never applies during an install; the read lock holds the live
        // keyspace in place anyway until the batch is written.
        let state = self.spaces.state().clone();
        let mut batch = WriteBatch::new();
        let responses = apply_entries(&self.spaces, &state, entries, &mut batch)
            .map_err(|e| sm_error(ErrorVerb::Write, &e))?;
        blocking(&self.spaces, move |spaces| {
            let live = spaces.state();
            debug_assert_eq!(live.name(), state.name(), "an install ran during an apply");
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
            install(spaces, &meta, &data)
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

/// Builds a snapshot from one consistent view of both keyspaces and stores it, synced,
/// as the current snapshot unless a newer one is current by then. Its id is
/// `<term>-<node>-<index>-<view seqno>`: unique on this node, since a view's sequence
/// number only grows.
fn build(spaces: &Spaces, current: &Mutex<()>) -> Result<(Meta, Vec<u8>)> {
    // One view of every keyspace, so the applied id and the data are of one instant,
    // taken under the live-state read lock with the iterator made there too: an
    // install switches the live keyspace (and writes the record that names it) under
    // the write lock, and drops the old one only after, so the view's records name
    // the handle read here, and the iterator pins it before any drop.
    let (view, pairs) = {
        let state = spaces.state();
        let view = spaces.db.snapshot();
        debug_assert_eq!(
            live::live_name_at(&view, &spaces.meta).ok().as_deref(),
            Some(state.name())
        );
        let pairs = view.iter_in(&state);
        (view, pairs)
    };
    let last_log_id: Option<LogId<NodeId>> = read_json(
        view.get_in(&spaces.meta, keys::APPLIED),
        "last applied log id",
    )?;
    let last_membership: Option<Membership> = read_json(
        view.get_in(&spaces.meta, keys::MEMBERSHIP),
        "last membership",
    )?;
    let mut writer = SnapshotWriter::new();
    for kv in pairs {
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
        let data = chunks::read(&spaces.db.snapshot(), records).unwrap();
        assert_eq!(data, b"twelve");
        // The same log covered: the newer build replaces it.
        assert!(store_if_newer(spaces, &current, &meta(12), b"twelve again").unwrap());
        assert!(store_if_newer(spaces, &current, &meta(20), b"twenty").unwrap());
    }
}
