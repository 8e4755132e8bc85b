//! The shared database under a node's log store and state machine, its keyspaces,
//! and its identity.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use quickcache::{Db, Keyspace, Options, Value, WriteOptions};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use snafu::ResultExt;

use crate::error::{
    DbSnafu, DecodeSnafu, EncodeSnafu, ForeignLayoutSnafu, Result, TaskSnafu, UnknownLayoutSnafu,
    WrongIdentitySnafu,
};
use crate::{KvReader, LogStore, NodeId, StateMachine, chunks, keys, live};

/// One node's quickcache database, holding its Raft log, the metadata and the
/// replicated state machine, each in its own keyspace (the layout is in
/// docs/raft.md).
///
/// Cheap to clone; every clone shares the database, which is closed when the last
/// clone (including every [`LogStore`], [`StateMachine`] and [`KvReader`] made from
/// it) is dropped.
#[derive(Debug, Clone)]
pub struct Store {
    spaces: Arc<Spaces>,
}

/// The database and the adapter's keyspaces in it, shared by every part of a node's
/// storage.
#[derive(Debug)]
pub(crate) struct Spaces {
    /// The database; its default keyspace stays empty.
    pub(crate) db: Db,
    /// Log entries, under big-endian indexes.
    pub(crate) log: Keyspace,
    /// The vote, committed, purged, applied and membership records, the identity and
    /// the current snapshot.
    pub(crate) meta: Keyspace,
    /// The live state keyspace: the replicated keys, as the user wrote them. An
    /// install replaces it under the write lock, in the same critical section as the
    /// synced record that makes the new one live, then drops the old one: whoever
    /// reads the handle under the read lock (and makes its iterator there) reads one
    /// state, never a dropped keyspace.
    pub(crate) state: RwLock<Keyspace>,
    /// The most bytes one staged write of an install, or one stored snapshot chunk,
    /// holds ([`DEFAULT_STAGE_BYTES`] unless [`Store::set_stage_bytes`] lowered it).
    stage_bytes: AtomicUsize,
}

/// The default of [`Store::set_stage_bytes`]: 4 MiB, a sixteenth of the 64 MiB WAL
/// record limit, so that a pair that does not fit is far over any sensible value.
pub const DEFAULT_STAGE_BYTES: usize = 4 << 20;

impl Spaces {
    /// The live state keyspace, read-locked: an install cannot switch it (nor drop
    /// it) while the guard is held.
    pub(crate) fn state(&self) -> RwLockReadGuard<'_, Keyspace> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bound on one staged write or stored chunk.
    pub(crate) fn stage_bytes(&self) -> usize {
        self.stage_bytes.load(Ordering::Relaxed)
    }
}

/// The node and cluster a data directory belongs to, written by the first start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    node: NodeId,
    cluster: String,
}

impl Store {
    /// Opens (creating if needed) the database at `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, Options::default())
    }

    /// Opens (creating if needed) the database at `path`.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Store> {
        let db = Db::open_with(path, options).context(DbSnafu {
            operation: "opening the database",
        })?;
        check_layout(&db)?;
        let keyspace = |name: &'static str| {
            db.keyspace(name).context(DbSnafu {
                operation: "opening a keyspace",
            })
        };
        let (log, meta) = (
            keyspace(keys::LOG_KEYSPACE)?,
            keyspace(keys::META_KEYSPACE)?,
        );
        let state = live::open_live_state(&db, &meta)?;
        // What an interrupted install or snapshot store left: never read, so removed
        // before anyone could.
        live::drop_stale_state_keyspaces(&db, state.name())?;
        chunks::remove_orphans(&db, &meta)?;
        let spaces = Spaces {
            db,
            log,
            meta,
            state: RwLock::new(state),
            stage_bytes: AtomicUsize::new(DEFAULT_STAGE_BYTES),
        };
        Ok(Store {
            spaces: Arc::new(spaces),
        })
    }

    /// Records that this directory belongs to node `node` of `cluster`, or checks that
    /// it already does.
    ///
    /// # Errors
    /// [`Error::WrongIdentity`](crate::Error::WrongIdentity) if the directory was
    /// claimed by another node id or another cluster: starting on it would make one
    /// node's log and vote another's, which Raft's safety argument does not survive.
    pub fn claim_identity(&self, node: NodeId, cluster: &str) -> Result<()> {
        let wanted = Identity {
            node,
            cluster: cluster.to_owned(),
        };
        let meta = &self.spaces.meta;
        match read_json::<Identity>(meta.get(keys::IDENTITY), "node identity")? {
            Some(found) if found == wanted => Ok(()),
            Some(found) => WrongIdentitySnafu {
                node,
                cluster,
                found_node: found.node,
                found_cluster: found.cluster,
            }
            .fail(),
            None => {
                let bytes = encode_json(&wanted, "node identity")?;
                meta.put_with(keys::IDENTITY, bytes, &WriteOptions::synced())
                    .context(DbSnafu {
                        operation: "recording the node identity",
                    })
            }
        }
    }

    /// Sets the most bytes one write of a snapshot install (the snapshot's pairs are
    /// staged in several), or one chunk of a stored snapshot's data, holds (at least
    /// one byte). The default, [`DEFAULT_STAGE_BYTES`], suits every use; a small
    /// bound makes small snapshots take the multi-write path, for tests.
    pub fn set_stage_bytes(&self, bytes: usize) {
        self.spaces
            .stage_bytes
            .store(bytes.max(1), Ordering::Relaxed);
    }

    /// The Raft log storage of this node.
    pub fn log_store(&self) -> LogStore {
        LogStore::new(Arc::clone(&self.spaces))
    }

    /// The Raft state machine of this node.
    pub fn state_machine(&self) -> StateMachine {
        StateMachine::new(Arc::clone(&self.spaces))
    }

    /// A reader of the state machine's keys, for serving reads.
    pub fn reader(&self) -> KvReader {
        KvReader::new(Arc::clone(&self.spaces))
    }

    /// The shared database and keyspaces, for the crate's unit tests.
    #[cfg(test)]
    pub(crate) fn spaces(&self) -> &Arc<Spaces> {
        &self.spaces
    }

    /// The database itself, for statistics and maintenance.
    pub fn db(&self) -> &Db {
        &self.spaces.db
    }
}

