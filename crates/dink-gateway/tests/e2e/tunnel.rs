//! Tunnels: `$TUNNEL.REGISTER | UNREGISTER | LIST` and the `/tunnels/<id>/` proxy, with an edge
//! that connects as `dink tunnel` does (default `_INBOX.` prefix) and answers tunnel traffic.
//! The real CLI's tunnel is exercised in convex-example/tests/gateway/cli.test.ts.

use std::sync::{Arc, Mutex};

use base64::Engine;
use dink_gateway::gateway::CreateKeyRequest;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::common::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[tokio::test]
async fn tunnels_register_list_unregister_and_refuse_bad_input() {
    let env = Env::start().await;
    let sync_a = env.app("app-a").await;
    env.app("app-b").await;
    let k1 = env.key("app-a", "edge", Some("e1"), None).await;
    let kb = env.key("app-b", "edge", Some("f1"), None).await;
    let e1 = connect_default_prefix(&env.url(), &k1).await;
    let r = api(&e1, &k1, "$EDGE.PRESENCE.REGISTER", json!({"name": "e1"}))
        .await
        .expect("presence on the default inbox");
    assert_eq!(r["success"], true, "{r}");

    let r = api(
        &e1,
        &k1,
        "$TUNNEL.REGISTER",
        json!({"edge_id": "e1", "app_id": "app-a", "name": "web", "port": 8080}),
    )
    .await
    .expect("register");
    assert_eq!(r["success"], true, "{r}");
    let id = r["data"]["tunnel_id"].as_str().expect("id").to_string();
    assert_eq!(
        r["data"]["url"],
        format!("http://{}/tunnels/{id}/", env.http())
    );
    // Registering again (a restarted `dink tunnel`) gives the same tunnel.
    let again = api(
        &e1,
        &k1,
        "$TUNNEL.REGISTER",
        json!({"edge_id": "e1", "app_id": "app-a", "name": "web", "port": 8081}),
    )
    .await
    .expect("register again");
    assert_eq!(again["data"]["tunnel_id"], id.as_str());

    // Bad input: a coded error and nothing stored.
    for (body, code) in [
        (json!({"name": "we.b", "port": 1}), "BAD_REQUEST"),
        (json!({"name": "", "port": 1}), "BAD_REQUEST"),
        (json!({"name": "a>", "port": 1}), "BAD_REQUEST"),
        (json!({"name": "x", "port": 0}), "BAD_REQUEST"),
        (json!({"name": "x", "port": 70000}), "BAD_REQUEST"),
        (
            json!({"name": "x", "port": 1, "edge_id": "e2"}),
            "FORBIDDEN",
        ),
        (
            json!({"name": "x", "port": 1, "app_id": "app-b"}),
            "FORBIDDEN",
        ),
    ] {
        let r = api(&e1, &k1, "$TUNNEL.REGISTER", body.clone())
            .await
            .expect("reply");
        assert_eq!(r["error"]["code"], code, "{body}: {r}");
    }
    let r = api(&e1, &k1, "$TUNNEL.REGISTER", json!([1, 2]))
        .await
        .expect("reply");
    assert_eq!(r["success"], false, "{r}");

    // Only edge keys with tunnel:expose register; the gateway checks whatever NATS allows.
    let admin = env.admin_secret();
    let root = connect(&env.url(), &admin).await.expect("root");
    let r = api(
        &root,
        &sync_a,
        "$TUNNEL.REGISTER",
        json!({"name": "x", "port": 1}),
    )
    .await
    .expect("reply");
    assert_eq!(r["error"]["code"], "FORBIDDEN", "{r}");
    let narrow = env
        .gw
        .gateway
        .create_key(
            &env.root(),
            "app-a",
            &CreateKeyRequest {
                key_type: "edge".into(),
                edge_id: Some("e3".into()),
                scopes: vec!["services:expose".into()],
                ..Default::default()
            },
        )
        .await
        .expect("narrow key")["api_key"]
        .as_str()
        .expect("k")
        .to_string();
    let r = api(
        &root,
        &narrow,
        "$TUNNEL.REGISTER",
        json!({"name": "x", "port": 1}),
    )
    .await
    .expect("reply");
    assert_eq!(r["error"]["code"], "FORBIDDEN", "{r}");
    let meta = env.gw.gateway.authenticate(&narrow).await.expect("meta");
    let p = dink_gateway::keys::permissions(&meta);
    assert!(!p.subscribe.iter().any(|s| s == "_INBOX.*.*"), "{p:?}");
    assert!(!p.publish.iter().any(|s| s.starts_with("$TUNNEL")), "{p:?}");

    // LIST: the app's tunnels of online edges; another app sees none of them.
    let r = api(&e1, &k1, "$TUNNEL.LIST", json!({"app_id": "app-a"}))
        .await
        .expect("list");
    let listed = r["data"].as_array().expect("array");
    assert_eq!(listed.len(), 1, "{r}");
    assert_eq!(listed[0]["name"], "web");
    assert_eq!(listed[0]["edge_id"], "e1");
    assert_eq!(listed[0]["port"], 8081);
    let fb = connect(&env.url(), &kb).await.expect("f1");
    let r = api(&fb, &kb, "$TUNNEL.LIST", json!({}))
        .await
        .expect("list b");
    assert_eq!(r["data"], json!([]), "{r}");
    let r = api(&fb, &kb, "$TUNNEL.LIST", json!({"app_id": "app-a"}))
        .await
        .expect("list b as a");
    assert_eq!(r["error"]["code"], "FORBIDDEN", "{r}");
    let r = api(&fb, &kb, "$TUNNEL.UNREGISTER", json!({"tunnel_id": id}))
        .await
        .expect("unregister b");
    assert_eq!(r["error"]["code"], "TUNNEL_NOT_FOUND", "{r}");

    // UNREGISTER by its edge; then unknown.
    let r = api(&e1, &k1, "$TUNNEL.UNREGISTER", json!({"tunnel_id": id}))
        .await
        .expect("unregister");
    assert_eq!(r["success"], true, "{r}");
    let r = api(&e1, &k1, "$TUNNEL.UNREGISTER", json!({"tunnel_id": id}))
        .await
        .expect("unregister twice");
    assert_eq!(r["error"]["code"], "TUNNEL_NOT_FOUND", "{r}");
    let r = api(&e1, &k1, "$TUNNEL.LIST", json!({}))
        .await
        .expect("list");
    assert_eq!(r["data"], json!([]), "{r}");
}

