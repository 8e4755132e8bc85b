//! Shared code of the server's integration tests: node processes on free loopback
//! ports, a JSON client, bounded waits, and a watchdog.
//!
//! Every child is ended by its pid: by `Cluster`'s `Drop` (also when a test panics)
//! and by the watchdog, which prints the cluster's state and exits if a test outlives
//! its budget.

#![allow(dead_code, reason = "each test binary uses part of the support code")]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Timeout of every HTTP request a test makes.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The addresses of one node.
#[derive(Debug, Clone)]
pub(crate) struct NodeAddrs {
    pub(crate) id: u64,
    pub(crate) api: String,
    pub(crate) raft: String,
    pub(crate) dir: PathBuf,
}

/// Children by node id, shared with the watchdog.
type Children = Arc<Mutex<BTreeMap<u64, Child>>>;

/// A cluster of `quickcache-server` child processes.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) nodes: Vec<NodeAddrs>,
    children: Children,
    _dir: tempfile::TempDir,
    /// Dropped when the cluster is: the watchdog's wait ends at once.
    watchdog_done: Mutex<Option<std::sync::mpsc::Sender<()>>>,
}

/// `count` distinct free loopback ports: all listeners are held until every port is
/// picked, so no two are the same.
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

impl Cluster {
    /// `size` nodes (ids 1..=size) on free ports, not started; a watchdog that ends
    /// the test after `budget`.
    pub(crate) fn new(size: u64, budget: Duration) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ports = free_ports(2 * size as usize);
        let nodes = (1..=size)
            .map(|id| {
                let i = (id - 1) as usize;
                NodeAddrs {
                    id,
                    api: format!("127.0.0.1:{}", ports[2 * i]),
                    raft: format!("127.0.0.1:{}", ports[2 * i + 1]),
                    dir: dir.path().join(format!("n{id}")),
                }
            })
            .collect();
        let cluster = Cluster {
            nodes,
            children: Arc::default(),
            _dir: dir,
            watchdog_done: Mutex::new(None),
        };
        cluster.start_watchdog(budget);
        cluster
    }

    pub(crate) fn node(&self, id: u64) -> &NodeAddrs {
        &self.nodes[(id - 1) as usize]
    }

    /// Starts node `id` (again, after a kill) with `extra` arguments.
    pub(crate) fn start(&self, id: u64, extra: &[&str]) {
        let node = self.node(id);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path(&node.dir))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_quickcache-server"))
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
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let previous = self.children.lock().unwrap().insert(id, child);
        assert!(previous.is_none(), "node {id} was already running");
    }

    /// Kills node `id` with SIGKILL (by its pid) and reaps it.
    pub(crate) fn kill(&self, id: u64) {
        let mut child = self
            .children
            .lock()
            .unwrap()
            .remove(&id)
            .expect("node is running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// The ids of the running nodes.
    pub(crate) fn running(&self) -> Vec<u64> {
        self.children.lock().unwrap().keys().copied().collect()
    }

    /// A description of every node: running or not, its metrics, its log's tail.
    pub(crate) fn describe(&self) -> String {
        describe(&self.nodes, &self.children)
    }

    fn start_watchdog(&self, budget: Duration) {
        let nodes = self.nodes.clone();
        let children = Arc::clone(&self.children);
        let (done, ended) = std::sync::mpsc::channel::<()>();
        *self.watchdog_done.lock().unwrap_or_else(|p| p.into_inner()) = Some(done);
        std::thread::spawn(move || {
            // Woken by the cluster's drop (the sender goes), or the budget runs out.
            if ended.recv_timeout(budget) != Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                return;
            }
            eprintln!(
                "WATCHDOG: test exceeded {budget:?}; cluster state:\n{}",
                describe(&nodes, &children)
            );
            kill_all(&children);
            std::process::exit(101);
        });
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        drop(
            self.watchdog_done
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
        if std::thread::panicking() {
            eprintln!("test failed; cluster state:\n{}", self.describe());
        }
        kill_all(&self.children);
    }
}

fn kill_all(children: &Children) {
    let mut children = children
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for (_, mut child) in std::mem::take(&mut *children) {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn log_path(dir: &Path) -> PathBuf {
    dir.with_extension("log")
}

fn describe(nodes: &[NodeAddrs], children: &Children) -> String {
    let running: Vec<u64> = match children.try_lock() {
        Ok(children) => children.keys().copied().collect(),
        Err(_) => Vec::new(),
    };
    let mut out = String::new();
    for node in nodes {
        let metrics = if running.contains(&node.id) {
            blocking_get(&node.api, "/cluster/metrics")
                .unwrap_or_else(|e| format!("(metrics: {e})"))
        } else {
            "(not running)".to_owned()
        };
        let log = std::fs::read_to_string(log_path(&node.dir)).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(10).collect();
        out += &format!(
            "node {} api {} raft {}\n  metrics: {metrics}\n",
            node.id, node.api, node.raft
        );
        for line in tail.iter().rev() {
            out += &format!("  log: {line}\n");
        }
    }
    out
}

/// A GET with std only (the watchdog runs outside the async runtime), bounded by
/// [`REQUEST_TIMEOUT`].
fn blocking_get(addr: &str, path: &str) -> Result<String, String> {
    let socket = addr.parse().map_err(|e| format!("{e}"))?;
    let mut stream =
        TcpStream::connect_timeout(&socket, REQUEST_TIMEOUT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|e| e.to_string())?;
    Ok(reply
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take(1500)
        .collect())
}

/// An HTTP/JSON client of the cluster.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
}

/// A reply: status and JSON body.
pub(crate) type Reply = (u16, Value);

impl Client {
    /// Follows redirects (`307` from followers) like `curl -L`, unless told not to.
    pub(crate) fn new(follow_redirects: bool) -> Client {
        let policy = if follow_redirects {
            reqwest::redirect::Policy::limited(5)
        } else {
            reqwest::redirect::Policy::none()
        };
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(policy)
            .build()
            .unwrap();
        Client { http }
    }

    pub(crate) async fn request(
        &self,
        method: &str,
        addr: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Reply, String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("http://{addr}{path}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| e.to_string())?;
        let body = serde_json::from_str(&text)
            .map_err(|e| format!("status {status}, body not JSON ({e}): {text}"))?;
        Ok((status, body))
    }

    pub(crate) async fn get(&self, addr: &str, path: &str) -> Result<Reply, String> {
        self.request("GET", addr, path, None).await
    }

    pub(crate) async fn post(&self, addr: &str, path: &str, body: Value) -> Result<Reply, String> {
        self.request("POST", addr, path, Some(body)).await
    }

    pub(crate) async fn put(&self, addr: &str, key: &str, value: &str) -> Result<Reply, String> {
        self.request(
            "PUT",
            addr,
            &format!("/kv/{key}"),
            Some(json!({ "value": value })),
        )
        .await
    }

    pub(crate) async fn metrics(&self, addr: &str) -> Result<Value, String> {
        match self.get(addr, "/cluster/metrics").await? {
            (200, metrics) => Ok(metrics),
            (status, body) => Err(format!("metrics: {status} {body}")),
        }
    }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `limit`; then fails
/// the test with `what` and the cluster's state.
pub(crate) async fn wait_for<T, F, Fut>(
    cluster: &Cluster,
    what: &str,
    limit: Duration,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        if Instant::now() > deadline {
            panic!(
                "gave up after {limit:?} waiting for {what}\n{}",
                cluster.describe()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The log index in a metrics field holding a log id (`last_applied`, `snapshot`,
/// `purged`), or `None` if it is null.
pub(crate) fn index_of(metrics: &Value, field: &str) -> Option<u64> {
    metrics[field]["index"].as_u64()
}
