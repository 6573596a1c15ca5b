//! (1) The auth callout: a good key connects; forged, expired and revoked keys are refused at
//! CONNECT.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn good_key_connects_and_bad_keys_are_refused_at_connect() {
    let env = Env::start().await;
    env.app("app-a").await;
    let good = env.key("app-a", "edge", Some("e1"), None).await;
    let c = connect(&env.url(), &good).await.expect("good key connects");
    let r = api(&c, &good, "$ADMIN.HEALTH", json!({}))
        .await
        .expect("health");
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["data"]["status"], "healthy");

    // Forged: right format, unknown secret; and a garbage token; and no token at all.
    let last = if good.ends_with('X') { 'Y' } else { 'X' };
    let forged = format!("{}{last}", &good[..good.len() - 1]);
    for bad in [forged.as_str(), "dk_test_ed_app-a_e1_nope", "garbage"] {
        let e = connect(&env.url(), bad)
            .await
            .expect_err("forged key must be refused");
        assert!(e.to_lowercase().contains("authorization"), "{e}");
    }
    let anon = async_nats::ConnectOptions::new()
        .max_reconnects(Some(0))
        .connect(env.url())
        .await;
    assert!(anon.is_err(), "anonymous connect must be refused");

    // Expired.
    let short = env.key("app-a", "edge", Some("e2"), Some("1s")).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let e = connect(&env.url(), &short)
        .await
        .expect_err("expired key must be refused");
    assert!(e.to_lowercase().contains("authorization"), "{e}");

    // Revoked.
    let rev = env.key("app-a", "edge", Some("e3"), None).await;
    connect(&env.url(), &rev)
        .await
        .expect("connects before revocation");
    let id = dink_gateway::keys::key_id(&rev);
    env.gw
        .gateway
        .revoke_key("app-a", &id, "test")
        .await
        .expect("revoke");
    let e = connect(&env.url(), &rev)
        .await
        .expect_err("revoked key must be refused");
    assert!(e.to_lowercase().contains("authorization"), "{e}");

    // The refusals were counted.
    let (_, m) = http(&env.http(), "GET", "/metrics", None, None).await;
    assert!(m.contains("dink_auth_total{result=\"refused\"}"), "{m}");
    assert!(!m.contains("dink_auth_total{result=\"refused\"} 0"), "{m}");
}

#[tokio::test]
async fn a_revoked_key_is_disconnected_even_if_it_ignores_the_kick() {
    let env = Env::start().await;
    env.app("app-a").await;
    let k = env.key("app-a", "edge", Some("e1"), None).await;
    let (c, mut events) = connect_watching(&env.url(), &k).await;
    // Not an obedient edge: it registers presence but never acts on the kick.
    let r = api(&c, &k, "$EDGE.PRESENCE.REGISTER", json!({}))
        .await
        .expect("register");
    assert_eq!(r["success"], true, "{r}");
    let id = dink_gateway::keys::key_id(&k);
    let out = env
        .gw
        .gateway
        .revoke_key("app-a", &id, "bye")
        .await
        .expect("revoke");
    assert_eq!(out["edge_kicked"], true);
    assert!(
        expect_event(&mut events, "disconnected", Duration::from_secs(5)).await,
        "the server did not close the revoked key's connection"
    );
    // And it cannot come back.
    assert!(connect(&env.url(), &k).await.is_err());
}
