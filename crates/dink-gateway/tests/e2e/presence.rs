//! (3) Presence, offline after missed heartbeats, kick, services and discovery over NATS.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dink_edge::rpc::{handler, RpcError};
use dink_edge::{Edge, EdgeBuilder};
use serde_json::{json, Value};

use crate::common::*;

pub fn descriptor() -> Value {
    json!({
        "name": "Sensor", "version": "1.2.0", "description": "Reads a sensor",
        "ai_context": {"overview": "Use it to read", "capabilities": ["read"]},
        "methods": [
            {"name": "Read", "description": "Reads a value", "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}}},
            {"name": "Fail"}, {"name": "Slow"}
        ]
    })
}

/// An edge serving Sensor.Read (echoes `{edge, payload}`), Sensor.Fail (error) and Sensor.Slow.
pub async fn start_edge(
    url: &str,
    key: &str,
    heartbeat: Duration,
    labels: &[(&str, &str)],
) -> Result<Edge, String> {
    let edge_name = dink_edge::EdgeKey::parse(key)?.edge_id;
    let mut b = EdgeBuilder::new(url, key).heartbeat(heartbeat);
    for (k, v) in labels {
        b = b.label(*k, *v);
    }
    b.service(
        descriptor(),
        vec![
            (
                "Read".into(),
                handler(move |p, _| {
                    let edge_name = edge_name.clone();
                    async move { Ok(json!({"edge": edge_name, "payload": p})) }
                }),
            ),
            (
                "Fail".into(),
                handler(|_, _| async {
                    Err(RpcError::new("SENSOR_BROKEN", "the sensor is broken"))
                }),
            ),
            (
                "Slow".into(),
                handler(|_, _| async {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    Ok(json!(null))
                }),
            ),
        ],
    )
    .start()
    .await
}

#[tokio::test]
async fn presence_heartbeats_offline_and_kick() {
    let env = Env::start().await;
    env.app("app-a").await;
    let sync = env
        .gw
        .gateway
        .configure_convex("app-a", "", "", "")
        .await
        .expect("sync")["sync_key"]
        .as_str()
        .expect("s")
        .to_string();
    let k1 = env.key("app-a", "edge", Some("e1"), None).await;
    let k2 = env.key("app-a", "edge", Some("e2"), None).await;
    let kicked: Arc<Mutex<Option<String>>> = Arc::default();
    let kicked2 = kicked.clone();
    let e1 = start_edge(
        &env.url(),
        &k1,
        Duration::from_millis(300),
        &[("zone", "north")],
    )
    .await
    .expect("e1");
    // e2 registers but sends no heartbeat within the timeout.
    let e2 = EdgeBuilder::new(env.url(), k2.clone())
        .heartbeat(Duration::from_secs(60))
        .on_kick(move |r| {
            if let Ok(mut g) = kicked2.lock() {
                *g = Some(r);
            }
        })
        .start()
        .await
        .expect("e2");

    let g = &env.gw.gateway;
    let f = dink_gateway::gateway::EdgeFilter::default();
    let edges = g.list_edges("app-a", &f).await.expect("list");
    assert_eq!(edges.len(), 2);
    assert!(edges.iter().all(|e| e.status == "online"));
    let e1_info = edges.iter().find(|e| e.id == "e1").expect("e1");
    assert_eq!(
        e1_info.labels.get("zone").map(String::as_str),
        Some("north")
    );
    assert_eq!(e1_info.services.len(), 1);
    assert_eq!(e1_info.services[0].name, "Sensor");

    // After the timeout without heartbeats e2 is offline; e1 (heartbeating) stays online.
    tokio::time::sleep(HEARTBEAT_TIMEOUT + Duration::from_millis(600)).await;
    let e1s = g.get_edge("app-a", "e1").await.expect("e1");
    let e2s = g.get_edge("app-a", "e2").await.expect("e2");
    assert_eq!(e1s.status, "online");
    assert_eq!(e2s.status, "offline");

    // Discovery over NATS with the sync key: only online edges serving Sensor.
    let admin = connect(&env.url(), &env.admin_secret())
        .await
        .expect("root");
    let r = api(
        &admin,
        &sync,
        "$API.DISCOVERY.QUERY",
        json!({"service_name": "Sensor", "online_only": true}),
    )
    .await
    .expect("q");
    assert_eq!(r["data"]["edges"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(r["data"]["services"][0]["name"], "Sensor", "{r}");
    let r = api(
        &admin,
        &sync,
        "$API.SERVICES.DESCRIBE",
        json!({"service_id": "Sensor"}),
    )
    .await
    .expect("d");
    assert_eq!(r["data"], descriptor(), "{r}");
    let r = api(
        &admin,
        &sync,
        "$API.EDGES.DISCOVER",
        json!({"service_name": "Sensor", "method_name": "Read"}),
    )
    .await
    .expect("d");
    assert_eq!(r["data"][0]["id"], "e1", "{r}");

    // Kick e2: its callback runs with the reason and it disconnects.
    g.kick("app-a", "e2", "maintenance").await.expect("kick");
    assert!(
        e2.wait_closed(Duration::from_secs(5)).await,
        "e2 did not close after the kick"
    );
    assert_eq!(
        kicked.lock().expect("lock").clone().as_deref(),
        Some("maintenance")
    );
    let done = tokio::time::timeout(Duration::from_secs(5), async {
        // A drained (closed) client refuses to flush.
        while e2.client.flush().await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(done.is_ok(), "e2's connection is still up");
    assert_eq!(
        g.get_edge("app-a", "e2").await.expect("e2").status,
        "offline"
    );

    // Deregister on shutdown marks e1 offline at once.
    e1.shutdown().await;
    assert_eq!(
        g.get_edge("app-a", "e1").await.expect("e1").status,
        "offline"
    );
}

#[tokio::test]
async fn dev_setup_only_in_dev_mode() {
    let env = Env::start_dev().await;
    // Anonymous (no token), default inbox prefix: what `dink dev setup` does.
    let anon = async_nats::ConnectOptions::new()
        .max_reconnects(Some(0))
        .connect(env.url())
        .await
        .expect("anonymous dev connection");
    let body =
        json!({"app_name": "dev-app", "edge_count": 2, "edge_names": ["a1", "a2"]}).to_string();
    let msg = tokio::time::timeout(
        Duration::from_secs(5),
        anon.request("$DEV.SETUP", body.clone().into()),
    )
    .await
    .expect("timeout")
    .expect("dev setup");
    let v: Value = serde_json::from_slice(&msg.payload).expect("json");
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["data"]["app"]["id"], "dev-app");
    let ek = v["data"]["edge_keys"][1]["api_key"]
        .as_str()
        .expect("edge key")
        .to_string();
    assert!(ek.starts_with("dk_test_ed_dev-app_a2_"), "{ek}");
    assert!(v["data"]["sync_key"]
        .as_str()
        .is_some_and(|s| s.starts_with("dk_test_ct_dev-app_")));
    assert!(v["data"]["admin_key"]
        .as_str()
        .is_some_and(|s| s.starts_with("dk_test_am_dev-app_")));
    let e = start_edge(&env.url(), &ek, Duration::from_secs(30), &[])
        .await
        .expect("dev edge connects");
    // Running it again reuses the app.
    let again = tokio::time::timeout(
        Duration::from_secs(5),
        anon.request("$DEV.SETUP", body.into()),
    )
    .await
    .expect("timeout")
    .expect("dev setup again");
    let v: Value = serde_json::from_slice(&again.payload).expect("json");
    assert_eq!(v["success"], true, "{v}");
    // Anonymous connections reach nothing else.
    let r = tokio::time::timeout(
        Duration::from_millis(800),
        anon.request("$API.KEYS.LIST", "{}".into()),
    )
    .await;
    assert!(!matches!(r, Ok(Ok(_))), "anonymous reached $API.KEYS.LIST");
    // It may read `_INBOX.>` in APPS, but the gateway's own replies (here an edge's RPC result)
    // come back on the gateway's private prefix.
    let mut spy = anon.subscribe("_INBOX.>").await.expect("sub");
    anon.flush().await.expect("flush");
    let req: dink_gateway::gateway::CallRequest = serde_json::from_value(json!({
        "edge_id": "a2", "service_name": "Sensor", "method_name": "Read", "payload": {"secret": 42}
    }))
    .expect("call request");
    let out = env.gw.gateway.call("dev-app", &req).await.expect("call");
    assert_eq!(out["success"], true, "{out}");
    let peeked = tokio::time::timeout(
        Duration::from_millis(400),
        futures_util::StreamExt::next(&mut spy),
    )
    .await;
    assert!(
        peeked.is_err(),
        "the anonymous dev connection read a gateway reply"
    );
    e.shutdown().await;

    // Without dev mode: anonymous refused, and $DEV.SETUP answers FORBIDDEN even to the admin.
    let prod = Env::start().await;
    assert!(async_nats::ConnectOptions::new()
        .max_reconnects(Some(0))
        .connect(prod.url())
        .await
        .is_err());
    let admin = prod.admin_secret();
    let c = connect(&prod.url(), &admin).await.expect("root");
    let r = api(&c, &admin, "$DEV.SETUP", json!({"app_name": "x"}))
        .await
        .expect("reply");
    assert_eq!(r["error"]["code"], "FORBIDDEN", "{r}");
}

#[tokio::test]
async fn rotate_regenerate_status_and_direct_rpc_with_a_center_key() {
    let env = Env::start().await;
    let sync = env.app("app-a").await;
    let k1 = env.key("app-a", "edge", Some("e1"), None).await;
    let e1 = start_edge(&env.url(), &k1, Duration::from_secs(30), &[])
        .await
        .expect("e1");

    // A center key calls the edge directly over NATS (services:call:edge), replies arriving on its
    // private inbox through the edge's allow_responses.
    let center = connect(&env.url(), &sync).await.expect("center connects");
    let req = json!({"metadata": {}, "payload": {"id": 1}}).to_string();
    let msg = tokio::time::timeout(
        Duration::from_secs(5),
        center.request("edge.app-a.e1.services.Sensor.Read", req.into()),
    )
    .await
    .expect("timeout")
    .expect("direct call");
    let v: Value = serde_json::from_slice(&msg.payload).expect("json");
    assert_eq!(
        v,
        json!({"success": true, "result": {"edge": "e1", "payload": {"id": 1}}})
    );

    // The app master rotates the edge key: new secret works, old one is revoked.
    let admin = env.admin_secret();
    let root = connect(&env.url(), &admin).await.expect("root");
    let (_, master) = {
        let r = api(
            &root,
            &admin,
            "$ADMIN.APPS.CREATE",
            json!({"name": "app-m", "description": "", "labels": {}}),
        )
        .await
        .expect("create");
        (
            r["data"]["app"].clone(),
            r["data"]["api_key"].as_str().expect("key").to_string(),
        )
    };
    let r = api(
        &root,
        &master,
        "$API.KEYS.CREATE",
        json!({"type": "edge", "edge_id": "m1"}),
    )
    .await
    .expect("create");
    let old = r["data"]["api_key"].as_str().expect("key").to_string();
    let old_id = r["data"]["key"]["id"].as_str().expect("id").to_string();
    let r = api(
        &root,
        &master,
        "$API.KEYS.ROTATE",
        json!({"key_id": old_id}),
    )
    .await
    .expect("rotate");
    assert_eq!(r["success"], true, "{r}");
    let new = r["data"]["api_key"].as_str().expect("key").to_string();
    assert_eq!(r["data"]["key"]["edge_id"], "m1");
    assert!(
        connect(&env.url(), &old).await.is_err(),
        "old key still works"
    );
    connect(&env.url(), &new).await.expect("new key works");

    // Sync key regeneration and Convex status.
    let r = api(
        &root,
        &master,
        "$ADMIN.APPS.CONFIGURE_CONVEX",
        json!({"convex_url": "u", "convex_site_url": "s", "sync_key": ""}),
    )
    .await
    .expect("cfg");
    let s1 = r["data"]["sync_key"].as_str().expect("s").to_string();
    let r = api(&root, &master, "$ADMIN.APPS.REGENERATE_SYNC_KEY", json!({}))
        .await
        .expect("regen");
    let s2 = r["data"]["sync_key"].as_str().expect("s").to_string();
    assert_ne!(s1, s2);
    assert_eq!(r["data"]["old_key_id"], dink_gateway::keys::key_id(&s1));
    let (code, _) = http(&env.http(), "GET", "/api/edges", Some(&s1), None).await;
    assert_eq!(code, 401, "the old sync key still works");
    let (code, _) = http(&env.http(), "GET", "/api/edges", Some(&s2), None).await;
    assert_eq!(code, 200);
    let r = api(&root, &master, "$ADMIN.APPS.CONVEX_STATUS", json!({}))
        .await
        .expect("status");
    assert_eq!(r["data"]["status"], "configured", "{r}");
    assert_eq!(r["data"]["app_id"], "app-m", "{r}");
    e1.shutdown().await;
}
