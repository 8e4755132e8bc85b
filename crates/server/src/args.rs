//! The command line.

use std::path::PathBuf;

use clap::Parser;
use openraft::{Config, SnapshotPolicy};

/// One node of a replicated quickcache.
#[derive(Debug, Parser)]
#[command(name = "quickcache-server", version)]
pub(crate) struct Args {
    /// This node's id in the cluster (a data directory is bound to it on first start).
    #[arg(long)]
    pub(crate) id: u64,
    /// Address of the client HTTP/JSON API (host:port).
    #[arg(long)]
    pub(crate) http: String,
    /// Address of the Raft RPC listener, used by the other nodes (host:port).
    #[arg(long)]
    pub(crate) raft: String,
    /// The node's data directory (a quickcache database).
    #[arg(long)]
    pub(crate) db: PathBuf,
    /// The cluster's name: a data directory is bound to it on first start, and peers
    /// of another cluster are refused.
    #[arg(long, default_value = "quickcache")]
    pub(crate) cluster: String,
    /// Build a snapshot after this many log entries since the last one.
    #[arg(long, default_value_t = 5000)]
    pub(crate) snapshot_logs: u64,
    /// Heartbeat interval in milliseconds (elections time out after 3 to 6 of them).
    #[arg(long, default_value_t = 150)]
    pub(crate) heartbeat_ms: u64,
    /// Async worker threads.
    #[arg(long, default_value_t = 2)]
    pub(crate) threads: usize,
}

impl Args {
    /// openraft's configuration for this node.
    pub(crate) fn raft_config(&self) -> Result<Config, String> {
        let config = Config {
            cluster_name: self.cluster.clone(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.heartbeat_ms * 3,
            election_timeout_max: self.heartbeat_ms * 6,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_logs),
            // Keep some entries behind a snapshot, so that a briefly lagging follower
            // catches up from the log rather than a whole snapshot.
            max_in_snapshot_log_to_keep: 500,
            ..Config::default()
        };
        config
            .validate()
            .map_err(|e| format!("raft configuration: {e}"))
    }
}
