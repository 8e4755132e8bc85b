//! Cluster administration routes.
//!
//! | method and path | body | does |
//! |---|---|---|
//! | `POST /cluster/init` | none, or `{"members": {"1": {"api_addr", "raft_addr"}, ...}}` | initializes a new cluster (this node alone by default) |
//! | `POST /cluster/add-learner` | `{"id", "api_addr", "raft_addr"}` | adds a non-voting member and waits until it has caught up |
//! | `POST /cluster/change-membership` | `{"members": [1, 2, 3], "retain": false}` | makes exactly these nodes the voters |
//! | `GET /cluster/metrics` | | openraft's metrics of this node |
//! | `POST /cluster/snapshot` | | builds a snapshot now, waits for it |
//! | `POST /cluster/purge` | `{"upto": index}` | purges the log up to `index` (at most the snapshot), waits for it |

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{OriginalUri, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use openraft::RaftMetrics;
use openraft::error::RaftError;
use quickcache_raft::{Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::{ApiError, rejected};

/// How long `snapshot` and `purge` wait for the operation to show in the metrics.
const MAINTENANCE_WAIT: Duration = Duration::from_secs(30);

pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/cluster/init", post(init))
        .route("/cluster/add-learner", post(add_learner))
        .route("/cluster/change-membership", post(change_membership))
        .route("/cluster/metrics", get(metrics))
        .route("/cluster/snapshot", post(snapshot))
        .route("/cluster/purge", post(purge))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InitBody {
    #[serde(default)]
    members: BTreeMap<NodeId, Node>,
}

#[derive(Debug, Serialize)]
struct Done {
    ok: bool,
}

async fn init(State(app): State<Arc<App>>, body: Bytes) -> Result<Json<Done>, ApiError> {
    let mut members = if body.iter().all(u8::is_ascii_whitespace) {
        BTreeMap::new()
    } else {
        serde_json::from_slice::<InitBody>(&body)
            .map_err(ApiError::bad_request)?
            .members
    };
    if members.is_empty() {
        members.insert(app.id, app.node.clone());
    }
    app.raft.initialize(members).await.map_err(|e| match e {
        RaftError::APIError(e) => ApiError::Refused(e.to_string()),
        RaftError::Fatal(e) => ApiError::Unavailable(e.to_string()),
    })?;
    Ok(Json(Done { ok: true }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LearnerBody {
    id: NodeId,
    api_addr: String,
    raft_addr: String,
}

#[derive(Debug, Serialize)]
struct Changed {
    index: u64,
}

async fn add_learner(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    body: Result<Json<LearnerBody>, JsonRejection>,
) -> Result<Json<Changed>, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let node = Node {
        api_addr: body.api_addr,
        raft_addr: body.raft_addr,
    };
    let response = app
        .raft
        .add_learner(body.id, node, true)
        .await
        .map_err(|e| ApiError::raft(e, &uri))?;
    Ok(Json(Changed {
        index: response.log_id.index,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MembershipBody {
    members: BTreeSet<NodeId>,
    #[serde(default)]
    retain: bool,
}

async fn change_membership(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    body: Result<Json<MembershipBody>, JsonRejection>,
) -> Result<Json<Changed>, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    if body.members.is_empty() {
        return Err(ApiError::bad_request(
            "a membership needs at least one member",
        ));
    }
    let response = app
        .raft
        .change_membership(body.members, body.retain)
        .await
        .map_err(|e| ApiError::raft(e, &uri))?;
    Ok(Json(Changed {
        index: response.log_id.index,
    }))
}

async fn metrics(State(app): State<Arc<App>>) -> Json<RaftMetrics<NodeId, Node>> {
    Json(app.raft.metrics().borrow().clone())
}

/// Builds a snapshot of everything applied so far, and waits until it is built.
async fn snapshot(
    State(app): State<Arc<App>>,
) -> Result<Json<RaftMetrics<NodeId, Node>>, ApiError> {
    let applied = app.raft.metrics().borrow().last_applied;
    app.raft
        .trigger()
        .snapshot()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let waited = app
        .raft
        .wait(Some(MAINTENANCE_WAIT))
        .metrics(|m| m.snapshot >= applied, "snapshot built")
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(Json(waited))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PurgeBody {
    upto: u64,
}

/// Purges the log up to `upto` (openraft purges no further than the last snapshot),
/// and waits until the purge shows.
async fn purge(
    State(app): State<Arc<App>>,
    body: Result<Json<PurgeBody>, JsonRejection>,
) -> Result<Json<RaftMetrics<NodeId, Node>>, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let snapshot = app.raft.metrics().borrow().snapshot;
    let reachable = snapshot.map_or(0, |s| s.index).min(body.upto);
    if snapshot.is_none() {
        return Err(ApiError::Refused(
            "no snapshot yet: nothing can be purged".to_owned(),
        ));
    }
    app.raft
        .trigger()
        .purge_log(body.upto)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let waited = app
        .raft
        .wait(Some(MAINTENANCE_WAIT))
        .metrics(
            |m| m.purged.is_some_and(|p| p.index >= reachable),
            "log purged",
        )
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(Json(waited))
}
