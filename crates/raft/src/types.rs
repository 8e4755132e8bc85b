//! The Raft type configuration: what a log entry carries and what applying it returns.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

openraft::declare_raft_types!(
    /// openraft's types for a replicated quickcache: `u64` node ids, [`Node`]s known
    /// by their two addresses, [`Command`]s in the log, snapshots as one buffer.
    pub TypeConfig:
        D = Command,
        R = Response,
        NodeId = NodeId,
        Node = Node,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A node's id in the cluster.
pub type NodeId = u64;

/// Where a cluster member listens; stored in the membership, so every node knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// The client API address (`host:port`), where followers send clients to.
    pub api_addr: String,
    /// The Raft RPC address (`host:port`), where peers send Raft messages to.
    pub raft_addr: String,
}

/// The `Raft` handle of a quickcache-backed node.
pub type Raft = openraft::Raft<TypeConfig>;

/// One write in a [`Command`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Set `key` to `value`.
    Put {
        /// The user key.
        key: Vec<u8>,
        /// The new value.
        value: Vec<u8>,
    },
    /// Remove `key` (removing an absent key is not an error).
    Delete {
        /// The user key.
        key: Vec<u8>,
    },
}

/// A log entry's application data: writes applied to the state machine all at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The writes, in order: a later write to the same key wins.
    pub ops: Vec<Op>,
}

impl Command {
    /// A command of one put.
    pub fn put(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Command {
        Command {
            ops: vec![Op::Put {
                key: key.into(),
                value: value.into(),
            }],
        }
    }

    /// A command of one delete.
    pub fn delete(key: impl Into<Vec<u8>>) -> Command {
        Command {
            ops: vec![Op::Delete { key: key.into() }],
        }
    }
}

/// What applying an entry returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// How many writes the entry applied (0 for blank and membership entries).
    pub applied_ops: usize,
}
