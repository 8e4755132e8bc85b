//! The Raft log on quickcache: openraft's `RaftLogStorage` and `RaftLogReader`.
//!
//! Durability follows openraft's `io_ordering` contract: the vote and appended entries
//! are written with a synced write (fsync before it returns) before openraft is told
//! they are stored, and appended entries are readable as soon as `append` returns.
//! Entries live in the `raft-log` keyspace, the vote and the committed and purged
//! log ids in `raft-meta`. Truncation and purge each change the log and the metadata
//! that describes it in one cross-keyspace `WriteBatch` (one WAL record), so a crash
//! leaves both before or both after.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    ErrorSubject, ErrorVerb, LogId, LogState, OptionalSend, RaftLogReader, StorageError, Vote,
};
use quickcache::{WriteBatch, WriteOptions};
use snafu::ResultExt;

use crate::error::{self, DbSnafu, DecodeSnafu, LogMismatchSnafu, Result};
use crate::store::{Spaces, blocking, encode_json, read_json};
use crate::{NodeId, TypeConfig, keys};

type Entry = openraft::Entry<TypeConfig>;

/// A node's Raft log and its metadata (vote, committed and last purged log ids), kept
/// in the node's quickcache database. Made by [`crate::Store::log_store`].
///
/// Cheap to clone: clones share the database. openraft uses a clone as its log reader.
#[derive(Debug, Clone)]
pub struct LogStore {
    spaces: Arc<Spaces>,
}

impl LogStore {
    pub(crate) fn new(spaces: Arc<Spaces>) -> LogStore {
        LogStore { spaces }
    }

    fn entries(&self, range: (Bound<&u64>, Bound<&u64>)) -> Result<Vec<Entry>> {
        self.spaces
            .log
            .range(keys::log_range(range.0, range.1))
            .map(|kv| {
                let (key, bytes) = kv.context(DbSnafu {
                    operation: "reading log entries",
                })?;
                decode_entry(&key, &bytes)
            })
            .collect()
    }

    fn last_entry(&self) -> Result<Option<Entry>> {
        match self.spaces.log.iter().next_back() {
            Some(kv) => {
                let (key, bytes) = kv.context(DbSnafu {
                    operation: "reading the last log entry",
                })?;
                decode_entry(&key, &bytes).map(Some)
            }
            None => Ok(None),
        }
    }

