//! `dink-edge --server nats://HOST:PORT --key KEY [--heartbeat-secs N]` (or `DINK_EDGE_KEY`):
//! a demo edge serving `Echo.Echo` (returns the payload) and `Echo.Fail` (returns an error),
//! until kicked or interrupted.
//!
//! With `--store DIR --collection NAME...` it is also a sync client, driven by the line-based
//! JSON control protocol on stdin/stdout (docs/edge.md): stdout then carries only JSON lines.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dink_edge::control::{self, Command};
use dink_edge::rpc::{handler, RpcError};
use dink_edge::sync::{Engine, Store, SyncClient, SyncError};
use dink_edge::{Edge, EdgeBuilder, EdgeKey};
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

const USAGE: &str = "usage: dink-edge --server nats://HOST:PORT --key KEY [--heartbeat-secs N] [--store DIR --collection NAME... [--push-timeout-secs N]]";

/// A connection down this long (async-nats gave up, or is still trying) is replaced by a new
/// edge connection, attempted every [`RETRY_EVERY`]: an edge outlives a gateway or NATS restart.
const RECONNECT_AFTER: Duration = Duration::from_secs(3);
/// How often an edge without a connection tries to connect (each attempt is bounded: 10 s).
const RETRY_EVERY: Duration = Duration::from_secs(1);

fn builder(server: &str, key: &str, hb: u64) -> EdgeBuilder {
    let descriptor = json!({
        "name": "Echo", "version": "1.0.0", "description": "Echoes its payload",
        "methods": [{ "name": "Echo", "description": "Returns the payload" }, { "name": "Fail", "description": "Always fails" }],
    });
    EdgeBuilder::new(server, key)
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
}

