//! The client API: keys, scans and batches.
//!
//! | method and path | body / query | reply |
//! |---|---|---|
//! | `GET /kv/{key}` | `?stale=true` to read this node's copy without asking the leader | `{"key", "value"}` (`value` null if absent) |
//! | `PUT /kv/{key}` | `{"value": "..."}` | `{"index"}`: the log index of the write |
//! | `DELETE /kv/{key}` | | `{"index"}` |
//! | `GET /scan` | `?start=&end=&limit=100&direction=forward\|reverse&stale=` | `{"pairs": [{"key", "value"}]}` |
//! | `POST /batch` | `{"ops": [{"op": "put", "key", "value"}, {"op": "delete", "key"}]}` | `{"index"}` |
//!
//! Keys and values are UTF-8 strings. Writes go through the leader; reads are
//! linearizable (leader plus read index) unless `stale=true`. Cluster routes are in
//! [`crate::cluster`].

use std::ops::Bound;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::Uri;
use axum::routing::{get, post};
use axum::{Json, Router};
use quickcache_raft::{Command, Direction, Op};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::{ApiError, rejected};

/// Most pairs one scan returns.
const MAX_SCAN_LIMIT: usize = 10_000;

/// The client API's routes (keys, scans, batches and the cluster routes).
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/kv/{key}", get(get_key).put(put_key).delete(delete_key))
        .route("/scan", get(scan))
        .route("/batch", post(batch))
        .merge(crate::cluster::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::Rejected {
        status: axum::http::StatusCode::NOT_FOUND,
        message: format!("no route {}", uri.path()),
    }
}

async fn method_not_allowed(uri: Uri) -> ApiError {
    let message = format!("method not allowed on {}", uri.path());
    ApiError::Rejected {
        status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
        message,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadParams {
    #[serde(default)]
    stale: bool,
}

#[derive(Debug, Serialize)]
struct KeyValue {
    key: String,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    value: String,
}

#[derive(Debug, Serialize)]
struct Written {
    index: u64,
}

async fn get_key(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    key: Result<Path<String>, PathRejection>,
    params: Result<Query<ReadParams>, QueryRejection>,
) -> Result<Json<KeyValue>, ApiError> {
    let Path(key) = key.map_err(rejected)?;
    let Query(params) = params.map_err(rejected)?;
    if !params.stale {
        app.linearize().await.map_err(|e| ApiError::raft(e, &uri))?;
    }
    let value = app
        .reader
        .get(key.as_bytes())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let value = value.map(utf8).transpose()?;
    Ok(Json(KeyValue { key, value }))
}

async fn put_key(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    key: Result<Path<String>, PathRejection>,
    body: Result<Json<PutBody>, JsonRejection>,
) -> Result<Json<Written>, ApiError> {
    let Path(key) = key.map_err(rejected)?;
    let Json(body) = body.map_err(rejected)?;
    write(&app, &uri, Command::put(key, body.value)).await
}

async fn delete_key(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    key: Result<Path<String>, PathRejection>,
) -> Result<Json<Written>, ApiError> {
    let Path(key) = key.map_err(rejected)?;
    write(&app, &uri, Command::delete(key)).await
}

#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum BatchOp {
    Put { key: String, value: String },
    Delete { key: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    ops: Vec<BatchOp>,
}

async fn batch(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    body: Result<Json<BatchBody>, JsonRejection>,
) -> Result<Json<Written>, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    if body.ops.is_empty() {
        return Err(ApiError::bad_request("a batch needs at least one op"));
    }
    let ops = body
        .ops
        .into_iter()
        .map(|op| match op {
            BatchOp::Put { key, value } => Op::Put {
                key: key.into_bytes(),
                value: value.into_bytes(),
            },
            BatchOp::Delete { key } => Op::Delete {
                key: key.into_bytes(),
            },
        })
        .collect();
    write(&app, &uri, Command { ops }).await
}

/// Replicates `command` through the leader; returns once it is committed and applied
/// on the leader.
async fn write(app: &App, uri: &Uri, command: Command) -> Result<Json<Written>, ApiError> {
    let response = app
        .raft
        .client_write(command)
        .await
        .map_err(|e| ApiError::raft(e, uri))?;
    Ok(Json(Written {
        index: response.log_id.index,
    }))
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ScanDirection {
    #[default]
    Forward,
    Reverse,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanParams {
    start: Option<String>,
    end: Option<String>,
    limit: Option<usize>,
    #[serde(default)]
    direction: ScanDirection,
    #[serde(default)]
    stale: bool,
}

#[derive(Debug, Serialize)]
struct Pairs {
    pairs: Vec<KeyValue>,
}

/// Keys in `[start, end)`, at most `limit` (default 100, at most 10,000), ascending
/// or descending.
async fn scan(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    params: Result<Query<ScanParams>, QueryRejection>,
) -> Result<Json<Pairs>, ApiError> {
    let Query(params) = params.map_err(rejected)?;
    let limit = params.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_SCAN_LIMIT {
        return Err(ApiError::bad_request(format!(
            "limit must be 1..={MAX_SCAN_LIMIT}, not {limit}"
        )));
    }
    if !params.stale {
        app.linearize().await.map_err(|e| ApiError::raft(e, &uri))?;
    }
    let start = params
        .start
        .as_deref()
        .map_or(Bound::Unbounded, |s| Bound::Included(s.as_bytes()));
    let end = params
        .end
        .as_deref()
        .map_or(Bound::Unbounded, |e| Bound::Excluded(e.as_bytes()));
    let direction = match params.direction {
        ScanDirection::Forward => Direction::Forward,
        ScanDirection::Reverse => Direction::Reverse,
    };
    let found = app
        .reader
        .scan(start, end, limit, direction)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let pairs = found
        .into_iter()
        .map(|(key, value)| {
            Ok(KeyValue {
                key: utf8(key)?,
                value: Some(utf8(value)?),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(Pairs { pairs }))
}

/// Every key and value is written through this API as a string, so stored bytes that
/// are not UTF-8 are damage, reported as such rather than replaced.
fn utf8(bytes: Vec<u8>) -> Result<String, ApiError> {
    String::from_utf8(bytes)
        .map_err(|e| ApiError::Internal(format!("stored bytes are not UTF-8: {e}")))
}