    fn log_state(&self) -> Result<LogState<TypeConfig>> {
        let last_purged_log_id = read_json(
            self.spaces.meta.get(keys::LAST_PURGED),
            "last purged log id",
        )?;
        let last_log_id = match self.last_entry()? {
            Some(entry) => Some(entry.log_id),
            None => last_purged_log_id,
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }
}

/// The entry stored as `bytes` under `key`, checked to be the entry of that index.
fn decode_entry(key: &[u8], bytes: &[u8]) -> Result<Entry> {
    let entry: Entry = serde_json::from_slice(bytes).context(DecodeSnafu { what: "log entry" })?;
    let key_index = keys::log_index(key);
    if key_index != Some(entry.log_id.index) {
        let key_index = key_index.unwrap_or(u64::MAX);
        return LogMismatchSnafu {
            key_index,
            entry_index: entry.log_id.index,
        }
        .fail();
    }
    Ok(entry)
}

/// Writes `batch` durably: it has been fsynced when this returns.
fn write_synced(spaces: &Spaces, batch: WriteBatch, operation: &'static str) -> Result<()> {
    spaces
        .db
        .write_with(batch, &WriteOptions::synced())
        .context(DbSnafu { operation })
}

/// The batch that removes the log entries whose keys are in `(start, end)`.
fn delete_entries(
    spaces: &Spaces,
    start: Bound<&u64>,
    end: Bound<&u64>,
    batch: &mut WriteBatch,
) -> Result<()> {
    for kv in spaces.log.range(keys::log_range(start, end)) {
        let (key, _) = kv.context(DbSnafu {
            operation: "listing log entries to remove",
        })?;
        batch.delete_in(&spaces.log, key);
    }
    Ok(())
}

fn logs_error(verb: ErrorVerb, error: &crate::Error) -> StorageError<NodeId> {
    error::storage(ErrorSubject::Logs, verb, error)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        self.entries((range.start_bound(), range.end_bound()))
            .map_err(|e| logs_error(ErrorVerb::Read, &e))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        self.log_state()
            .map_err(|e| logs_error(ErrorVerb::Read, &e))
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let bytes = encode_json(vote, "vote");
        let saved = match bytes {
            Ok(bytes) => {
                blocking(&self.spaces, move |spaces| {
                    let synced = WriteOptions::synced();
                    spaces
                        .meta
                        .put_with(keys::VOTE, bytes, &synced)
                        .context(DbSnafu {
                            operation: "saving the vote",
                        })
                })
                .await
            }
            Err(e) => Err(e),
        };
        saved.map_err(|e| error::storage(ErrorSubject::Vote, ErrorVerb::Write, &e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        read_json(self.spaces.meta.get(keys::VOTE), "vote")
            .map_err(|e| error::storage(ErrorSubject::Vote, ErrorVerb::Read, &e))
    }

    /// Records the committed log id so that a restart re-applies up to it at once.
    ///
    /// Not synced: losing it only makes a restarted node wait for the leader to tell it
    /// again, and the quickcache WAL is one ordered log, so any later synced write (the
    /// next vote or append) makes it durable too.
    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        encode_json(&committed, "committed log id")
            .and_then(|bytes| {
                self.spaces
                    .meta
                    .put(keys::COMMITTED, bytes)
                    .context(DbSnafu {
                        operation: "saving the committed log id",
                    })
            })
            .map_err(|e| error::storage(ErrorSubject::Store, ErrorVerb::Write, &e))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        let committed = self.spaces.meta.get(keys::COMMITTED);
        read_json::<Option<LogId<NodeId>>>(committed, "committed log id")
            .map(Option::flatten)
            .map_err(|e| error::storage(ErrorSubject::Store, ErrorVerb::Read, &e))
    }

    /// Writes `entries` in one synced batch, then tells openraft they are durable.
    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = WriteBatch::new();
        for entry in entries {
            let bytes =
                encode_json(&entry, "log entry").map_err(|e| logs_error(ErrorVerb::Write, &e))?;
            batch.put_in(&self.spaces.log, keys::log_key(entry.log_id.index), bytes);
        }
        let written = blocking(&self.spaces, move |spaces| {
            write_synced(spaces, batch, "appending log entries")
        })
        .await;
        match written {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(logs_error(ErrorVerb::Write, &e))
            }
        }
    }

    /// Removes the entries from `log_id` on (conflicting entries a new leader overrides).
    ///
    /// Synced, so that a crash cannot bring back entries that a later append (made
    /// durable after this) has replaced.
    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let from = log_id.index;
        blocking(&self.spaces, move |spaces| {
            let mut batch = WriteBatch::new();
            delete_entries(spaces, Bound::Included(&from), Bound::Unbounded, &mut batch)?;
            write_synced(spaces, batch, "truncating the log")
        })
        .await
        .map_err(|e| logs_error(ErrorVerb::Delete, &e))
    }

    /// Removes the entries up to and including `log_id`, and records it as the last
    /// purged log id, in one batch across the log and metadata keyspaces.
    ///
    /// Not synced: a purge lost in a crash leaves entries that are still correct, and
    /// the batch keeps the log and its last purged id consistent either way.
    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let upto = log_id.index;
        let purged = encode_json(&log_id, "last purged log id")
            .map_err(|e| logs_error(ErrorVerb::Delete, &e))?;
        blocking(&self.spaces, move |spaces| {
            let mut batch = WriteBatch::new();
            delete_entries(spaces, Bound::Unbounded, Bound::Included(&upto), &mut batch)?;
            batch.put_in(&spaces.meta, keys::LAST_PURGED, purged);
            spaces.db.write(batch).context(DbSnafu {
                operation: "purging the log",
            })
        })
        .await
        .map_err(|e| logs_error(ErrorVerb::Delete, &e))
    }
}
