//! `dink-edge --server nats://HOST:PORT --key KEY [--heartbeat-secs N]` (or `DINK_EDGE_KEY`):
//! a demo edge serving `Echo.Echo` (returns the payload) and `Echo.Fail` (returns an error),
//! until kicked or interrupted.

use std::time::Duration;

use dink_edge::rpc::{handler, RpcError};
use dink_edge::EdgeBuilder;
use serde_json::json;

#[tokio::main]
async fn main() {
    let mut server =
        std::env::var("DINK_SERVER").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let mut key = std::env::var("DINK_EDGE_KEY").unwrap_or_default();
    let mut hb = 30u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--server", Some(v)) => server = v,
            ("--key", Some(v)) => key = v,
            ("--heartbeat-secs", Some(v)) => hb = v.parse().unwrap_or(30),
            _ => {
                eprintln!(
                    "usage: dink-edge --server nats://HOST:PORT --key KEY [--heartbeat-secs N]"
                );
                std::process::exit(2);
            }
        }
    }
    let descriptor = json!({
        "name": "Echo", "version": "1.0.0", "description": "Echoes its payload",
        "methods": [{ "name": "Echo", "description": "Returns the payload" }, { "name": "Fail", "description": "Always fails" }],
    });
    let edge = EdgeBuilder::new(server, key)
        .heartbeat(Duration::from_secs(hb.max(1)))
        .service(
            descriptor,
            vec![
                ("Echo".into(), handler(|p, _| async move { Ok(p) })),
                (
                    "Fail".into(),
                    handler(|_, _| async move {
                        Err(RpcError::new("DEMO_FAILURE", "this method always fails"))
                    }),
                ),
            ],
        )
        .on_kick(|reason| eprintln!("dink-edge: kicked: {reason}"))
        .start()
        .await;
    let edge = match edge {
        Ok(e) => e,
        Err(e) => {
            eprintln!("dink-edge: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "dink-edge: {} of app {} online",
        edge.key.edge_id, edge.key.app_id
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => edge.shutdown().await,
        _ = async { while !edge.wait_closed(Duration::from_secs(3600)).await {} } => {}
    }
}
