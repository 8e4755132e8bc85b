//! `raft-bench`: replicated write and read throughput and latency of a local
//! quickcache-server cluster on loopback (1 and 3 nodes; 1 and 16 concurrent
//! clients), printed as a markdown table for docs/benchmarks.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use quickcache_lincheck::cluster::{Nodes, form};
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(name = "raft-bench")]
struct Args {
    /// The quickcache-server binary.
    #[arg(long, default_value = "target/release/quickcache-server")]
    server: PathBuf,
    /// Operations per workload.
    #[arg(long, default_value_t = 5000)]
    ops: u64,
    /// Cluster sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,3")]
    nodes: Vec<u64>,
    /// Concurrent client counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    clients: Vec<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("raft-bench: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("raft-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    println!("| nodes | workload | clients | ops/s | p50 µs | p99 µs | p99.9 µs |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for &size in &args.nodes {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let nodes = Nodes::new(args.server.clone(), dir.path(), size, &[])?;
        for id in 1..=size {
            nodes.start(id)?;
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        form(&nodes, &http).await?;
        let leader = nodes.node(1).api.clone();
        for &clients in &args.clients {
            for workload in [Workload::Put, Workload::Get, Workload::StaleGet] {
                let latencies = measure(&http, &leader, workload, clients, args.ops).await?;
                print_row(size, workload, clients, &latencies);
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    /// Replicated puts through the leader (16-byte keys, 100-byte values).
    Put,
    /// Linearizable gets on the leader (read index).
    Get,
    /// Stale gets on the leader (its local copy).
    StaleGet,
}

/// Runs `ops` operations of `workload` from `clients` concurrent clients; returns
/// each operation's latency and the wall time.
async fn measure(
    http: &reqwest::Client,
    leader: &str,
    workload: Workload,
    clients: u64,
    ops: u64,
) -> Result<(Vec<Duration>, Duration), String> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    let per_client = ops / clients;
    for client in 0..clients {
        let (http, leader) = (http.clone(), Arc::new(leader.to_owned()));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client as usize);
            for i in 0..per_client {
                let key = format!(
                    "{:016}",
                    (client * per_client + i).wrapping_mul(2_654_435_761) % 1_000_000
                );
                let began = Instant::now();
                one(&http, &leader, workload, &key).await?;
                latencies.push(began.elapsed());
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.map_err(|e| format!("client task: {e}"))??);
    }
    Ok((all, started.elapsed()))
}

async fn one(
    http: &reqwest::Client,
    leader: &str,
    workload: Workload,
    key: &str,
) -> Result<(), String> {
    let url = format!("http://{leader}/kv/{key}");
    let request = match workload {
        Workload::Put => http.put(url).json(&json!({ "value": "v".repeat(100) })),
        Workload::Get => http.get(url),
        Workload::StaleGet => http.get(format!("{url}?stale=true")),
    };
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{workload:?} {key}: {status} {body}"))
    }
}

fn print_row(
    size: u64,
    workload: Workload,
    clients: u64,
    (latencies, wall): &(Vec<Duration>, Duration),
) {
    let mut sorted: Vec<u128> = latencies.iter().map(Duration::as_micros).collect();
    sorted.sort_unstable();
    let at = |q: f64| {
        sorted.get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1)))
    };
    let rate = latencies.len() as f64 / wall.as_secs_f64();
    let name = match workload {
        Workload::Put => "put (replicated, synced)",
        Workload::Get => "get (linearizable)",
        Workload::StaleGet => "get (stale=true)",
    };
    let show = |v: Option<&u128>| v.map_or("-".to_owned(), u128::to_string);
    println!(
        "| {size} | {name} | {clients} | {rate:.0} | {} | {} | {} |",
        show(at(0.50)),
        show(at(0.99)),
        show(at(0.999))
    );
}
