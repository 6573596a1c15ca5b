//! (5) Two gateway processes on one NATS share their state; kill one, the other keeps serving.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dink_gateway::natsd::{free_port, NatsServer};
use serde_json::json;

use crate::common::*;
use crate::presence::start_edge;

/// A gateway child process, killed (by its own handle) on drop.
struct GatewayProcess {
    child: Child,
    http: String,
}

impl GatewayProcess {
    fn start(nats: &NatsServer, data_dir: &std::path::Path) -> GatewayProcess {
        let port = free_port().expect("port");
        let c = &nats.creds;
        let child = Command::new(env!("CARGO_BIN_EXE_dink-gateway"))
            .args([
                "serve",
                "--nats-url",
                &c.url,
                "--http-port",
                &port.to_string(),
                "--env",
                "test",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--heartbeat-timeout-ms", "5000"])
            .env("DINK_GW_STATE_USER", &c.state_user)
            .env("DINK_GW_STATE_PASSWORD", &c.state_password)
            .env("DINK_GW_BUS_USER", &c.bus_user)
            .env("DINK_GW_BUS_PASSWORD", &c.bus_password)
            .env("DINK_GW_ISSUER_SEED", &c.issuer_seed)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn dink-gateway");
        GatewayProcess {
            child,
            http: format!("127.0.0.1:{port}"),
        }
    }

    async fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("dink-gateway exited: {st}");
            }
            if tokio::net::TcpStream::connect(&self.http).await.is_ok() {
                let (s, _) = http(&self.http, "GET", "/healthz", None, None).await;
                if s == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("dink-gateway not ready");
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn two_gateways_share_state_and_survive_one_dying() {
    let dir = TempDir::new();
    let nats = start_nats(&dir);
    let data = dir.0.join("gw");
    let mut a = GatewayProcess::start(&nats, &data);
    a.wait_ready().await;
    let mut b = GatewayProcess::start(&nats, &data); // same admin.key file
    b.wait_ready().await;

    let admin = std::fs::read_to_string(data.join("admin.key"))
        .expect("admin.key")
        .trim()
        .to_string();
    let root = connect(&nats.creds.url, &admin)
        .await
        .expect("root connects");
    let r = api(
        &root,
        &admin,
        "$ADMIN.APPS.CREATE",
        json!({"name": "app-a", "description": "d", "labels": {}}),
    )
    .await
    .expect("create");
    assert_eq!(r["success"], true, "{r}");
    let master = r["data"]["api_key"].as_str().expect("api_key").to_string();
    assert!(master.starts_with("dk_test_am_app-a_"));
    let master_conn = connect(&nats.creds.url, &master)
        .await
        .expect("app master connects");
    let r = api(&master_conn, &master, "$ADMIN.APPS.CONFIGURE_CONVEX", json!({"app_id": "app-a", "convex_url": "https://x.convex.cloud", "convex_site_url": "https://x.convex.site", "sync_key": ""})).await.expect("cfg");
    let sync = r["data"]["sync_key"]
        .as_str()
        .expect("sync_key")
        .to_string();
    let r = api(&master_conn, &master, "$API.KEYS.CREATE", json!({"name": "e1", "type": "edge", "edge_id": "e1", "scope_bundle": "bundle:edge", "scopes": [], "labels": {}, "expires_in": ""})).await.expect("key");
    let k1 = r["data"]["api_key"].as_str().expect("api_key").to_string();

    let e1 = start_edge(&nats.creds.url, &k1, Duration::from_secs(1), &[])
        .await
        .expect("e1");
    let call =
        json!({"edge_id": "e1", "service_name": "Sensor", "method_name": "Read", "payload": 1})
            .to_string();
    for gw in [&a, &b] {
        let (s, body) = http(&gw.http, "POST", "/api/edge/call", Some(&sync), Some(&call)).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(json(&body)["data"]["success"], true, "{body}");
    }

    drop(a); // killed
             // A request already routed to the dying process is lost (callers retry); give the server a
             // moment to notice the closed socket and drop its queue subscriptions.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Everything still works through b: the callout (new connection), the control plane, HTTP.
    let r = api(
        &master_conn,
        &master,
        "$API.KEYS.CREATE",
        json!({"type": "edge", "edge_id": "e2"}),
    )
    .await
    .expect("key after kill");
    let k2 = r["data"]["api_key"].as_str().expect("api_key").to_string();
    let _e2 = start_edge(&nats.creds.url, &k2, Duration::from_secs(1), &[])
        .await
        .expect("e2 connects after the kill");
    let (s, body) = http(&b.http, "POST", "/api/edge/call", Some(&sync), Some(&call)).await;
    assert_eq!(
        (s, json(&body)["data"]["success"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    let (_, body) = http(
        &b.http,
        "GET",
        "/api/edges?online_only=true",
        Some(&sync),
        None,
    )
    .await;
    assert_eq!(
        json(&body)["data"].as_array().map(Vec::len),
        Some(2),
        "{body}"
    );
    let r = api(&master_conn, &master, "$API.EDGES.LIST", json!({}))
        .await
        .expect("list");
    assert_eq!(r["data"].as_array().map(Vec::len), Some(2), "{r}");
    e1.shutdown().await;
    b.child.kill().ok();
}

#[tokio::test]
async fn dev_command_prints_urls_and_stops_its_nats_server_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = TempDir::new();
    let (np, hp) = (free_port().expect("port"), free_port().expect("port"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_dink-gateway"))
        .args([
            "dev",
            "--nats-port",
            &np.to_string(),
            "--http-port",
            &hp.to_string(),
        ])
        .arg("--data-dir")
        .arg(&dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn dev");
    let guard_pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let mut child = TermOnDrop(child);
    let lines = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .take(4)
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let lines = tokio::time::timeout(Duration::from_secs(20), lines)
        .await
        .expect("dev output")
        .expect("join");
    let text = lines.join("\n");
    assert!(
        text.contains(&format!("NATS:      nats://127.0.0.1:{np}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("HTTP:      http://127.0.0.1:{hp}")),
        "{text}"
    );
    assert!(text.contains("admin.key"), "{text}");
    let (s, body) = http(&format!("127.0.0.1:{hp}"), "GET", "/", None, None).await;
    assert_eq!(
        (s, json(&body)["dev_mode"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    // SIGTERM (by pid): the gateway exits and takes its nats-server down with it.
    let st = Command::new("kill")
        .args(["-TERM", &guard_pid.to_string()])
        .status()
        .expect("kill");
    assert!(st.success());
    let start = Instant::now();
    let mut exited = false;
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = child.0.try_wait() {
            exited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(exited, "dink-gateway dev ignored SIGTERM");
    let mut nats_down = false;
    while start.elapsed() < Duration::from_secs(10) {
        if std::net::TcpStream::connect(("127.0.0.1", np)).is_err() {
            nats_down = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(nats_down, "the dev nats-server outlived the gateway");
}

/// On drop (a failed test): SIGTERM by pid so `dev` stops its nats-server, then SIGKILL after 5 s.
struct TermOnDrop(Child);

impl Drop for TermOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = self.0.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Key metadata is cached per process for up to `KEY_CACHE_TTL` (2 s); a revoke on one gateway
/// must be refused by the other as soon as the key id broadcast on `dink.gw.keys.revoked`
/// arrives (milliseconds), well before the TTL would expire the cached entry.
#[tokio::test]
async fn a_key_revoked_on_one_gateway_is_refused_at_once_by_the_other() {
    let dir = TempDir::new();
    let nats = start_nats(&dir);
    let a = dink_gateway::Gateway::start(config(&nats, dir.0.join("gw")))
        .await
        .expect("gateway a");
    let b = dink_gateway::Gateway::start(config(&nats, dir.0.join("gw")))
        .await
        .expect("gateway b");
    let g = &a.gateway;
    g.create_app("app-a", "", Default::default())
        .await
        .expect("app");
    let root: dink_gateway::types::KeyMetadata = serde_json::from_value(json!({
        "id": "root", "app_id": "", "name": "", "type": "admin", "scopes": ["admin"],
        "status": "active", "created_at": "",
    }))
    .expect("meta");
    let mut keys = Vec::new();
    for _ in 0..2 {
        let req = dink_gateway::gateway::CreateKeyRequest {
            key_type: "center".into(),
            ..Default::default()
        };
        let v = g.create_key(&root, "app-a", &req).await.expect("key");
        keys.push((
            v["api_key"].as_str().expect("secret").to_string(),
            v["key"]["id"].as_str().expect("id").to_string(),
        ));
    }
    let addrs = [a.http_addr.to_string(), b.http_addr.to_string()];
    for (i, (secret, id)) in keys.iter().enumerate() {
        // Both gateways have the key cached.
        for addr in &addrs {
            let (s, body) = http(addr, "GET", "/api/edges", Some(secret), None).await;
            assert_eq!(s, 200, "{body}");
        }
        let cached_at = Instant::now();
        // Revoke through one: refused there at once, and by the other well within the TTL.
        let (by, other) = if i == 0 {
            (&a, &addrs[1])
        } else {
            (&b, &addrs[0])
        };
        by.gateway
            .revoke_key("app-a", id, "test")
            .await
            .expect("revoke");
        let (s, _) = http(
            &by.http_addr.to_string(),
            "GET",
            "/api/edges",
            Some(secret),
            None,
        )
        .await;
        assert_eq!(s, 401);
        loop {
            let (s, body) = http(other, "GET", "/api/edges", Some(secret), None).await;
            if s == 401 {
                break;
            }
            assert_eq!(s, 200, "{body}");
            assert!(
                cached_at.elapsed() < dink_gateway::gateway::KEY_CACHE_TTL / 2,
                "the other gateway still accepts the revoked key (cache not invalidated)"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
