//! Raft RPC to the other nodes: openraft's `RaftNetwork` over HTTP/JSON.
//!
//! Each RPC is a `POST` of openraft's request type as JSON to the peer's `--raft`
//! address (`/raft/append`, `/raft/vote`, `/raft/snapshot`); the reply is the JSON of
//! `Result<response, RaftError>`. Every request carries the cluster name in the
//! [`CLUSTER_HEADER`] header, so that a node of another cluster refuses it. Snapshots
//! travel in openraft's chunks (`Config::snapshot_max_chunk_size`).

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use quickcache_raft::{Node, NodeId, TypeConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The header naming the sender's cluster on every Raft RPC.
pub(crate) const CLUSTER_HEADER: &str = "x-quickcache-cluster";

/// Makes connections to peers; one HTTP client (and its connection pool) for all.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    client: reqwest::Client,
    cluster: String,
}

impl Network {
    pub(crate) fn new(cluster: &str) -> Network {
        Network {
            client: reqwest::Client::new(),
            cluster: cluster.to_owned(),
        }
    }
}

/// A connection to one peer.
#[derive(Debug)]
pub(crate) struct Peer {
    client: reqwest::Client,
    cluster: String,
    target: NodeId,
    node: Node,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Peer {
        Peer {
            client: self.client.clone(),
            cluster: self.cluster.clone(),
            target,
            node: node.clone(),
        }
    }
}

impl Peer {
    /// Sends `request` to the peer's `path`, and decodes its `Result` reply.
    async fn call<Req, Resp, E>(
        &self,
        path: &str,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, Node, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let url = format!("http://{}/raft/{path}", self.node.raft_addr);
        let sent = self
            .client
            .post(url)
            .header(CLUSTER_HEADER, &self.cluster)
            .timeout(option.hard_ttl())
            .json(request)
            .send()
            .await
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
        let sent = sent
            .error_for_status()
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let reply: Result<Resp, RaftError<NodeId, E>> = sent
            .json()
            .await
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        reply.map_err(|e| {
            RPCError::RemoteError(RemoteError::new_with_node(
                self.target,
                self.node.clone(),
                e,
            ))
        })
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.call("append", &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call("snapshot", &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.call("vote", &rpc, &option).await
    }
}
