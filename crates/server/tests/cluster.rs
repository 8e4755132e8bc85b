//! Three `quickcache-server` processes on loopback: 10,000 writes through the leader,
//! a follower killed and caught up from the log, the leader SIGKILLed mid-writes and
//! caught up from a snapshot after a forced snapshot and purge; then every
//! acknowledged write is on all three nodes, and no node ever served a value that was
//! never written.
//!
//! Bounded: every request has a timeout, every wait a limit, and a watchdog ends the
//! test (killing every child by pid, printing the cluster's state) after two minutes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests unwrap: a panic is a failed test"
)]

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Client, Cluster, index_of, wait_for};

const KEYS: usize = 10_000;
const WRITERS: usize = 16;
/// A catch-up or election finishes well within this on a loaded 2-core machine.
const LIMIT: Duration = Duration::from_secs(30);

/// Node flags: short timeouts for a quick failover, and no automatic snapshots, so
/// that a node's only snapshot is one installed from the leader.
const FLAGS: &[&str] = &["--heartbeat-ms", "100", "--snapshot-logs", "1000000000"];

fn key(i: usize) -> String {
    format!("k{i:05}")
}

/// The only value ever written to `key` in `round`: a served value is one of these.
fn value(key: &str, round: u32) -> String {
    format!("{key}-v{round}")
}

/// The node a majority follows, asked of the running nodes.
async fn leader(cluster: &Cluster, client: &Client) -> u64 {
    wait_for(cluster, "a leader", LIMIT, || async {
        for id in cluster.running() {
            let Ok(metrics) = client.metrics(&cluster.node(id).api).await else {
                continue;
            };
            if metrics["state"] == "Leader" {
                return Some(id);
            }
        }
        None
    })
    .await
}

/// Puts `key` = `value` through whichever node leads, retrying (the same idempotent
/// put) across failovers until it is acknowledged.
async fn put_acked(cluster: &Cluster, client: &Client, key: &str, value: &str) {
    wait_for(
        cluster,
        &format!("an acknowledged put of {key}"),
        LIMIT,
        || async {
            let running = cluster.running();
            for id in running {
                if let Ok((200, _)) = client.put(&cluster.node(id).api, key, value).await {
                    return Some(());
                }
            }
            None
        },
    )
    .await
}

