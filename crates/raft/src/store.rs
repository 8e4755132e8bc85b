//! The shared database under a node's log store and state machine, and its identity.

use std::path::Path;
use std::sync::Arc;

use quickcache::{Db, Options, Value, WriteOptions};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use snafu::ResultExt;

use crate::error::{DbSnafu, DecodeSnafu, EncodeSnafu, Result, TaskSnafu, WrongIdentitySnafu};
use crate::{KvReader, LogStore, NodeId, StateMachine, keys};

/// One node's quickcache database, holding its Raft log, the log's metadata and the
/// replicated state machine (the key layout is in docs/raft.md).
///
/// Cheap to clone; every clone shares the database, which is closed when the last
/// clone (including every [`LogStore`], [`StateMachine`] and [`KvReader`] made from
/// it) is dropped.
#[derive(Debug, Clone)]
pub struct Store {
    db: Arc<Db>,
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
        Ok(Store { db: Arc::new(db) })
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
        match read_json::<Identity>(self.db.get(keys::IDENTITY), "node identity")? {
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
                self.db
                    .put_with(keys::IDENTITY, bytes, &WriteOptions::synced())
                    .context(DbSnafu {
                        operation: "recording the node identity",
                    })
            }
        }
    }

    /// The Raft log storage of this node.
    pub fn log_store(&self) -> LogStore {
        LogStore::new(Arc::clone(&self.db))
    }

    /// The Raft state machine of this node.
    pub fn state_machine(&self) -> StateMachine {
        StateMachine::new(Arc::clone(&self.db))
    }

    /// A reader of the state machine's keys, for serving reads.
    pub fn reader(&self) -> KvReader {
        KvReader::new(Arc::clone(&self.db))
    }

    /// The database itself, for statistics and maintenance.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// Runs `f`, which may block on I/O (a synced write waits for fsync), on tokio's
/// blocking pool, so that it never stalls the async workers that drive Raft.
pub(crate) async fn blocking<T, F>(db: &Arc<Db>, f: F) -> Result<T>
where
    F: FnOnce(&Db) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let db = Arc::clone(db);
    tokio::task::spawn_blocking(move || f(&db))
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
}
