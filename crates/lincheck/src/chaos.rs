//! The chaos driver: a 3-node quickcache-server cluster on loopback, concurrent
//! clients recording a [history](crate::history), and a nemesis that SIGKILLs a node
//! (the leader half the time) and restarts it, again and again.
//!
//! At most one node is down at a time, so a majority stays up and the cluster must
//! keep serving. Every child is ended by its pid when the run ends, also on panic
//! (`Drop`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quickcache_fs::Rng;
use serde_json::{Value, json};

use crate::cluster::{Nodes, form};
use crate::history::{Op, Operation, Output};

/// What a chaos run does.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `quickcache-server` binary.
    pub server: PathBuf,
    /// Where the nodes' data directories and logs go.
    pub dir: PathBuf,
    /// How long clients and the nemesis run.
    pub duration: Duration,
    /// Concurrent clients.
    pub clients: u64,
    /// Distinct keys (fewer keys: more contention per key).
    pub keys: u64,
    /// Seed of the clients' and the nemesis' choices.
    pub seed: u64,
}

/// What a run recorded.
#[derive(Debug)]
pub struct Run {
    /// Every operation with a known or unknown outcome.
    pub history: Vec<Operation>,
    /// Kills performed.
    pub kills: u64,
}

/// Runs the chaos described by `config` and returns its history.
pub async fn run(config: &Config) -> Result<Run, String> {
    let flags = ["--heartbeat-ms", "100", "--snapshot-logs", "300"];
    let nodes = Arc::new(Nodes::new(config.server.clone(), &config.dir, 3, &flags)?);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| format!("http client: {e}"))?;
    for id in 1..=3 {
        nodes.start(id)?;
    }
    form(&nodes, &http).await?;
    let origin = Instant::now();
    let deadline = origin + config.duration;
    let history = Arc::new(Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for process in 0..config.clients {
        let (nodes, http, history, config) = (
            Arc::clone(&nodes),
            http.clone(),
            Arc::clone(&history),
            config.clone(),
        );
        clients.push(tokio::spawn(async move {
            client(&nodes, &http, &config, process, origin, deadline, &history).await;
        }));
    }
    let kills = nemesis(&nodes, &http, config.seed, deadline).await?;
    for client in clients {
        client.await.map_err(|e| format!("client task: {e}"))?;
    }
    let history = std::mem::take(&mut *history.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(Run { history, kills })
}

/// Kills a node (the leader half the time) every 1–3 s and restarts it 0.5–2 s later,
/// until `deadline`; then makes sure every node runs. Returns the number of kills.
async fn nemesis(
    nodes: &Nodes,
    http: &reqwest::Client,
    seed: u64,
    deadline: Instant,
) -> Result<u64, String> {
    let mut rng = Rng::new(seed ^ 0xdead);
    let mut kills = 0;
    while Instant::now() + Duration::from_secs(3) < deadline {
        tokio::time::sleep(Duration::from_millis(1000 + rng.below(2000))).await;
        let victim = match rng.below(2) {
            0 => leader(nodes, http).await.unwrap_or(1 + rng.below(3)),
            _ => 1 + rng.below(3),
        };
        nodes.kill(victim);
        kills += 1;
        tokio::time::sleep(Duration::from_millis(500 + rng.below(1500))).await;
        nodes.start(victim)?;
    }
    for id in 1..=3 {
        if !nodes.is_running(id) {
            nodes.start(id)?;
        }
    }
    Ok(kills)
}

async fn leader(nodes: &Nodes, http: &reqwest::Client) -> Option<u64> {
    for node in &nodes.nodes {
        let response = http
            .get(format!("http://{}/cluster/metrics", node.api))
            .send()
            .await
            .ok()?;
        let metrics: Value = response.json().await.ok()?;
        if metrics["state"] == "Leader" {
            return Some(node.id);
        }
    }
    None
}

/// One client: random puts, deletes and linearizable gets of random keys on random
/// nodes (following redirects to the leader), recorded until `deadline`. After an
/// operation of unknown outcome the client goes on as a new process, as in Knossos.
async fn client(
    nodes: &Nodes,
    http: &reqwest::Client,
    config: &Config,
    first_process: u64,
    origin: Instant,
    deadline: Instant,
    history: &Mutex<Vec<Operation>>,
) {
    let mut rng = Rng::new(config.seed.wrapping_add(first_process + 1));
    let mut process = first_process;
    let mut written = 0u64;
    while Instant::now() < deadline {
        let key = format!("k{}", rng.below(config.keys));
        let op = match rng.below(10) {
            0..=4 => Op::Get,
            5..=8 => {
                written += 1;
                Op::Put(format!("p{process}-{written}"))
            }
            _ => Op::Delete,
        };
        let node = nodes.node(1 + rng.below(3));
        let call = origin.elapsed().as_nanos() as u64;
        let output = perform(http, &node.api, &key, &op).await;
        let ret = origin.elapsed().as_nanos() as u64;
        let Some(output) = output else { continue };
        let unknown = output == Output::Unknown;
        let ret = (!unknown).then_some(ret);
        history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Operation {
                process,
                key,
                op,
                output,
                call,
                ret,
            });
        if unknown {
            process += 1 << 32;
        }
    }
}

/// Performs one operation. `None`: it certainly did not happen (refused connection,
/// a 4xx, a 503 with code `no_leader`, or a read that got no value), so the history
/// omits it.
async fn perform(http: &reqwest::Client, addr: &str, key: &str, op: &Op) -> Option<Output> {
    let url = format!("http://{addr}/kv/{key}");
    let request = match op {
        Op::Get => http.get(url),
        Op::Put(value) => http.put(url).json(&json!({ "value": value })),
        Op::Delete => http.delete(url),
    };
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) if e.is_connect() => return None,
        Err(_) => return (*op != Op::Get).then_some(Output::Unknown),
    };
    let status = response.status();
    let body: Option<Value> = response.json().await.ok();
    match (op, status.as_u16(), body) {
        (Op::Get, 200, Some(body)) => Some(Output::Read(body["value"].as_str().map(str::to_owned))),
        (Op::Get, _, _) => None,
        (_, 200, Some(_)) => Some(Output::Ok),
        (_, 400..=499, _) => None,
        // Refused before it was proposed: no node knew a leader.
        (_, 503, Some(body)) if body["code"] == "no_leader" => None,
        _ => Some(Output::Unknown),
    }
}

/// The tail of every node's log, for a failure report.
pub fn node_logs(dir: &Path) -> String {
    let mut out = String::new();
    for id in 1..=3 {
        let log = std::fs::read_to_string(dir.join(format!("n{id}.log"))).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        for line in tail.iter().rev() {
            out += &format!("node {id}: {line}\n");
        }
    }
    out
}