/// What the test edge's tunnel handler received.
type Seen = Arc<Mutex<Vec<Value>>>;

/// Serve `edge.app-a.e1.tunnel.web.http`: the reply is chosen by the request path.
async fn serve_tunnel(e1: &async_nats::Client, seen: Seen) -> tokio::task::JoinHandle<()> {
    let mut sub = e1
        .subscribe("edge.app-a.e1.tunnel.web.http")
        .await
        .expect("sub");
    e1.flush().await.expect("flush");
    let c = e1.clone();
    tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            let req: Value = serde_json::from_slice(&m.payload).unwrap_or(Value::Null);
            let path = req["path"].as_str().unwrap_or("").to_string();
            seen.lock().expect("lock").push(req);
            let reply = match path.split('?').next().unwrap_or("") {
                "/ok" => json!({"status_code": 201, "headers": {"X-A": ["1"], "Connection": ["close"]}, "body": B64.encode("hi")}).to_string(),
                "/chunked" => json!({"status_code": 200, "headers": {}, "body": "", "chunked": true, "chunk_subject": "x"}).to_string(),
                "/badstatus" => json!({"status_code": 42, "headers": {}, "body": ""}).to_string(),
                "/badbody" => json!({"status_code": 200, "headers": {}, "body": "%%%"}).to_string(),
                _ => "not json".to_string(),
            };
            if let Some(r) = m.reply {
                let _ = c.publish(r, reply.into()).await;
            }
        }
    })
}

