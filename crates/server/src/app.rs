//! What every request handler shares: this node's Raft handle and its key reader.

use openraft::error::{CheckIsLeaderError, RaftError};
use quickcache_raft::{KvReader, Node, NodeId, Raft};

use crate::args::Args;

/// One node's shared state. Thread-safe: `Raft` and `KvReader` are handles to
/// internally synchronized objects.
pub(crate) struct App {
    /// This node's id.
    pub(crate) id: NodeId,
    /// The cluster name; Raft RPCs from other clusters are refused.
    pub(crate) cluster: String,
    /// This node's addresses, as the membership records them.
    pub(crate) node: Node,
    /// The Raft node.
    pub(crate) raft: Raft,
    /// This node's applied keys.
    pub(crate) reader: KvReader,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("id", &self.id)
            .field("cluster", &self.cluster)
            .field("node", &self.node)
            .finish()
    }
}

impl App {
    pub(crate) fn new(args: &Args, raft: Raft, reader: KvReader) -> App {
        let node = Node {
            api_addr: args.http.clone(),
            raft_addr: args.raft.clone(),
        };
        App {
            id: args.id,
            cluster: args.cluster.clone(),
            node,
            raft,
            reader,
        }
    }

    /// Waits until a read here is linearizable: this node is the leader, a quorum has
    /// confirmed it still is (openraft's read index), and it has applied everything up
    /// to the index the quorum confirmed.
    pub(crate) async fn linearize(
        &self,
    ) -> Result<(), RaftError<NodeId, CheckIsLeaderError<NodeId, Node>>> {
        self.raft.ensure_linearizable().await.map(|_read_log_id| ())
    }
}
