//! A local cluster of `quickcache-server` processes on free loopback ports, for the
//! chaos driver and the benchmark: start, kill (SIGKILL, by pid), form.
//!
//! `Drop` kills every child still running, by its pid, also on panic.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One node's addresses.
#[derive(Debug)]
pub struct Node {
    /// Its id.
    pub id: u64,
    /// Its client API address.
    pub api: String,
    /// Its Raft RPC address.
    pub raft: String,
    /// Its data directory.
    pub dir: PathBuf,
}

/// The cluster's processes; `Drop` kills every one still running, by pid.
#[derive(Debug)]
pub struct Nodes {
    /// The nodes, id 1 first.
    pub nodes: Vec<Node>,
    server: PathBuf,
    extra: Vec<String>,
    children: Mutex<BTreeMap<u64, Child>>,
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let mut children = self.children.lock().unwrap_or_else(|p| p.into_inner());
        for (_, mut child) in std::mem::take(&mut *children) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Nodes {
    /// `size` nodes of `server` (not started) with data under `dir`, started with
    /// `extra` arguments besides their addresses.
    pub fn new(
        server: PathBuf,
        dir: &std::path::Path,
        size: u64,
        extra: &[&str],
    ) -> Result<Nodes, String> {
        let listeners = (0..2 * size)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<Result<Vec<_>, _>>();
        let listeners = listeners.map_err(|e| format!("picking ports: {e}"))?;
        let ports = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("picking ports: {e}"))?;
        let nodes = (1..=size)
            .zip(ports.chunks(2))
            .map(|(id, pair)| Node {
                id,
                api: format!("127.0.0.1:{}", pair[0]),
                raft: format!("127.0.0.1:{}", pair[1]),
                dir: dir.join(format!("n{id}")),
            })
            .collect();
        let extra = extra.iter().map(|&a| a.to_owned()).collect();
        Ok(Nodes {
            nodes,
            server,
            extra,
            children: Mutex::default(),
        })
    }

    /// Node `id`.
    pub fn node(&self, id: u64) -> &Node {
        &self.nodes[(id - 1) as usize]
    }

    /// Starts node `id` (again).
    pub fn start(&self, id: u64) -> Result<(), String> {
        let node = self.node(id);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.with_extension("log"))
            .map_err(|e| format!("node {id} log: {e}"))?;
        let log_err = log.try_clone().map_err(|e| format!("node {id} log: {e}"))?;
        let child = Command::new(&self.server)
            .args([
                "--id",
                &id.to_string(),
                "--http",
                &node.api,
                "--raft",
                &node.raft,
            ])
            .arg("--db")
            .arg(&node.dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.server.display()))?;
        self.lock().insert(id, child);
        Ok(())
    }

    /// SIGKILLs node `id` by its pid and reaps it (nothing if it is not running).
    pub fn kill(&self, id: u64) {
        if let Some(mut child) = self.lock().remove(&id) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether node `id` runs.
    pub fn is_running(&self, id: u64) -> bool {
        self.lock().contains_key(&id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Child>> {
        self.children.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Initializes node 1 and makes every node a voter, retrying for at most 30 s.
pub async fn form(nodes: &Nodes, http: &reqwest::Client) -> Result<(), String> {
    let first = &nodes.node(1).api;
    let limit = Instant::now() + Duration::from_secs(30);
    while post(http, first, "/cluster/init", json!({})).await.is_err() {
        if Instant::now() > limit {
            return Err("node 1 never accepted /cluster/init".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for id in 2..=nodes.nodes.len() as u64 {
        let node = nodes.node(id);
        let learner = json!({ "id": id, "api_addr": node.api, "raft_addr": node.raft });
        post(http, first, "/cluster/add-learner", learner).await?;
    }
    let members: Vec<u64> = nodes.nodes.iter().map(|n| n.id).collect();
    post(
        http,
        first,
        "/cluster/change-membership",
        json!({ "members": members }),
    )
    .await?;
    Ok(())
}

/// POSTs `body` to `path` on `addr`; the JSON reply if the status is 2xx.
pub async fn post(
    http: &reqwest::Client,
    addr: &str,
    path: &str,
    body: Value,
) -> Result<Value, String> {
    let response = http
        .post(format!("http://{addr}{path}"))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{path}: {status} {body}"))
    }
}
