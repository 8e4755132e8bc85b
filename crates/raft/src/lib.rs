//! quickcache under openraft: a Raft log store and state machine on one quickcache
//! database per node.
//!
//! [`Store::open`] opens a node's database; [`Store::log_store`] and
//! [`Store::state_machine`] are openraft's storage-v2 [`RaftLogStorage`] and
//! [`RaftStateMachine`], passed to [`openraft::Raft::new`]; [`Store::reader`] serves
//! reads of the replicated keys. The log, the metadata and the state machine live in
//! keyspaces of the database, `raft-log`, `raft-meta` and the live state keyspace
//! (`raft-state`, or the `raft-state-<n>` the last install staged; the private `keys`
//! module is the one place that knows them).
//!
//! Durability: the vote and appended entries are synced before openraft is told they
//! are stored; purge changes the log and its metadata in one cross-keyspace batch;
//! snapshots are built from one consistent `Db::snapshot` of every keyspace and
//! installed by staging them in a fresh keyspace, in writes of bounded size, made live
//! by one synced batch: no snapshot size limit but memory. `docs/raft.md` states these
//! rules and their reasons.
//!
//! [`RaftLogStorage`]: openraft::storage::RaftLogStorage
//! [`RaftStateMachine`]: openraft::storage::RaftStateMachine
//!
//! # Example
//! ```
//! use openraft::storage::RaftStateMachine;
//! use quickcache_raft::Store;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 1)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path())?;
//! store.claim_identity(1, "example")?;
//! let mut state_machine = store.state_machine();
//! let (applied, _membership) = state_machine.applied_state().await?;
//! assert_eq!(applied, None);
//! assert_eq!(store.reader().get(b"absent")?, None);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod chunks;
mod error;
mod install;
mod keys;
mod live;
mod log_store;
mod reader;
mod snapshot;
mod state_machine;
mod store;
mod types;

pub use error::{Error, Result};
pub use log_store::LogStore;
pub use reader::{Direction, KvReader};
pub use state_machine::{SnapshotBuilder, StateMachine};
pub use store::{DEFAULT_STAGE_BYTES, Store};
pub use types::{Command, Node, NodeId, Op, Raft, Response, TypeConfig};
