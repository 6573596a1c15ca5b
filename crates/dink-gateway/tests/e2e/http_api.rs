//! (4) The HTTP API: auth on every route, app isolation, call with every failure kind, scatter
//! with a failing edge, keys create -> connect -> revoke -> kicked and refused, describe,
//! llm.txt, convex-push.

use std::time::Duration;

use serde_json::json;

use crate::common::*;
use crate::presence::{descriptor, start_edge};

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/edge/call"),
    ("POST", "/api/edge/scatter"),
    ("GET", "/api/edges"),
    ("GET", "/api/edges/e1"),
    ("POST", "/api/edges/e1/kick"),
    ("POST", "/api/keys"),
    ("GET", "/api/keys"),
    ("GET", "/api/keys/kabc"),
    ("POST", "/api/keys/kabc/revoke"),
    ("GET", "/api/services"),
    ("GET", "/api/services/Sensor"),
    ("GET", "/api/services/Sensor/llm.txt"),
    ("POST", "/api/sync/convex-push"),
];

#[tokio::test]
async fn every_route_needs_the_app_key_and_stays_in_its_app() {
    let env = Env::start().await;
    let sync_a = env.app("app-a").await;
    let sync_b = env.app("app-b").await;
    let kb = env.key("app-b", "edge", Some("f1"), None).await;
    let fb = start_edge(&env.url(), &kb, Duration::from_secs(30), &[])
        .await
        .expect("f1");
    let addr = env.http();
    let edge_key_a = env.key("app-a", "edge", Some("e1"), None).await;
    for (m, p) in ROUTES {
        for key in [
            None,
            Some("dk_test_ct_app-a_wrong"),
            Some(env.admin_secret().as_str()),
        ] {
            let (status, body) = http(&addr, m, p, key, Some("{}")).await;
            let want = if key == Some(env.admin_secret().as_str()) {
                403
            } else {
                401
            };
            assert_eq!(status, want, "{m} {p} with {key:?}: {body}");
            let v = json(&body);
            assert_eq!(v["success"], false, "{m} {p}: {body}");
        }
        let (status, _) = http(&addr, m, p, Some(&edge_key_a), Some("{}")).await;
        assert_eq!(status, 403, "{m} {p} with an edge key");
    }
    // App A's sync key cannot see or touch app B's edge, keys or services.
    let (s, b) = http(&addr, "GET", "/api/edges/f1", Some(&sync_a), None).await;
    assert_eq!(
        (s, json(&b)["error"]["code"].as_str()),
        (404, Some("EDGE_NOT_FOUND")),
        "{b}"
    );
    let body =
        json!({"edge_id": "f1", "service_name": "Sensor", "method_name": "Read", "payload": {}})
            .to_string();
    let (s, b) = http(&addr, "POST", "/api/edge/call", Some(&sync_a), Some(&body)).await;
    assert_eq!(s, 404, "{b}");
    let (s, _) = http(
        &addr,
        "POST",
        "/api/edges/f1/kick",
        Some(&sync_a),
        Some("{}"),
    )
    .await;
    assert_eq!(s, 404);
    let kb_id = dink_gateway::keys::key_id(&kb);
    let (s, b) = http(
        &addr,
        "POST",
        &format!("/api/keys/{kb_id}/revoke"),
        Some(&sync_a),
        Some("{}"),
    )
    .await;
    assert_eq!(
        (s, json(&b)["error"]["code"].as_str()),
        (404, Some("KEY_NOT_FOUND")),
        "{b}"
    );
    let (s, b) = http(&addr, "GET", "/api/services/Sensor", Some(&sync_a), None).await;
    assert_eq!(s, 404, "{b}");
    let (s, b) = http(&addr, "GET", "/api/edges", Some(&sync_a), None).await;
    assert_eq!(
        (s, json(&b)["data"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{b}"
    );
    let (s, b) = http(
        &addr,
        "POST",
        "/api/keys",
        Some(&sync_a),
        Some(r#"{"type":"edge","edge_id":"x","app_id":"app-b"}"#),
    )
    .await;
    assert_eq!(s, 403, "{b}");
    // ... while app B's key sees its edge.
    let (s, b) = http(&addr, "GET", "/api/edges/f1", Some(&sync_b), None).await;
    assert_eq!(
        (s, json(&b)["data"]["status"].as_str()),
        (200, Some("online")),
        "{b}"
    );
    fb.shutdown().await;

    // Unauthenticated routes.
    let (s, b) = http(&addr, "GET", "/", None, None).await;
    assert_eq!(s, 200);
    let info = json(&b);
    assert_eq!(info["service"], "dink-gateway");
    assert_eq!(info["nats_port"], env.nats.port);
    assert_eq!(info["dev_mode"], false);
    let (s, b) = http(&addr, "GET", "/healthz", None, None).await;
    assert_eq!(
        (s, json(&b)["status"].as_str()),
        (200, Some("healthy")),
        "{b}"
    );
    // Oversized bodies are refused before parsing.
    let big = format!(
        "{{\"x\":\"{}\"}}",
        "a".repeat(dink_gateway::gateway::MAX_BODY + 10)
    );
    let (s, _) = http(&addr, "POST", "/api/edge/call", Some(&sync_a), Some(&big)).await;
    assert_eq!(s, 413);
}

#[tokio::test]
async fn call_and_scatter_report_each_failure_kind() {
    let env = Env::start().await;
    let sync = env.app("app-a").await;
    let addr = env.http();
    let k1 = env.key("app-a", "edge", Some("e1"), None).await;
    let k2 = env.key("app-a", "edge", Some("e2"), None).await;
    let k3 = env.key("app-a", "edge", Some("e3"), None).await;
    let e1 = start_edge(
        &env.url(),
        &k1,
        Duration::from_secs(30),
        &[("zone", "north")],
    )
    .await
    .expect("e1");
    let _e2 = start_edge(
        &env.url(),
        &k2,
        Duration::from_secs(30),
        &[("zone", "south")],
    )
    .await
    .expect("e2");
    let e3 = start_edge(
        &env.url(),
        &k3,
        Duration::from_secs(30),
        &[("zone", "south")],
    )
    .await
    .expect("e3");
    e3.shutdown().await; // registered, now gone: its calls find no responders

    let call = |edge: &str, method: &str, timeout: Option<u64>| {
        let mut b = json!({"edge_id": edge, "service_name": "Sensor", "method_name": method, "payload": {"id": "t1"}, "metadata": {"trace": "x"}});
        if let Some(t) = timeout {
            b["timeout_ms"] = json!(t);
        }
        b.to_string()
    };
    // Success: the §3.2 envelope; data.result is the edge's raw reply.
    let (s, b) = http(
        &addr,
        "POST",
        "/api/edge/call",
        Some(&sync),
        Some(&call("e1", "Read", None)),
    )
    .await;
    let v = json(&b);
    assert_eq!(s, 200, "{b}");
    assert_eq!(v["success"], true);
    assert_eq!(v["data"]["edge_id"], "e1");
    assert_eq!(v["data"]["success"], true);
    assert_eq!(
        v["data"]["result"],
        json!({"success": true, "result": {"edge": "e1", "payload": {"id": "t1"}}})
    );
    // Edge error: the edge's own code.
    let (s, b) = http(
        &addr,
        "POST",
        "/api/edge/call",
        Some(&sync),
        Some(&call("e1", "Fail", None)),
    )
    .await;
    let v = json(&b);
    assert_eq!(
        (s, &v["success"], &v["data"]["success"]),
        (200, &json!(true), &json!(false)),
        "{b}"
    );
    assert_eq!(
        v["data"]["error"],
        json!({"code": "SENSOR_BROKEN", "message": "the sensor is broken"})
    );
    // Unknown method on the edge: the edge answers NOT_FOUND.
    let (_, b) = http(
        &addr,
        "POST",
        "/api/edge/call",
        Some(&sync),
        Some(&call("e1", "Nope", None)),
    )
    .await;
    assert_eq!(json(&b)["data"]["error"]["code"], "NOT_FOUND", "{b}");
    // Timeout.
    let (s, b) = http(
        &addr,
        "POST",
        "/api/edge/call",
        Some(&sync),
        Some(&call("e1", "Slow", Some(300))),
    )
    .await;
    assert_eq!(
        (s, json(&b)["data"]["error"]["code"].as_str()),
        (200, Some("TIMEOUT")),
        "{b}"
    );
    // No responders: a known edge that is not connected.
    let (s, b) = http(
        &addr,
        "POST",
        "/api/edge/call",
        Some(&sync),
        Some(&call("e3", "Read", None)),
    )
    .await;
    assert_eq!(
        (s, json(&b)["data"]["error"]["code"].as_str()),
        (200, Some("NO_RESPONDERS")),
        "{b}"
    );
    // Unknown edge: a gateway-level 404.
    let (s, b) = http(
        &addr,
        "POST",
        "/api/edge/call",
        Some(&sync),
        Some(&call("ghost", "Read", None)),
    )
    .await;
    let v = json(&b);
    assert_eq!(
        (s, v["success"].as_bool(), v["error"]["code"].as_str()),
        (404, Some(false), Some("EDGE_NOT_FOUND")),
        "{b}"
    );
    // Bad requests.
    for bad in [
        "not json",
        r#"{"edge_id":"e1"}"#,
        r#"{"edge_id":"e_1","service_name":"S","method_name":"M"}"#,
        r#"{"edge_id":"e1","service_name":"S","method_name":"M","extra":1}"#,
    ] {
        let (s, b) = http(&addr, "POST", "/api/edge/call", Some(&sync), Some(bad)).await;
        assert_eq!(
            (s, json(&b)["error"]["code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{bad}: {b}"
        );
    }

    // Scatter by edge ids, one of them failing (gone) and one unknown.
    let body = json!({"service_name": "Sensor", "method_name": "Read", "payload": 7, "edge_ids": ["e1", "e2", "e3", "ghost"], "timeout_ms": 2000}).to_string();
    let (s, b) = http(&addr, "POST", "/api/edge/scatter", Some(&sync), Some(&body)).await;
    let v = json(&b);
    assert_eq!(s, 200, "{b}");
    assert_eq!(v["data"]["total_edges"], 4, "{b}");
    assert_eq!(v["data"]["successful_count"], 2, "{b}");
    assert_eq!(v["data"]["failed_count"], 2, "{b}");
    let results = v["data"]["results"].as_array().expect("results");
    assert_eq!(
        results[0],
        json!({"edge_id": "e1", "success": true, "result": {"edge": "e1", "payload": 7}})
    );
    assert_eq!(results[2]["error"]["code"], "NO_RESPONDERS");
    assert_eq!(results[3]["error"]["code"], "EDGE_NOT_FOUND");
    // Scatter by labels: online edges serving Sensor with zone=south (e3 is offline).
    let body = json!({"service_name": "Sensor", "method_name": "Read", "payload": 1, "labels": {"zone": "south"}}).to_string();
    let (_, b) = http(&addr, "POST", "/api/edge/scatter", Some(&sync), Some(&body)).await;
    let v = json(&b);
    assert_eq!(v["data"]["total_edges"], 1, "{b}");
    assert_eq!(v["data"]["results"][0]["edge_id"], "e2", "{b}");

    // Edge listing filters.
    let (_, b) = http(
        &addr,
        "GET",
        "/api/edges?online_only=true&service=Sensor&labels=zone:north",
        Some(&sync),
        None,
    )
    .await;
    let v = json(&b);
    let ids: Vec<&str> = v["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["e1"], "{b}");
    let (_, b) = http(&addr, "GET", "/api/edges", Some(&sync), None).await;
    assert_eq!(json(&b)["data"].as_array().map(Vec::len), Some(3), "{b}");

    // Describe and llm.txt.
    let (s, b) = http(&addr, "GET", "/api/services/Sensor", Some(&sync), None).await;
    assert_eq!((s, json(&b)["data"].clone()), (200, descriptor()), "{b}");
    let (s, b) = http(
        &addr,
        "GET",
        "/api/services/Sensor/llm.txt",
        Some(&sync),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        b.starts_with("# Sensor LLM Reference\n\n> Reads a sensor\n"),
        "{b}"
    );
    assert!(
        b.contains(
            "### Read\n\nReads a value\n\n#### Request Schema\n\n```json\n{\n  \"properties\""
        ),
        "{b}"
    );

    // Metrics count the outcomes.
    let (_, m) = http(&addr, "GET", "/metrics", None, None).await;
    for line in [
        "dink_rpc_calls_total{outcome=\"timeout\"} 1",
        "dink_rpc_calls_total{outcome=\"no_responders\"} 2",
        "dink_edges_online 2",
    ] {
        assert!(m.contains(line), "missing {line}:\n{m}");
    }
    e1.shutdown().await;
}

#[tokio::test]
async fn keys_over_http_create_connect_revoke_kick_refuse() {
    let env = Env::start().await;
    let sync = env.app("app-a").await;
    let addr = env.http();
    let (s, b) = http(&addr, "POST", "/api/keys", Some(&sync), Some(r#"{"name":"cam","type":"edge","edge_id":"cam-1","labels":{"site":"x"},"expires_in":"24h"}"#)).await;
    let v = json(&b);
    assert_eq!(s, 200, "{b}");
    let secret = v["data"]["api_key"].as_str().expect("api_key").to_string();
    assert!(secret.starts_with("dk_test_ed_app-a_cam-1_"), "{secret}");
    let id = v["data"]["key"]["id"].as_str().expect("id").to_string();
    assert_eq!(v["data"]["key"]["type"], "edge");
    assert_eq!(v["data"]["key"]["status"], "active");
    assert!(
        v["data"]["key"].get("key_hash").is_none(),
        "the hash leaked: {b}"
    );
    assert!(v["data"]["key"]["scopes"]
        .as_array()
        .is_some_and(|s| s.contains(&json!("services:expose"))));
    // A sync key cannot mint admin or key-managing keys.
    let (s, _) = http(
        &addr,
        "POST",
        "/api/keys",
        Some(&sync),
        Some(r#"{"type":"admin"}"#),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = http(
        &addr,
        "POST",
        "/api/keys",
        Some(&sync),
        Some(r#"{"type":"edge","edge_id":"bad_id"}"#),
    )
    .await;
    assert_eq!(s, 400);

    let (_, b) = http(&addr, "GET", "/api/keys?type=edge", Some(&sync), None).await;
    let list = json(&b);
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{b}");
    assert!(!b.contains(&secret) && !b.contains("key_hash"));
    let (s, b) = http(&addr, "GET", &format!("/api/keys/{id}"), Some(&sync), None).await;
    assert_eq!(
        (s, json(&b)["data"]["edge_id"].as_str()),
        (200, Some("cam-1")),
        "{b}"
    );

    let kicked = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let k2 = kicked.clone();
    let edge = dink_edge::EdgeBuilder::new(env.url(), secret.clone())
        .on_kick(move |r| {
            if let Ok(mut g) = k2.lock() {
                *g = Some(r);
            }
        })
        .start()
        .await
        .expect("edge connects with the new key");
    let (_, b) = http(&addr, "GET", "/api/edges/cam-1", Some(&sync), None).await;
    assert_eq!(json(&b)["data"]["status"], "online", "{b}");

    let (s, b) = http(
        &addr,
        "POST",
        &format!("/api/keys/{id}/revoke"),
        Some(&sync),
        Some(r#"{"reason":"stolen"}"#),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(json(&b)["data"]["edge_kicked"], true, "{b}");
    assert!(
        edge.wait_closed(Duration::from_secs(5)).await,
        "the edge was not kicked"
    );
    assert_eq!(kicked.lock().expect("lock").as_deref(), Some("stolen"));
    let e = connect(&env.url(), &secret)
        .await
        .expect_err("revoked key reconnected");
    assert!(e.to_lowercase().contains("authorization"), "{e}");
    let (_, b) = http(&addr, "GET", &format!("/api/keys/{id}"), Some(&sync), None).await;
    let v = json(&b);
    assert_eq!(v["data"]["status"], "revoked", "{b}");
    assert_eq!(v["data"]["revoke_reason"], "stolen", "{b}");
    let (_, b) = http(&addr, "GET", "/api/edges/cam-1", Some(&sync), None).await;
    assert_eq!(json(&b)["data"]["status"], "offline", "{b}");
    // Kick over HTTP of an unknown edge.
    let (s, _) = http(
        &addr,
        "POST",
        "/api/edges/nobody/kick",
        Some(&sync),
        Some("{}"),
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn convex_push_is_authenticated_validated_and_deduplicated() {
    let env = Env::start().await;
    let sync = env.app("app-a").await;
    let addr = env.http();
    let body = json!({"version": 1, "app_sync": true, "events": [
        {"event_id": "evt-1", "collection": "tasks", "doc_id": "t1", "delta": "AAEC", "format": 2, "version": 1, "origin_edge_id": "e1"},
        {"event_id": "evt-2", "collection": "tasks", "doc_id": "t2", "delta": "AAEC", "format": 2, "version": 3}
    ]})
    .to_string();
    let (s, b) = http(
        &addr,
        "POST",
        "/api/sync/convex-push",
        Some(&sync),
        Some(&body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        json(&b),
        json!({"version": 1, "success": true, "data": {"accepted": 2}})
    );
    let (s, _) = http(
        &addr,
        "POST",
        "/api/sync/convex-push",
        Some(&sync),
        Some(&body),
    )
    .await;
    assert_eq!(s, 200, "a redelivery is accepted");
    let mut stream = env
        .gw
        .gateway
        .store
        .js
        .get_stream("DINK_PUSH_app-a")
        .await
        .expect("stream");
    assert_eq!(
        stream.info().await.expect("info").state.messages,
        2,
        "duplicates were stored"
    );
    let (_, m) = http(&addr, "GET", "/metrics", None, None).await;
    assert!(m.contains("dink_convex_push_duplicates_total 2"), "{m}");

    let (s, b) = http(&addr, "POST", "/api/sync/convex-push", None, Some(&body)).await;
    assert_eq!((s, json(&b)["version"].as_i64()), (401, Some(1)), "{b}");
    let (s, b) = http(
        &addr,
        "POST",
        "/api/sync/convex-push",
        Some(&sync),
        Some(r#"{"version":2,"app_sync":true,"events":[]}"#),
    )
    .await;
    assert_eq!(
        (s, json(&b)["error"]["code"].as_str()),
        (400, Some("UNSUPPORTED_VERSION")),
        "{b}"
    );
    for bad in [
        r#"{"version":1,"app_sync":true,"events":[{"event_id":"x","collection":"tasks","doc_id":"d","delta":"!!","format":2,"version":1}]}"#,
        r#"{"version":1,"app_sync":true,"events":[],"extra":1}"#,
        r#"{"version":1,"app_sync":true,"events":[{"event_id":"x","collection":"a.b","doc_id":"d","delta":"AA==","format":2,"version":1}]}"#,
        "[]",
    ] {
        let (s, b) = http(
            &addr,
            "POST",
            "/api/sync/convex-push",
            Some(&sync),
            Some(bad),
        )
        .await;
        assert_eq!(
            (s, json(&b)["error"]["code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{bad}: {b}"
        );
    }
}