#[tokio::main]
async fn main() {
    let mut server =
        std::env::var("DINK_SERVER").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let mut key = std::env::var("DINK_EDGE_KEY").unwrap_or_default();
    let mut hb = 30u64;
    let mut store: Option<PathBuf> = None;
    let mut collections: Vec<String> = Vec::new();
    let mut push_timeout = dink_edge::sync::client::PUSH_TIMEOUT;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--server", Some(v)) => server = v,
            ("--key", Some(v)) => key = v,
            ("--heartbeat-secs", Some(v)) => hb = v.parse().unwrap_or(30),
            ("--store", Some(v)) => store = Some(PathBuf::from(v)),
            ("--collection", Some(v)) => collections.push(v),
            ("--push-timeout-secs", Some(v)) => match v.parse::<u64>() {
                Ok(n) if n > 0 => push_timeout = Duration::from_secs(n),
                _ => {
                    eprintln!("dink-edge: --push-timeout-secs must be a positive integer\n{USAGE}");
                    std::process::exit(2);
                }
            },
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    if let Some(dir) = store {
        if collections.is_empty() {
            eprintln!("dink-edge: --store needs at least one --collection\n{USAGE}");
            std::process::exit(2);
        }
        run_sync(server, key, hb, dir, collections, push_timeout).await;
        // Exit now: the runtime would otherwise wait for the blocking stdin read to finish.
        std::process::exit(0);
    }
    let edge = builder(&server, &key, hb)
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

/// One stdout line (stdout carries only the control protocol in sync mode).
fn out(line: String) {
    println!("{line}");
}

async fn start_edge(
    server: &str,
    key: &str,
    hb: u64,
    kicks: &mpsc::UnboundedSender<String>,
) -> Result<Edge, String> {
    let kicks = kicks.clone();
    builder(server, key, hb)
        .on_kick(move |reason| {
            let _ = kicks.send(reason);
        })
        .start()
        .await
}

async fn run_sync(
    server: String,
    key: String,
    hb: u64,
    dir: PathBuf,
    collections: Vec<String>,
    push_timeout: Duration,
) {
    let parsed = match EdgeKey::parse(&key) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("dink-edge: {e}");
            std::process::exit(2);
        }
    };
    let store = match Store::open(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("dink-edge: {e}");
            std::process::exit(1);
        }
    };
    let engine = Arc::new(Engine::new(store, parsed.edge_id.clone(), collections));
    engine.on_sync_rejected(|r| {
        let mut line = json!({ "event": "rejected", "collection": r.collection, "doc_id": r.doc_id, "op_id": r.op_id });
        line["error"] = control::error_json(&SyncError {
            code: r.error.code.clone(),
            message: r.error.message.clone(),
            field: r.error.field.clone(),
        });
        out(line.to_string());
    });
    let (kick_tx, mut kick_rx) = mpsc::unbounded_channel::<String>();
    // An edge that cannot connect at start (gateway down, key refused) still starts: writes
    // apply locally and queue, and it retries every second until it is online.
    let mut edge = match start_edge(&server, &key, hb, &kick_tx).await {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!("dink-edge: {e} (starting offline; retrying)");
            None
        }
    };
    let sync = SyncClient::start_with(
        engine.clone(),
        parsed.clone(),
        edge.as_ref().map(|e| e.client.clone()),
        push_timeout,
    );
    let mut conn = sync.connection();
    tokio::spawn(async move {
        let mut seen_up = false;
        let mut was = false;
        while conn.changed().await.is_ok() {
            let up = *conn.borrow_and_update();
            if up == was {
                continue;
            }
            was = up;
            if up && !seen_up {
                seen_up = true;
                continue;
            }
            out(json!({ "event": if up { "reconnected" } else { "disconnected" } }).to_string());
        }
    });
    let online_line = json!({ "event": "online", "edge_id": parsed.edge_id }).to_string();
    let mut announced = edge.is_some();
    if announced {
        out(online_line.clone());
    }
    let mut want_online = true;
    let mut retry = tokio::time::interval(RETRY_EVERY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut health = tokio::time::interval(Duration::from_secs(1));
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut down_since: Option<tokio::time::Instant> = None;

    let (line_tx, mut lines) = mpsc::channel::<String>(64);
    tokio::spawn(async move {
        let mut reader = tokio::io::BufReader::new(tokio::io::stdin());
        let mut buf = Vec::new();
        loop {
            buf.clear();
            // Bytes, not `lines()`: a line that is not UTF-8 is answered as a bad line.
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => return, // stdin closed: run on until a signal or a kick
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    if line_tx.send(line).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut stdin_open = true;

    loop {
        tokio::select! {
            Some(reason) = kick_rx.recv() => {
                out(json!({ "event": "kicked", "reason": reason }).to_string());
                sync.shutdown().await;
                std::process::exit(3);
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = health.tick(), if edge.is_some() => {
                // async-nats reconnects by itself for a while; past RECONNECT_AFTER (or once it
                // gave up) the edge starts over with a new connection, as at start.
                let up = edge.as_ref().is_some_and(|e| {
                    e.client.connection_state() == async_nats::connection::State::Connected
                });
                if up {
                    down_since = None;
                } else if down_since.get_or_insert_with(tokio::time::Instant::now).elapsed() > RECONNECT_AFTER {
                    down_since = None;
                    sync.set_connection(None);
                    if let Some(e) = edge.take() {
                        e.shutdown().await;
                    }
                    eprintln!("dink-edge: connection down for {RECONNECT_AFTER:?}; reconnecting");
                }
            }
            _ = retry.tick(), if want_online && edge.is_none() => {
                if let Ok(e) = start_edge(&server, &key, hb, &kick_tx).await {
                    sync.set_connection(Some(e.client.clone()));
                    edge = Some(e);
                    if !announced {
                        announced = true;
                        out(online_line.clone());
                    }
                }
            }
            line = lines.recv(), if stdin_open => {
                let Some(line) = line else {
                    stdin_open = false;
                    continue;
                };
                if line.trim().is_empty() {
                    continue;
                }
                let req = match control::parse(&line) {
                    Ok(r) => r,
                    Err((id, e)) => {
                        out(control::reply(&id, Err(e)));
                        continue;
                    }
                };
                let result: Result<Value, SyncError> = match &req.cmd {
                    Command::Status => control::status_json(&engine, sync.is_connected()),
                    Command::Offline => {
                        want_online = false;
                        sync.set_connection(None);
                        if let Some(e) = edge.take() {
                            e.shutdown().await;
                        }
                        Ok(json!({}))
                    }
                    Command::Online => {
                        want_online = true;
                        if edge.is_none() {
                            match start_edge(&server, &key, hb, &kick_tx).await {
                                Ok(e) => {
                                    sync.set_connection(Some(e.client.clone()));
                                    edge = Some(e);
                                    if !announced {
                                        announced = true;
                                        out(online_line.clone());
                                    }
                                    Ok(json!({}))
                                }
                                Err(e) => Err(SyncError::new("UNAVAILABLE", e)),
                            }
                        } else {
                            Ok(json!({}))
                        }
                    }
                    Command::Sync { timeout_ms } => {
                        // Answered from its own task: waiting must not stop this loop from
                        // reconnecting or handling other commands meanwhile.
                        let waiter = sync.waiter();
                        let (id, timeout) = (req.id.clone(), Duration::from_millis(*timeout_ms));
                        tokio::spawn(async move {
                            let r = waiter.sync(timeout).await.map(|()| json!({}));
                            out(control::reply(&id, r));
                        });
                        continue;
                    }
                    Command::CallCenter { service, method, payload, count } => {
                        // Its own task, like `sync`: a slow Convex function must not stall
                        // the loop. `count` concurrent calls; the reply holds every result.
                        let Some(bridge) = edge.as_ref().map(|e| e.bridge.clone()) else {
                            out(control::reply(&req.id, Err(SyncError::new("UNAVAILABLE", "the edge is offline"))));
                            continue;
                        };
                        let (id, service, method, payload, count) =
                            (req.id.clone(), service.clone(), method.clone(), payload.clone(), *count);
                        tokio::spawn(async move {
                            let calls = (0..count).map(|_| bridge.call_center(&service, &method, payload.clone()));
                            let results: Vec<Value> = futures_util::future::join_all(calls)
                                .await
                                .into_iter()
                                .map(|r| match r {
                                    Ok(v) => json!({ "success": true, "result": v }),
                                    Err(e) => json!({ "success": false, "error": { "code": e.code, "message": e.message } }),
                                })
                                .collect();
                            let reply = json!({ "results": results, "token_fetches": bridge.token_fetches() });
                            out(control::reply(&id, Ok(reply)));
                        });
                        continue;
                    }
                    Command::Quit => {
                        out(control::reply(&req.id, Ok(json!({}))));
                        break;
                    }
                    cmd => {
                        let r = control::execute_local(&engine, cmd)
                            .unwrap_or_else(|| Err(SyncError::new("BAD_REQUEST", "unsupported")));
                        if matches!(cmd, Command::Put { .. } | Command::Delete { .. }) {
                            sync.wake();
                        }
                        r
                    }
                };
                out(control::reply(&req.id, result));
            }
        }
    }
    sync.shutdown().await;
    if let Some(e) = edge.take() {
        e.shutdown().await;
    }
}
