//! The Raft RPC listener: what [`crate::network`] sends, handed to openraft.
//!
//! Kept on its own address (`--raft`), apart from the client API, so that it can be
//! firewalled to the cluster's machines.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use quickcache_raft::{NodeId, TypeConfig};

use crate::app::App;
use crate::error::{ApiError, rejected};
use crate::network::CLUSTER_HEADER;

/// The Raft RPC routes.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/raft/append", post(append))
        .route("/raft/vote", post(vote))
        .route("/raft/snapshot", post(snapshot))
        .with_state(app)
}

/// Refuses a request from another cluster (or from something that is not a node).
fn check_cluster(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let sender = headers.get(CLUSTER_HEADER).and_then(|v| v.to_str().ok());
    if sender == Some(app.cluster.as_str()) {
        return Ok(());
    }
    let message = format!(
        "raft rpc from cluster {sender:?}; this node is of cluster {:?}",
        app.cluster
    );
    Err(ApiError::Rejected {
        status: StatusCode::FORBIDDEN,
        message,
    })
}

async fn append(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Json<AppendEntriesRequest<TypeConfig>>, JsonRejection>,
) -> Result<Response, ApiError> {
    check_cluster(&app, &headers)?;
    let Json(request) = body.map_err(rejected)?;
    Ok(Json(app.raft.append_entries(request).await).into_response())
}

async fn vote(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Json<VoteRequest<NodeId>>, JsonRejection>,
) -> Result<Response, ApiError> {
    check_cluster(&app, &headers)?;
    let Json(request) = body.map_err(rejected)?;
    Ok(Json(app.raft.vote(request).await).into_response())
}

async fn snapshot(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Json<InstallSnapshotRequest<TypeConfig>>, JsonRejection>,
) -> Result<Response, ApiError> {
    check_cluster(&app, &headers)?;
    let Json(request) = body.map_err(rejected)?;
    Ok(Json(app.raft.install_snapshot(request).await).into_response())
}