/// Writes `keys` (with their `round` values) from [`WRITERS`] concurrent clients;
/// calls `midway` once after `midway_at` acknowledgements.
async fn write_all(
    cluster: &Arc<Cluster>,
    client: &Client,
    keys: Vec<String>,
    round: u32,
    acked: &Acked,
) {
    let queue = Arc::new(Mutex::new(keys));
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let (cluster, client, queue, acked) = (
            Arc::clone(cluster),
            client.clone(),
            Arc::clone(&queue),
            Arc::clone(acked),
        );
        writers.push(tokio::spawn(async move {
            loop {
                let Some(key) = queue.lock().unwrap().pop() else {
                    return;
                };
                let value = value(&key, round);
                put_acked(&cluster, &client, &key, &value).await;
                acked.lock().unwrap().insert(key, value);
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
}

type Acked = Arc<Mutex<BTreeMap<String, String>>>;

/// Stale reads of random keys on random running nodes while the test runs; each
/// served value must be one that was written to that key. The test awaits the
/// returned handle: a spawned task's panic is otherwise lost, and a value never
/// written would go unreported.
fn spawn_reader(
    cluster: Arc<Cluster>,
    client: Client,
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut i = 7usize;
        while !stop.load(Ordering::Acquire) {
            i = (i * 7919 + 13) % KEYS;
            let running = cluster.running();
            let Some(&id) = running.get(i % running.len().max(1)) else {
                continue;
            };
            let path = format!("/kv/{}?stale=true", key(i));
            if let Ok((200, body)) = client.get(&cluster.node(id).api, &path).await {
                check_served(&key(i), &body["value"]);
                reads.fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
}

fn check_served(key: &str, served: &Value) {
    if served.is_null() {
        return;
    }
    let served = served.as_str().unwrap();
    assert!(
        (1..=2).any(|round| served == value(key, round)),
        "a node served {served:?} for {key}, which was never written"
    );
}

/// Waits until node `id` has applied `index`.
async fn wait_applied(cluster: &Cluster, client: &Client, id: u64, index: u64) -> Value {
    wait_for(
        cluster,
        &format!("node {id} to apply {index}"),
        LIMIT,
        || async {
            let metrics = client.metrics(&cluster.node(id).api).await.ok()?;
            (index_of(&metrics, "last_applied") >= Some(index)).then_some(metrics)
        },
    )
    .await
}

/// Every pair on node `id` (a stale scan of its own copy).
async fn contents(cluster: &Cluster, client: &Client, id: u64) -> BTreeMap<String, String> {
    let (status, body) = client
        .get(&cluster.node(id).api, "/scan?limit=10000&stale=true")
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let pairs = body["pairs"].as_array().unwrap();
    pairs
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap().to_owned(),
                p["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn form_cluster(cluster: &Cluster, client: &Client) {
    for id in 1..=3 {
        cluster.start(id, FLAGS);
    }
    let first = cluster.node(1).api.clone();
    wait_for(cluster, "node 1 to answer", LIMIT, || async {
        matches!(
            client.post(&first, "/cluster/init", json!({})).await,
            Ok((200, _))
        )
        .then_some(())
    })
    .await;
    for id in 2..=3 {
        let node = cluster.node(id);
        let learner = json!({ "id": id, "api_addr": node.api, "raft_addr": node.raft });
        let (status, body) = client
            .post(&first, "/cluster/add-learner", learner)
            .await
            .unwrap();
        assert_eq!(status, 200, "add-learner {id}: {body}");
    }
    let (status, body) = client
        .post(
            &first,
            "/cluster/change-membership",
            json!({ "members": [1, 2, 3] }),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "change-membership: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_survive_kills_and_catch_up_by_log_and_by_snapshot() {
    let cluster = Arc::new(Cluster::new(3, Duration::from_secs(120)));
    let client = Client::new(true);
    let acked: Acked = Arc::default();
    form_cluster(&cluster, &client).await;
    let (stop, reads) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let reader = spawn_reader(
        Arc::clone(&cluster),
        client.clone(),
        Arc::clone(&stop),
        Arc::clone(&reads),
    );

    // 1. The first 4,000 keys with everyone up.
    write_all(&cluster, &client, (0..4000).map(key).collect(), 1, &acked).await;

    // 2. A follower misses 2,000 keys and 500 overwrites, then catches up from the log.
    let first_leader = leader(&cluster, &client).await;
    let follower = (1..=3).find(|&id| id != first_leader).unwrap();
    cluster.kill(follower);
    write_all(
        &cluster,
        &client,
        (4000..6000).map(key).collect(),
        1,
        &acked,
    )
    .await;
    write_all(&cluster, &client, (0..500).map(key).collect(), 2, &acked).await;
    cluster.start(follower, FLAGS);
    let leader_metrics = client
        .metrics(&cluster.node(first_leader).api)
        .await
        .unwrap();
    let target = index_of(&leader_metrics, "last_applied").unwrap();
    let caught_up = wait_applied(&cluster, &client, follower, target).await;
    assert_eq!(
        caught_up["snapshot"],
        Value::Null,
        "node {follower} should have caught up by log, not snapshot"
    );

    // 3. The leader is SIGKILLed while 4,000 more keys are being written.
    let writing = {
        let (cluster, client, acked) = (Arc::clone(&cluster), client.clone(), Arc::clone(&acked));
        tokio::spawn(async move {
            write_all(
                &cluster,
                &client,
                (6000..KEYS).map(key).collect(),
                1,
                &acked,
            )
            .await
        })
    };
    wait_for(
        &cluster,
        "1,000 acknowledged writes after 6,000",
        LIMIT,
        || async { (acked.lock().unwrap().len() >= 7000).then_some(()) },
    )
    .await;
    cluster.kill(first_leader);
    writing.await.unwrap();
    let new_leader = leader(&cluster, &client).await;
    assert_ne!(new_leader, first_leader);

    // 4. Snapshot and purge on the new leader, so the old one can only catch up by
    //    snapshot.
    let leader_api = cluster.node(new_leader).api.clone();
    let (status, snapshot) = client
        .post(&leader_api, "/cluster/snapshot", json!({}))
        .await
        .unwrap();
    assert_eq!(status, 200, "snapshot: {snapshot}");
    let snapshot_index = index_of(&snapshot, "snapshot").unwrap();
    let (status, purged) = client
        .post(
            &leader_api,
            "/cluster/purge",
            json!({ "upto": snapshot_index }),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "purge: {purged}");
    assert_eq!(index_of(&purged, "purged"), Some(snapshot_index));

    // 5. The old leader restarts and catches up by snapshot.
    cluster.start(first_leader, FLAGS);
    let target = index_of(&client.metrics(&leader_api).await.unwrap(), "last_applied").unwrap();
    let caught_up = wait_applied(&cluster, &client, first_leader, target).await;
    assert!(
        index_of(&caught_up, "snapshot") >= Some(snapshot_index),
        "node {first_leader} should have installed the leader's snapshot: {caught_up}"
    );

    // 6. Every acknowledged write is on every node, and nothing else is.
    stop.store(true, Ordering::Release);
    if let Err(failed) = reader.await {
        panic!("the concurrent reader failed: {failed}");
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), KEYS);
    for id in 1..=3 {
        wait_applied(&cluster, &client, id, target).await;
        let found = contents(&cluster, &client, id).await;
        for (key, served) in &found {
            check_served(key, &json!(served));
        }
        assert_eq!(found.len(), KEYS, "node {id} holds {} keys", found.len());
        let differing: Vec<_> = acked
            .iter()
            .filter(|(k, v)| found.get(*k) != Some(*v))
            .take(5)
            .collect();
        assert!(
            differing.is_empty(),
            "node {id} differs from the acknowledged writes: {differing:?}"
        );
    }
    assert!(
        reads.load(Ordering::Relaxed) > 0,
        "the concurrent reader never read"
    );

    // 7. A linearizable read through a follower is redirected to the leader.
    let follower_api = &cluster
        .node((1..=3).find(|&id| id != new_leader).unwrap())
        .api;
    let (status, body) = Client::new(false)
        .get(follower_api, "/kv/k00001")
        .await
        .unwrap();
    assert_eq!(status, 307, "{body}");
    assert_eq!(body["leader_api"], json!(leader_api));
    let (status, body) = client.get(follower_api, "/kv/k00001").await.unwrap();
    assert_eq!((status, &body["value"]), (200, &json!(value("k00001", 2))));
}
