//! The replicated state machine on quickcache: openraft's `RaftStateMachine` and
//! `RaftSnapshotBuilder`.
//!
//! Applying entries is one `WriteBatch` per call: the writes of every entry plus the
//! last applied log id and membership, so the data and the record of how far it got
//! never disagree. Applied writes are not synced: the log holds every committed entry
//! until a snapshot covers it, and the quickcache WAL is one ordered log, so the
//! synced write that makes a snapshot durable makes every earlier apply durable too.
//!
//! A snapshot is built from a `Db::snapshot`, a consistent view taken while writes go
//! on, and kept in the database as the current snapshot. Installing one replaces the
//! whole state machine in one atomic, synced batch: a crash leaves the old state or the
//! new one, never a mix.

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, LogId, OptionalSend, RaftSnapshotBuilder, SnapshotMeta,
    StorageError, StoredMembership,
};
use quickcache::{Db, WriteBatch, WriteOptions};
use snafu::ResultExt;

use crate::error::{self, DbSnafu, Result};
use crate::snapshot::{self, SnapshotWriter};
use crate::store::{blocking, encode_json, read_json};
use crate::{NodeId, Op, Response, TypeConfig, keys};

type Entry = openraft::Entry<TypeConfig>;
type Membership = StoredMembership<NodeId, crate::Node>;
type Meta = SnapshotMeta<NodeId, crate::Node>;

/// A node's key-value state machine, kept in the node's quickcache database. Made by
/// [`crate::Store::state_machine`].
#[derive(Debug, Clone)]
pub struct StateMachine {
    db: Arc<Db>,
}

/// Builds snapshots of a [`StateMachine`]; openraft runs it beside the state machine.
#[derive(Debug, Clone)]
pub struct SnapshotBuilder {
    db: Arc<Db>,
}

impl StateMachine {
    pub(crate) fn new(db: Arc<Db>) -> StateMachine {
        StateMachine { db }
    }

    fn applied_state(&self) -> Result<(Option<LogId<NodeId>>, Membership)> {
        let applied = read_json(self.db.get(keys::APPLIED), "last applied log id")?;
        let membership = read_json(self.db.get(keys::MEMBERSHIP), "last membership")?;
        Ok((applied, membership.unwrap_or_default()))
    }

    fn current_snapshot(&self) -> Result<Option<Snapshot<TypeConfig>>> {
        let Some(meta) = read_json::<Meta>(self.db.get(keys::SNAPSHOT_META), "snapshot metadata")?
        else {
            return Ok(None);
        };
        let data = self.db.get(keys::SNAPSHOT_DATA).context(DbSnafu {
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
                        Op::Put { key, value } => batch.put(keys::data_key(key), value),
                        Op::Delete { key } => batch.delete(keys::data_key(key)),
                    };
                }
                Response {
                    applied_ops: command.ops.len(),
                }
            }
            EntryPayload::Membership(membership) => {
                let stored = Membership::new(Some(entry.log_id), membership);
                batch.put(keys::MEMBERSHIP, encode_json(&stored, "last membership")?);
                Response::default()
            }
        };
        responses.push(response);
        last = Some(entry.log_id);
    }
    if let Some(last) = last {
        batch.put(keys::APPLIED, encode_json(&last, "last applied log id")?);
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
        let responses =
            apply_entries(entries, &mut batch).map_err(|e| sm_error(ErrorVerb::Write, &e))?;
        blocking(&self.db, move |db| {
            db.write(batch).context(DbSnafu {
                operation: "applying log entries",
            })
        })
        .await
        .map_err(|e| sm_error(ErrorVerb::Write, &e))?;
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            db: Arc::clone(&self.db),
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
        blocking(&self.db, move |db| install(db, &meta, data.into_inner()))
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
/// deletion of every present key, the snapshot's pairs, the applied log id and
/// membership, and the snapshot itself; quickcache applies a batch all at once or not
/// at all, also across a crash, so the state machine is never a mix of the two.
/// (A batch is one WAL record, at most 64 MiB: see docs/raft.md for the limit.)
fn install(db: &Db, meta: &Meta, data: Vec<u8>) -> Result<()> {
    let pairs = snapshot::decode(&data)?;
    let mut batch = WriteBatch::new();
    for kv in db.prefix(keys::data_prefix()) {
        let (key, _) = kv.context(DbSnafu {
            operation: "listing keys to replace",
        })?;
        batch.delete(key);
    }
    for (key, value) in pairs {
        batch.put(keys::data_key(key), value);
    }
    batch.put(
        keys::APPLIED,
        encode_json(&meta.last_log_id, "last applied log id")?,
    );
    batch.put(
        keys::MEMBERSHIP,
        encode_json(&meta.last_membership, "last membership")?,
    );
    batch.put(keys::SNAPSHOT_META, encode_json(meta, "snapshot metadata")?);
    batch.put(keys::SNAPSHOT_DATA, &data);
    db.write_with(batch, &WriteOptions::synced())
        .context(DbSnafu {
            operation: "installing a snapshot",
        })
}

/// Builds a snapshot from one consistent view and stores it, synced, as the current
/// snapshot. Its id is `<term>-<node>-<index>-<view seqno>`: unique on this node,
/// since a view's sequence number only grows.
fn build(db: &Db) -> Result<(Meta, Vec<u8>)> {
    let view = db.snapshot();
    let last_log_id: Option<LogId<NodeId>> =
        read_json(view.get(keys::APPLIED), "last applied log id")?;
    let last_membership: Option<Membership> =
        read_json(view.get(keys::MEMBERSHIP), "last membership")?;
    let mut writer = SnapshotWriter::new();
    for kv in view.prefix(keys::data_prefix()) {
        let (key, value) = kv.context(DbSnafu {
            operation: "reading the state machine for a snapshot",
        })?;
        writer.add(keys::user_key(&key).unwrap_or_default(), &value)?;
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
    let mut batch = WriteBatch::new();
    batch.put(
        keys::SNAPSHOT_META,
        encode_json(&meta, "snapshot metadata")?,
    );
    batch.put(keys::SNAPSHOT_DATA, &data);
    db.write_with(batch, &WriteOptions::synced())
        .context(DbSnafu {
            operation: "storing a built snapshot",
        })?;
    Ok((meta, data))
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let (meta, data) = blocking(&self.db, build)
            .await
            .map_err(|e| error::storage(ErrorSubject::Snapshot(None), ErrorVerb::Write, &e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}