#[tokio::test]
async fn the_proxy_relays_requests_and_codes_every_failure() {
    let env = Env::start().await;
    let sync_a = env.app("app-a").await;
    let sync_b = env.app("app-b").await;
    let k1 = env.key("app-a", "edge", Some("e1"), None).await;
    let e1 = connect_default_prefix(&env.url(), &k1).await;
    api(&e1, &k1, "$EDGE.PRESENCE.REGISTER", json!({"name": "e1"}))
        .await
        .expect("presence");
    let r = api(
        &e1,
        &k1,
        "$TUNNEL.REGISTER",
        json!({"name": "web", "port": 3000}),
    )
    .await
    .expect("register");
    let id = r["data"]["tunnel_id"].as_str().expect("id").to_string();
    let seen: Seen = Arc::default();
    let server = serve_tunnel(&e1, seen.clone()).await;
    let addr = env.http();
    let at = |p: &str| format!("/tunnels/{id}{p}");

    let (status, body) = http(
        &addr,
        "POST",
        &at("/ok?q=1"),
        Some(&sync_a),
        Some("{\"a\":1}"),
    )
    .await;
    assert_eq!((status, body.as_str()), (201, "hi"));
    {
        let s = seen.lock().expect("lock");
        let req = &s[0];
        assert_eq!(req["method"], "POST");
        assert_eq!(req["path"], "/ok?q=1");
        assert_eq!(
            B64.decode(req["body"].as_str().unwrap_or("")).ok(),
            Some(b"{\"a\":1}".to_vec())
        );
        assert_eq!(
            req["headers"]["Content-Type"],
            json!(["application/json"]),
            "{req}"
        );
        assert!(req["headers"].get("Authorization").is_none(), "{req}");
        assert!(req["headers"].get("Host").is_none(), "{req}");
    }
    // No trailing slash: the edge is asked for `/`.
    let (status, _) = http(&addr, "GET", &format!("/tunnels/{id}"), Some(&sync_a), None).await;
    assert_eq!(status, 502);
    assert_eq!(seen.lock().expect("lock").last().expect("req")["path"], "/");

    for (path, code) in [
        ("/chunked", "TUNNEL_CHUNKED_UNSUPPORTED"),
        ("/badstatus", "BAD_TUNNEL_RESPONSE"),
        ("/badbody", "BAD_TUNNEL_RESPONSE"),
        ("/garbage", "BAD_TUNNEL_RESPONSE"),
    ] {
        let (status, body) = http(&addr, "GET", &at(path), Some(&sync_a), None).await;
        assert_eq!(status, 502, "{path}: {body}");
        assert_eq!(json(&body)["error"]["code"], code, "{path}: {body}");
    }
    let before = seen.lock().expect("lock").len();
    // Refused at the gateway, never reaching the edge: no key, another app's key, unknown id,
    // an oversized body.
    let (status, _) = http(&addr, "GET", &at("/ok"), None, None).await;
    assert_eq!(status, 401);
    let (status, body) = http(&addr, "GET", &at("/ok"), Some(&sync_b), None).await;
    assert_eq!(
        (status, json(&body)["error"]["code"].clone()),
        (404, json!("TUNNEL_NOT_FOUND"))
    );
    let (status, _) = http(&addr, "GET", "/tunnels/t..x/ok", Some(&sync_a), None).await;
    assert_eq!(status, 404);
    let big = "x".repeat(dink_gateway::tunnel::MAX_REQUEST_BODY + 1);
    let (status, body) = http(&addr, "POST", &at("/ok"), Some(&sync_a), Some(&big)).await;
    assert_eq!(
        (status, json(&body)["error"]["code"].clone()),
        (413, json!("PAYLOAD_TOO_LARGE"))
    );
    assert_eq!(seen.lock().expect("lock").len(), before);

    // The edge stops serving (still online): no responders.
    server.abort();
    drop(e1);
    let e1 = connect_default_prefix(&env.url(), &k1).await;
    let (status, body) = http(&addr, "GET", &at("/ok"), Some(&sync_a), None).await;
    assert_eq!(
        (status, json(&body)["error"]["code"].clone()),
        (502, json!("TUNNEL_UNAVAILABLE")),
        "{body}"
    );
    // It leaves: its tunnels are forgotten.
    api(&e1, &k1, "$EDGE.PRESENCE.DEREGISTER", json!({}))
        .await
        .expect("deregister");
    let (status, body) = http(&addr, "GET", &at("/ok"), Some(&sync_a), None).await;
    assert_eq!(
        (status, json(&body)["error"]["code"].clone()),
        (404, json!("TUNNEL_NOT_FOUND"))
    );
}
