//! `quickcache-server`: one node of a replicated quickcache, serving an HTTP/JSON API.
//!
//! ```text
//! quickcache-server --id 1 --http 127.0.0.1:21001 --raft 127.0.0.1:22001 --db ./n1
//! ```
//!
//! Each node keeps its log and its copy of the keys in its own quickcache database
//! (`--db`), replicates writes with openraft, and talks to its peers over HTTP on the
//! `--raft` address. Clients use the `--http` address; the routes are in [`api`] and
//! [`cluster`].

#![forbid(unsafe_code)]

mod api;
mod app;
mod args;
mod cluster;
mod error;
mod network;
mod rpc;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use quickcache_raft::{Raft, Store};

use crate::app::App;
use crate::args::Args;
use crate::network::Network;

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("starting the async runtime: {e}")),
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("quickcache-server: {message}");
    ExitCode::FAILURE
}

/// Opens the node's database, starts Raft and both listeners, and serves until
/// SIGINT or SIGTERM.
async fn run(args: Args) -> Result<(), String> {
    let store = Store::open(&args.db).map_err(|e| format!("{}: {e}", args.db.display()))?;
    store
        .claim_identity(args.id, &args.cluster)
        .map_err(|e| format!("{}: {e}", args.db.display()))?;
    let config = Arc::new(args.raft_config()?);
    let network = Network::new(&args.cluster);
    let raft = Raft::new(
        args.id,
        config,
        network,
        store.log_store(),
        store.state_machine(),
    )
    .await
    .map_err(|e| format!("starting raft: {e}"))?;
    let app = Arc::new(App::new(&args, raft.clone(), store.reader()));
    let api = tokio::net::TcpListener::bind(&args.http)
        .await
        .map_err(|e| format!("binding {}: {e}", args.http))?;
    let peers = tokio::net::TcpListener::bind(&args.raft)
        .await
        .map_err(|e| format!("binding {}: {e}", args.raft))?;
    eprintln!(
        "quickcache-server: node {} of cluster {:?}: api {} raft {}",
        args.id, args.cluster, args.http, args.raft
    );
    let api =
        axum::serve(api, api::router(Arc::clone(&app))).with_graceful_shutdown(shutdown_signal());
    let peers =
        axum::serve(peers, rpc::router(Arc::clone(&app))).with_graceful_shutdown(shutdown_signal());
    let served = tokio::try_join!(async { api.await }, async { peers.await });
    let stopped = raft.shutdown().await;
    served.map_err(|e| format!("serving: {e}"))?;
    stopped.map_err(|e| format!("stopping raft: {e}"))
}

/// Resolves on SIGINT or SIGTERM (or if the handlers cannot be installed, at once, so
/// that a server which cannot be stopped cleanly does not start).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("quickcache-server: cannot install signal handlers; stopping");
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}
