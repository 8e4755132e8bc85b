//! One `quickcache-server` process fed malformed requests: each gets a 4xx with a
//! JSON error and the node keeps serving; a data directory of another node id or
//! cluster is refused at start.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests unwrap: a panic is a failed test"
)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Client, Cluster, wait_for};

const LIMIT: Duration = Duration::from_secs(20);

async fn started_single_node(cluster: &Cluster, client: &Client) -> String {
    cluster.start(1, &[]);
    let api = cluster.node(1).api.clone();
    wait_for(cluster, "node 1 to initialize", LIMIT, || async {
        matches!(
            client.post(&api, "/cluster/init", json!({})).await,
            Ok((200, _))
        )
        .then_some(())
    })
    .await;
    wait_for(cluster, "node 1 to lead", LIMIT, || async {
        let metrics = client.metrics(&api).await.ok()?;
        (metrics["state"] == "Leader").then_some(())
    })
    .await;
    api
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_json_4xx_and_the_node_keeps_serving() {
    let cluster = Cluster::new(1, Duration::from_secs(60));
    let client = Client::new(false);
    let api = started_single_node(&cluster, &client).await;
    let raw = reqwest::Client::builder()
        .timeout(support::REQUEST_TIMEOUT)
        .build()
        .unwrap();
    let cases: Vec<(&str, &str, &str, Option<&str>, u16)> = vec![
        ("PUT", "/kv/a", "application/json", Some("{not json"), 400),
        (
            "PUT",
            "/kv/a",
            "application/json",
            Some(r#"{"value": 5}"#),
            422,
        ),
        (
            "PUT",
            "/kv/a",
            "application/json",
            Some(r#"{"value": "x", "extra": 1}"#),
            422,
        ),
        ("PUT", "/kv/a", "text/plain", Some("x"), 415),
        (
            "POST",
            "/batch",
            "application/json",
            Some(r#"{"ops": []}"#),
            400,
        ),
        (
            "POST",
            "/batch",
            "application/json",
            Some(r#"{"ops": [{"op": "merge", "key": "a"}]}"#),
            422,
        ),
        ("GET", "/scan?limit=0", "application/json", None, 400),
        ("GET", "/scan?limit=ten", "application/json", None, 400),
        (
            "GET",
            "/scan?direction=sideways",
            "application/json",
            None,
            400,
        ),
        ("GET", "/kv/%FF", "application/json", None, 400),
        (
            "POST",
            "/cluster/change-membership",
            "application/json",
            Some(r#"{"members": []}"#),
            400,
        ),
        (
            "POST",
            "/cluster/init",
            "application/json",
            Some("[1, 2]"),
            400,
        ),
        ("PATCH", "/kv/a", "application/json", None, 405),
        ("GET", "/no/such/route", "application/json", None, 404),
    ];
    for (method, path, content_type, body, expected) in cases {
        let mut request = raw
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("http://{api}{path}"),
            )
            .header("content-type", content_type);
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: body not JSON ({e}): {text}"));
        assert_eq!(status, expected, "{method} {path}: {text}");
        assert!(
            json["error"].is_string(),
            "{method} {path}: no error message: {text}"
        );
    }

    // Initializing twice is refused, Raft RPC from another cluster too.
    let (status, body) = client.post(&api, "/cluster/init", json!({})).await.unwrap();
    assert_eq!(status, 409, "{body}");
    let raft = &cluster.node(1).raft;
    let response = raw
        .post(format!("http://{raft}/raft/vote"))
        .header("x-quickcache-cluster", "another")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);

    // Still serving.
    let (status, body) = client.put(&api, "a", "1").await.unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = client.get(&api, "/kv/a").await.unwrap();
    assert_eq!((status, &body["value"]), (200, &json!("1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_of_another_node_or_cluster_is_refused() {
    let cluster = Cluster::new(1, Duration::from_secs(60));
    let client = Client::new(false);
    started_single_node(&cluster, &client).await;
    cluster.kill(1);
    let node = cluster.node(1);
    for (id, name) in [("2", "quickcache"), ("1", "another")] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_quickcache-server"))
            .args([
                "--id",
                id,
                "--cluster",
                name,
                "--http",
                &node.api,
                "--raft",
                &node.raft,
            ])
            .arg("--db")
            .arg(&node.dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "node {id} of {name} started on node 1's directory"
        );
        assert!(stderr.contains("refusing to start"), "{stderr}");
    }
}