/// Checks the default keyspace, where the adapter writes one record at most: the
/// layout marker, which the first snapshot stored or installed in this layout writes
/// (in the same batch). Any other key means another database, or the unreleased
/// one-keyspace prefix layout (no migration: it was never released); starting on
/// either would look like a fresh node. The marker is kept there, not in `raft-meta`,
/// because the default keyspace is what the previous layout's code checks: it refuses
/// a directory that this layout made unreadable to it, instead of misreading it.
fn check_layout(db: &Db) -> Result<()> {
    for kv in db.iter() {
        let (key, value) = kv.context(DbSnafu {
            operation: "checking the default keyspace",
        })?;
        if key.as_slice() != keys::LAYOUT {
            return ForeignLayoutSnafu {
                key: String::from_utf8_lossy(&key).into_owned(),
            }
            .fail();
        }
        if value.as_slice() != keys::LAYOUT_VERSION {
            return UnknownLayoutSnafu {
                version: String::from_utf8_lossy(&value).into_owned(),
            }
            .fail();
        }
    }
    Ok(())
}

/// Runs `f`, which may block on I/O (a synced write waits for fsync), on tokio's
/// blocking pool, so that it never stalls the async workers that drive Raft.
pub(crate) async fn blocking<T, F>(spaces: &Arc<Spaces>, f: F) -> Result<T>
where
    F: FnOnce(&Spaces) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let spaces = Arc::clone(spaces);
    tokio::task::spawn_blocking(move || f(&spaces))
        .await
        .context(TaskSnafu)?
}

/// Decodes the JSON record a `get` returned, if there was one.
pub(crate) fn read_json<T: DeserializeOwned>(
    got: quickcache::Result<Option<Value>>,
    what: &'static str,
) -> Result<Option<T>> {
    match got.context(DbSnafu { operation: what })? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .context(DecodeSnafu { what }),
        None => Ok(None),
    }
}

/// The JSON encoding of the record `what`.
pub(crate) fn encode_json<T: Serialize>(value: &T, what: &'static str) -> Result<Vec<u8>> {
    serde_json::to_vec(value).context(EncodeSnafu { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_claimed_once_and_then_enforced() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.claim_identity(1, "blue").unwrap();
            store.claim_identity(1, "blue").unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        store.claim_identity(1, "blue").unwrap();
        let other_node = store.claim_identity(2, "blue").unwrap_err();
        assert!(other_node.is_wrong_identity(), "{other_node}");
        let other_cluster = store.claim_identity(1, "green").unwrap_err();
        assert!(other_cluster.is_wrong_identity(), "{other_cluster}");
        assert!(other_cluster.to_string().contains("green"));
    }

    #[test]
    fn a_directory_with_keys_in_the_default_keyspace_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            // What the unreleased prefix layout left: records in the default keyspace.
            let db = Db::open(dir.path()).unwrap();
            db.put(b"m/identity", b"{}").unwrap();
            db.close().unwrap();
        }
        let error = Store::open(dir.path()).unwrap_err();
        assert!(error.to_string().contains("m/identity"), "{error}");
    }

    #[test]
    fn the_keyspaces_are_created_and_the_default_stays_empty_before_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.claim_identity(1, "blue").unwrap();
        let names = store.db().keyspaces();
        for name in [
            keys::LOG_KEYSPACE,
            keys::META_KEYSPACE,
            keys::STATE_KEYSPACE,
        ] {
            assert!(names.iter().any(|n| n == name), "{names:?}");
        }
        assert!(store.db().iter().next().is_none());
        drop(store);
        Store::open(dir.path())
            .unwrap()
            .claim_identity(1, "blue")
            .unwrap();
    }

    #[test]
    fn the_layout_marker_is_accepted_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let current = std::sync::Mutex::new(());
            let meta = openraft::SnapshotMeta::default();
            crate::install::store_if_newer(store.spaces(), &current, &meta, b"data").unwrap();
            let marker = store.db().get(keys::LAYOUT).unwrap().unwrap();
            assert_eq!(marker.as_slice(), keys::LAYOUT_VERSION);
        }
        Store::open(dir.path()).unwrap();
        {
            let db = Db::open(dir.path()).unwrap();
            db.put(keys::LAYOUT, b"3").unwrap();
            db.close().unwrap();
        }
        let error = Store::open(dir.path()).unwrap_err();
        assert!(error.to_string().contains("layout \"3\""), "{error}");
    }
}
