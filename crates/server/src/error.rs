//! Errors of the HTTP API: each one a status code and a JSON body.
//!
//! ```text
//! {"error": "not the leader", "leader_id": 2, "leader_api": "127.0.0.1:21002"}
//! ```
//!
//! A write or linearizable read sent to a follower gets `307 Temporary Redirect` to the
//! same path on the leader (curl follows it with `-L`, keeping method and body), or
//! `503` with `leader_id: null` while no leader is known.

use std::fmt::Display;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use openraft::TryAsRef;
use openraft::error::{ForwardToLeader, RaftError};
use quickcache_raft::{Node, NodeId};
use serde::Serialize;

/// The message of a 503 while no leader is known.
const NO_LEADER: &str = "no leader is known yet";

/// An API error.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// The request is malformed (bad JSON, bad parameter): 4xx.
    Rejected { status: StatusCode, message: String },
    /// The operation needs the leader and this node is not it (boxed: it is large,
    /// and rare).
    NotLeader(Box<NotLeader>),
    /// Raft refused the operation (e.g. initializing an initialized cluster): 409.
    Refused(String),
    /// Raft or storage is unavailable (shutting down, timed out): 503.
    Unavailable(String),
    /// The node failed (storage error): 500.
    Internal(String),
}

/// Where a request for the leader should go instead.
#[derive(Debug)]
pub(crate) struct NotLeader {
    leader_id: Option<NodeId>,
    leader: Option<Node>,
    uri: Uri,
}

#[derive(Debug, Serialize)]
struct Body {
    error: String,
    /// `not_leader` (a 307 to the leader) or `no_leader` (a 503 while none is
    /// known): either way the operation was not performed, and a client may retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    leader_id: Option<NodeId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    leader_api: Option<String>,
}

impl ApiError {
    /// A 400 Bad Request saying `message`.
    pub(crate) fn bad_request(message: impl Display) -> ApiError {
        ApiError::Rejected {
            status: StatusCode::BAD_REQUEST,
            message: message.to_string(),
        }
    }

    /// The error for `error`, which Raft returned for the request to `uri`.
    pub(crate) fn raft<E>(error: RaftError<NodeId, E>, uri: &Uri) -> ApiError
    where
        E: std::error::Error + TryAsRef<ForwardToLeader<NodeId, Node>>,
    {
        if let Some(forward) = error.forward_to_leader() {
            return ApiError::NotLeader(Box::new(NotLeader {
                leader_id: forward.leader_id,
                leader: forward.leader_node.clone(),
                uri: uri.clone(),
            }));
        }
        match error {
            RaftError::APIError(e) => ApiError::Refused(e.to_string()),
            RaftError::Fatal(e) => ApiError::Unavailable(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, leader_id, leader) = match self {
            ApiError::Rejected { status, message } => (status, message, None, None),
            ApiError::NotLeader(not_leader) => match not_leader.leader {
                Some(leader) => return redirect(not_leader.leader_id, &leader, &not_leader.uri),
                None => {
                    let message = NO_LEADER.to_owned();
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        message,
                        not_leader.leader_id,
                        None,
                    )
                }
            },
            ApiError::Refused(message) => (StatusCode::CONFLICT, message, None, None),
            ApiError::Unavailable(message) => {
                (StatusCode::SERVICE_UNAVAILABLE, message, None, None)
            }
            ApiError::Internal(message) => (StatusCode::INTERNAL_SERVER_ERROR, message, None, None),
        };
        let leader_api = leader.map(|node: Node| node.api_addr);
        let code = (status == StatusCode::SERVICE_UNAVAILABLE && error == NO_LEADER)
            .then_some("no_leader");
        (
            status,
            Json(Body {
                error,
                code,
                leader_id,
                leader_api,
            }),
        )
            .into_response()
    }
}

/// `307` to the same path and query on the leader, with the leader in the body too.
fn redirect(leader_id: Option<NodeId>, leader: &Node, uri: &Uri) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let location = format!("http://{}{path}", leader.api_addr);
    let body = Body {
        error: "not the leader".to_owned(),
        code: Some("not_leader"),
        leader_id,
        leader_api: Some(leader.api_addr.clone()),
    };
    let mut response = (StatusCode::TEMPORARY_REDIRECT, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Turns an extractor's rejection (bad JSON, bad query, bad path) into a JSON error
/// with the rejection's own 4xx status.
pub(crate) fn rejected(rejection: impl IntoResponse + Display) -> ApiError {
    let message = rejection.to_string();
    let status = rejection.into_response().status();
    ApiError::Rejected { status, message }
}
