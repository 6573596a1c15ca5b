//! (2) Scope permissions and app isolation.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use crate::common::*;

const QUIET: Duration = Duration::from_millis(400);

/// True if nothing arrives on `sub` within `QUIET`.
async fn silent(sub: &mut async_nats::Subscriber) -> bool {
    tokio::time::timeout(QUIET, sub.next()).await.is_err()
}

#[tokio::test]
async fn edges_are_confined_to_their_own_subjects() {
    let env = Env::start().await;
    env.app("app-a").await;
    env.app("app-b").await;
    let k1 = env.key("app-a", "edge", Some("e1"), None).await;
    let k2 = env.key("app-a", "edge", Some("e2"), None).await;
    let kb = env.key("app-b", "edge", Some("f1"), None).await;
    let (e1, mut e1_events) = connect_watching(&env.url(), &k1).await;
    let e2 = connect(&env.url(), &k2).await.expect("e2");
    let fb = connect(&env.url(), &kb).await.expect("f1");
    let bus = &env.gw.gateway.bus; // full permissions in the APPS account

    // e1 cannot subscribe to app B's subjects.
    let mut spy = e1.subscribe("edge.app-b.f1.>").await.expect("sub call");
    e1.flush().await.expect("flush");
    assert!(
        expect_event(
            &mut e1_events,
            "permissions violation",
            Duration::from_secs(2)
        )
        .await
    );
    bus.publish("edge.app-b.f1.services.S.M", "secret".into())
        .await
        .expect("pub");
    bus.flush().await.expect("flush");
    assert!(silent(&mut spy).await, "e1 read app B's edge subject");

    // ... nor app B's events or sync subjects, nor publish there.
    let mut fb_sub = fb.subscribe("events.app-b.>").await.expect("sub");
    fb.flush().await.expect("flush");
    e1.publish("events.app-b.x", "forged".into())
        .await
        .expect("pub call");
    e1.flush().await.expect("flush");
    assert!(
        expect_event(
            &mut e1_events,
            "permissions violation",
            Duration::from_secs(2)
        )
        .await
    );
    assert!(silent(&mut fb_sub).await, "e1 published into app B");

    // e1 cannot read other connections' inboxes: not `_INBOX.>`, not e2's private prefix.
    let mut inbox_spy = e1.subscribe("_INBOX.>").await.expect("sub call");
    let e2_prefix = dink_gateway::keys::inbox_prefix(&k2);
    let mut e2_spy = e1
        .subscribe(format!("{e2_prefix}.>"))
        .await
        .expect("sub call");
    e1.flush().await.expect("flush");
    let r = api(&e2, &k2, "$ADMIN.HEALTH", json!({}))
        .await
        .expect("e2 health");
    assert_eq!(r["success"], true);
    assert!(silent(&mut inbox_spy).await, "e1 read a reply on _INBOX.>");
    assert!(silent(&mut e2_spy).await, "e1 read e2's inbox");

    // Edge keys with tunnel:expose (in bundle:edge) may read 3-token default inboxes, which
    // `dink tunnel` needs, but they live in the EDGES account: a default-prefix reply to an APPS
    // connection (here a new key's secret, created by the bootstrap admin) never reaches them.
    let mut default_spy = e1.subscribe("_INBOX.*.*").await.expect("sub call");
    let mut long_spy = e1.subscribe("_INBOX.*.>").await.expect("sub call");
    e1.flush().await.expect("flush");
    let admin = env.admin_secret();
    let plain_admin = connect_default_prefix(&env.url(), &admin).await;
    let r = api(
        &plain_admin,
        &admin,
        "$API.KEYS.CREATE",
        json!({"app_id": "app-a", "type": "edge", "edge_id": "x9"}),
    )
    .await
    .expect("create");
    assert_eq!(r["success"], true, "{r}");
    assert!(silent(&mut default_spy).await, "an edge read an APPS reply");
    assert!(silent(&mut long_spy).await, "an edge read an APPS reply");

    // e1 cannot kick e2 (nor listen on e2's control subjects or serve as e2).
    let mut kick_sub = e2.subscribe("$EDGE.app-a.e2.KICK").await.expect("sub");
    e2.flush().await.expect("flush");
    e1.publish(
        "$EDGE.app-a.e2.KICK",
        r#"{"command":"kick","reason":"evil"}"#.into(),
    )
    .await
    .expect("pub call");
    e1.flush().await.expect("flush");
    assert!(silent(&mut kick_sub).await, "e1 kicked e2");
    let mut serve_spy = e1.subscribe("edge.app-a.e2.>").await.expect("sub call");
    e1.flush().await.expect("flush");
    bus.publish("edge.app-a.e2.services.S.M", "x".into())
        .await
        .expect("pub");
    bus.flush().await.expect("flush");
    assert!(silent(&mut serve_spy).await, "e1 received e2's RPC");

    // e1 cannot call e2 directly (bundle:edge has no services:call:edge).
    let mut e2_rpc = e2.subscribe("edge.app-a.e2.services.>").await.expect("sub");
    e2.flush().await.expect("flush");
    e1.publish("edge.app-a.e2.services.S.M", "x".into())
        .await
        .expect("pub call");
    e1.flush().await.expect("flush");
    assert!(silent(&mut e2_rpc).await, "e1 called e2");

    // Presence is the key's own: registering with another name does not create e2 or touch app B.
    let r = api(
        &e1,
        &k1,
        "$EDGE.PRESENCE.REGISTER",
        json!({"name": "e2", "labels": {"app": "app-b"}}),
    )
    .await
    .expect("register");
    assert_eq!(r["data"]["id"], "e1", "{r}");
    assert_eq!(r["data"]["app_id"], "app-a", "{r}");

    // An edge key cannot manage keys: the publish is refused (and the gateway would refuse too).
    let r = api(
        &e1,
        &k1,
        "$API.KEYS.CREATE",
        json!({"type": "edge", "edge_id": "x"}),
    )
    .await;
    assert!(r.is_err(), "edge key reached $API.KEYS.CREATE: {r:?}");

    // The gateway also checks scopes and apps itself, whatever the NATS permissions.
    let root = connect(&env.url(), &admin).await.expect("root");
    let r = api(
        &root,
        &k1,
        "$API.KEYS.CREATE",
        json!({"type": "edge", "edge_id": "x"}),
    )
    .await
    .expect("reply");
    assert_eq!(r["error"]["code"], "FORBIDDEN", "{r}");
    let sync_b = env
        .gw
        .gateway
        .configure_convex("app-b", "", "", "")
        .await
        .expect("sync b")["sync_key"]
        .as_str()
        .expect("s")
        .to_string();
    let r = api(
        &root,
        &sync_b,
        "$API.EDGES.LIST",
        json!({"app_id": "app-a"}),
    )
    .await
    .expect("reply");
    assert_eq!(r["error"]["code"], "FORBIDDEN", "{r}");
    let r = api(&root, &sync_b, "$API.EDGES.LIST", json!({}))
        .await
        .expect("reply");
    let ids: Vec<&str> = r["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert!(!ids.contains(&"e1"), "app B sees app A's edges: {r}");
    let r = api(
        &root,
        "dk_test_ed_app-a_e1_forged",
        "$ADMIN.HEALTH",
        json!({}),
    )
    .await
    .expect("reply");
    assert_eq!(r["error"]["code"], "UNAUTHORIZED", "{r}");
}

#[tokio::test]
async fn permission_mapping_follows_scopes() {
    let env = Env::start().await;
    env.app("app-a").await;
    let k = env.key("app-a", "edge", Some("e1"), None).await;
    let meta = env.gw.gateway.authenticate(&k).await.expect("meta");
    let p = dink_gateway::keys::permissions(&meta);
    let id = &meta.id;
    assert!(p.subscribe.contains(&format!("_INBOX_{id}.>")));
    assert!(!p
        .subscribe
        .iter()
        .any(|s| s == "_INBOX.>" || s == "$EDGE.>" || s == ">"));
    assert!(!p
        .publish
        .iter()
        .any(|s| s.starts_with("_INBOX") || s == "$EDGE.>" || s.starts_with("$JS.")));
    assert!(p.subscribe.contains(&"$EDGE.app-a.e1.>".to_string()));
    // tunnel:expose: the 3-token default inbox, nothing longer.
    assert!(p.subscribe.contains(&"_INBOX.*.*".to_string()));
    assert_eq!(p.subscribe_deny, vec!["_INBOX.*.*.>".to_string()]);
    assert!(p.publish.contains(&"$TUNNEL.REGISTER".to_string()));
    assert_eq!(dink_gateway::keys::account_of(&meta), "EDGES");
    assert!(p.publish.contains(&"edge.app-a.e1.>".to_string()));
    assert!(
        p.publish.contains(&"$SYNC.app-a.e1.>".to_string())
            && p.subscribe.contains(&"$SYNC.app-a.e1.>".to_string())
    );
    assert!(!p
        .publish
        .iter()
        .chain(&p.subscribe)
        .any(|s| s == "$SYNC.app-a.>" || s == "$SYNC.>"));
    // Other keys keep the app's whole `$SYNC` tree.
    let sync = env
        .gw
        .gateway
        .configure_convex("app-a", "", "", "")
        .await
        .expect("sync key")["sync_key"]
        .as_str()
        .expect("s")
        .to_string();
    let meta = env.gw.gateway.authenticate(&sync).await.expect("meta");
    let p = dink_gateway::keys::permissions(&meta);
    assert!(p.publish.contains(&"$SYNC.app-a.>".to_string()));
    assert!(p.allow_responses);
    assert!(p.subscribe_deny.is_empty() && !p.subscribe.iter().any(|s| s == "_INBOX.*.*"));
    assert_eq!(dink_gateway::keys::account_of(&meta), "APPS");
}
