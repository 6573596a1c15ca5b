//! `dink-gateway nats-config`: the config and environment it writes run a real nats-server that a
//! gateway serves (edges land in EDGES, the control plane answers them), and it never overwrites
//! credentials.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dink_gateway::natsd::{find_nats_server, free_port, write_config_dir, NatsCreds};
use dink_gateway::{Config, Gateway};
use serde_json::json;

use crate::common::*;

/// A nats-server started from a config file, killed (by its own child handle) on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env_file(path: &std::path::Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .expect("gateway.env")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn the_written_config_runs_a_server_a_gateway_serves() {
    let dir = TempDir::new();
    let port = free_port().expect("port");
    let listen = format!("127.0.0.1:{port}");
    let (conf, env) = write_config_dir(&dir.0.join("nats"), &listen).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for p in [&conf, &env] {
            let mode = std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }
    // Never overwrites credentials.
    let again = write_config_dir(&dir.0.join("nats"), &listen);
    assert!(again.is_err_and(|e| e.contains("not overwriting")));

    let bin = find_nats_server().expect("nats-server");
    let test = Command::new(&bin)
        .arg("-t")
        .arg("-c")
        .arg(&conf)
        .output()
        .expect("nats-server -t");
    assert!(
        test.status.success(),
        "{}",
        String::from_utf8_lossy(&test.stderr)
    );
    let _server = Server(
        Command::new(&bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nats-server"),
    );

    let vars = env_file(&env);
    let var = |k: &str| vars.get(k).cloned().unwrap_or_default();
    let creds = NatsCreds {
        url: format!("nats://{listen}"),
        state_user: var("DINK_GW_STATE_USER"),
        state_password: var("DINK_GW_STATE_PASSWORD"),
        bus_user: var("DINK_GW_BUS_USER"),
        bus_password: var("DINK_GW_BUS_PASSWORD"),
        sys_user: var("DINK_GW_SYS_USER"),
        sys_password: var("DINK_GW_SYS_PASSWORD"),
        issuer_seed: var("DINK_GW_ISSUER_SEED"),
    };
    let mut cfg = Config::new(
        creds,
        "127.0.0.1:0".parse().expect("addr"),
        dir.0.join("gw"),
    );
    cfg.env = "test".into();
    // The server needs a moment to listen: bounded retries.
    let mut running = None;
    for _ in 0..50 {
        match Gateway::start(cfg.clone()).await {
            Ok(r) => {
                running = Some(r);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let running = running.expect("gateway on the written config");
    let g = &running.gateway;
    g.create_app("app-a", "", Default::default())
        .await
        .expect("app");
    let key = g
        .create_key(
            &root_of(&running),
            "app-a",
            &dink_gateway::gateway::CreateKeyRequest {
                key_type: "edge".into(),
                edge_id: Some("e1".into()),
                ..Default::default()
            },
        )
        .await
        .expect("key")["api_key"]
        .as_str()
        .expect("k")
        .to_string();
    let edge = connect(&format!("nats://{listen}"), &key)
        .await
        .expect("edge connects through the callout");
    let r = api(
        &edge,
        &key,
        "$EDGE.PRESENCE.REGISTER",
        json!({"name": "e1"}),
    )
    .await
    .expect("the control plane answers an edge in EDGES");
    assert_eq!(r["data"]["id"], "e1", "{r}");
    let bad = connect(&format!("nats://{listen}"), "dk_test_ed_app-a_e1_forged").await;
    assert!(bad.is_err(), "a forged key connected");
}
