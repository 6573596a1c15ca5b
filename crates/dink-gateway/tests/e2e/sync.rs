//! (6) Edge sync over NATS (`$SYNC.<app>.<edge>.*`): the push relay to Convex's applyDelta
//! (batching, retries, bisection), changes/snapshot, and the convex-push fan-out to edges.
//!
//! Convex here is a TEST DOUBLE: no Convex backend runs in these tests. [`Double`] is a small
//! axum server on 127.0.0.1 that imitates the HTTP contract of docs/protocol.md's
//! `/api/dink/applyDelta` (dedupe by `(edge_id, op_id)` -> `duplicate`), `/api/dink/changes`
//! and `/api/dink/getSnapshot`, records the calls it gets, and can be told to fail.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use dink_gateway::natsd::NatsServer;
use dink_gateway::{Gateway, Running};
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::common::*;

// ---- the Convex test double ----------------------------------------------------------------

#[derive(Default)]
struct Double {
    /// The sync key it accepts (`Authorization: Bearer`).
    key: Mutex<String>,
    /// `(edge_id, op_id)` -> version it produced.
    applied: Mutex<HashMap<(String, String), u64>>,
    /// How often each `(edge_id, op_id)` was answered `applied`.
    applied_count: Mutex<HashMap<(String, String), u32>>,
    /// The deltas of every applyDelta request that reached the handler.
    calls: Mutex<Vec<Vec<Value>>>,
    /// Answer 503 to every applyDelta until then.
    fail_until: Mutex<Option<Instant>>,
    /// Never answer applyDelta while set.
    hang: AtomicBool,
    /// Answer 400 to any applyDelta request containing this op_id.
    poison: Mutex<Option<String>>,
    version: AtomicU64,
    /// `limit` of every changes request.
    change_limits: Mutex<Vec<u64>>,
}

type D = State<Arc<Double>>;

fn authorized(d: &Double, h: &HeaderMap) -> bool {
    let want = format!("Bearer {}", d.key.lock().expect("lock"));
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str())
}

fn unauthorized() -> (StatusCode, Json<Value>) {
    (
        StatusCode::UNAUTHORIZED,
        Json(
            json!({"version":1,"success":false,"error":{"code":"UNAUTHORIZED","message":"wrong sync key"}}),
        ),
    )
}

async fn apply_delta(
    State(d): D,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&d, &h) {
        return unauthorized();
    }
    while d.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Hanging: the gateway's attempt times out first; whatever it sent is never applied.
        if d.hang.load(Ordering::SeqCst) {
            continue;
        }
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"version":1,"success":false,"error":{"code":"INTERNAL","message":"was hanging"}}),
            ),
        );
    }
    let deltas = body["deltas"].as_array().cloned().unwrap_or_default();
    d.calls.lock().expect("lock").push(deltas.clone());
    if d.fail_until
        .lock()
        .expect("lock")
        .is_some_and(|t| Instant::now() < t)
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"version":1,"success":false,"error":{"code":"INTERNAL","message":"down"}})),
        );
    }
    let poison = d.poison.lock().expect("lock").clone();
    if let Some(p) = poison {
        if let Some(i) = deltas.iter().position(|x| x["op_id"] == p.as_str()) {
            return (
                StatusCode::BAD_REQUEST,
                Json(
                    json!({"version":1,"success":false,"error":{"code":"BAD_REQUEST","message":"poison","field":format!("deltas[{i}].delta")}}),
                ),
            );
        }
    }
    let mut results = Vec::new();
    for x in &deltas {
        let k = (
            x["edge_id"].as_str().unwrap_or("").to_string(),
            x["op_id"].as_str().unwrap_or("").to_string(),
        );
        let mut applied = d.applied.lock().expect("lock");
        match applied.get(&k) {
            Some(v) => results.push(json!({"op_id": k.1, "status": "duplicate", "version": v})),
            None => {
                let v = d.version.fetch_add(1, Ordering::SeqCst) + 1;
                applied.insert(k.clone(), v);
                *d.applied_count
                    .lock()
                    .expect("lock")
                    .entry(k.clone())
                    .or_default() += 1;
                results.push(json!({"op_id": k.1, "status": "applied", "version": v}));
            }
        }
    }
    (
        StatusCode::OK,
        Json(json!({"version":1,"success":true,"data":{"results": results}})),
    )
}

async fn changes(
    State(d): D,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&d, &h) {
        return unauthorized();
    }
    let limit: u64 = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    d.change_limits.lock().expect("lock").push(limit);
    // "big" pages: 200 kB of delta per change, so 100 of them are over NATS's 8 MiB.
    let delta = if q.get("collection").map(String::as_str) == Some("big") {
        "A".repeat(200_000)
    } else {
        "AAEC".into()
    };
    let items: Vec<Value> = (0..limit)
        .map(|i| json!({"doc_id": format!("d{i}"), "version": 1, "origin": "convex", "delta": delta, "format": 2}))
        .collect();
    (
        StatusCode::OK,
        Json(
            json!({"version":1,"success":true,"data":{"changes": items, "cursor": format!("c-{}", q.get("since").cloned().unwrap_or_default()), "more": false, "snapshot": false}}),
        ),
    )
}

async fn get_snapshot(
    State(d): D,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&d, &h) {
        return unauthorized();
    }
    let doc = q.get("doc_id").cloned().unwrap_or_default();
    if doc == "missing" {
        return (
            StatusCode::NOT_FOUND,
            Json(
                json!({"version":1,"success":false,"error":{"code":"NOT_FOUND","message":"no such document"}}),
            ),
        );
    }
    (
        StatusCode::OK,
        Json(
            json!({"version":1,"success":true,"data":{"doc_id": doc, "state": "AAEC", "state_vector": "AA==", "format": 2, "version": 1, "deleted": false, "is_diff": false}}),
        ),
    )
}

impl Double {
    /// Serve on a free 127.0.0.1 port; returns the state and the site URL.
    async fn start() -> (Arc<Double>, String, tokio::task::JoinHandle<()>) {
        let d = Arc::new(Double::default());
        let app = Router::new()
            .route("/api/dink/applyDelta", post(apply_delta))
            .route("/api/dink/changes", get(changes))
            .route("/api/dink/getSnapshot", get(get_snapshot))
            .with_state(d.clone());
        let (url, h) = serve_http(app).await;
        (d, url, h)
    }

    fn calls(&self) -> Vec<Vec<Value>> {
        self.calls.lock().expect("lock").clone()
    }

    fn applied_times(&self, edge: &str, op: &str) -> u32 {
        self.applied_count
            .lock()
            .expect("lock")
            .get(&(edge.to_string(), op.to_string()))
            .copied()
            .unwrap_or(0)
    }
}

// ---- harness -------------------------------------------------------------------------------

struct SyncEnv {
    env: Env,
    double: Arc<Double>,
    _server: tokio::task::JoinHandle<()>,
    site: String,
}

fn sync_config(
    nats: &NatsServer,
    dir: std::path::PathBuf,
    batch_ms: u64,
    deadline: Duration,
) -> dink_gateway::Config {
    sync_config_with(nats, dir, batch_ms, deadline, Duration::from_secs(5))
}

fn sync_config_with(
    nats: &NatsServer,
    dir: std::path::PathBuf,
    batch_ms: u64,
    deadline: Duration,
    attempt: Duration,
) -> dink_gateway::Config {
    let mut cfg = config(nats, dir);
    cfg.heartbeat_timeout = Duration::from_secs(60);
    cfg.sync_batch_ms = batch_ms;
    cfg.sync_retry_deadline = deadline;
    cfg.convex_attempt_timeout = attempt;
    cfg
}

impl SyncEnv {
    async fn start(batch_ms: u64, deadline: Duration) -> SyncEnv {
        Self::start_with(batch_ms, deadline, Duration::from_secs(5)).await
    }

    async fn start_with(batch_ms: u64, deadline: Duration, attempt: Duration) -> SyncEnv {
        let dir = TempDir::new();
        let nats = start_nats(&dir);
        let gw = Gateway::start(sync_config_with(
            &nats,
            dir.0.join("gw"),
            batch_ms,
            deadline,
            attempt,
        ))
        .await
        .expect("gateway");
        let (double, site, server) = Double::start().await;
        let env = Env {
            gw,
            nats,
            _dir: dir,
        };
        SyncEnv {
            env,
            double,
            _server: server,
            site,
        }
    }

    /// Create `app` with Convex pointing at the double; returns the sync key.
    async fn app(&self, app: &str) -> String {
        let g = &self.env.gw.gateway;
        g.create_app(app, "", Default::default())
            .await
            .expect("create app");
        let v = g
            .configure_convex(app, "", &self.site, "")
            .await
            .expect("configure");
        let key = v["sync_key"].as_str().expect("sync key").to_string();
        *self.double.key.lock().expect("lock") = key.clone();
        key
    }

    /// An online edge: connected with its key, presence registered.
    async fn edge(&self, app: &str, edge: &str) -> (async_nats::Client, String) {
        online_edge(&self.env, app, edge).await
    }
}

async fn online_edge(env: &Env, app: &str, edge: &str) -> (async_nats::Client, String) {
    let key = env.key(app, "edge", Some(edge), None).await;
    let c = connect(&env.url(), &key).await.expect("edge connects");
    let r = api(&c, &key, "$EDGE.PRESENCE.REGISTER", json!({"name": edge}))
        .await
        .expect("register");
    assert_eq!(r["success"], true, "{r}");
    (c, key)
}

/// A `$SYNC` request; the reply envelope.
async fn req(c: &async_nats::Client, subject: &str, body: Value, limit: Duration) -> Value {
    let msg = tokio::time::timeout(
        limit,
        c.request(subject.to_string(), body.to_string().into()),
    )
    .await
    .unwrap_or_else(|_| panic!("no reply on {subject} within {limit:?}"))
    .expect("request");
    json(&String::from_utf8_lossy(&msg.payload))
}

fn delta(op: &str) -> Value {
    json!({"op_id": op, "collection": "tasks", "doc_id": "task-1", "delta": "AAEC", "format": 2})
}

fn push_body(ops: &[&str]) -> Value {
    json!({"version": 1, "deltas": ops.iter().map(|o| delta(o)).collect::<Vec<_>>()})
}

fn event(id: &str, doc: &str, version: u64, origin: Option<&str>) -> Value {
    let mut e = json!({"event_id": id, "collection": "tasks", "doc_id": doc, "delta": "AAEC", "format": 2, "version": version});
    if let Some(o) = origin {
        e["origin_edge_id"] = json!(o);
    }
    e
}

async fn convex_push(http_addr: &str, key: &str, events: Vec<Value>) {
    let body = json!({"version": 1, "app_sync": true, "events": events}).to_string();
    let (s, b) = http(
        http_addr,
        "POST",
        "/api/sync/convex-push",
        Some(key),
        Some(&body),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

/// Events received on `sub` until `n` arrived or `limit` passed.
async fn collect(sub: &mut async_nats::Subscriber, n: usize, limit: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout_at(deadline, sub.next()).await {
            Ok(Some(m)) => {
                let v = json(&String::from_utf8_lossy(&m.payload));
                assert_eq!(v["version"], 1, "{v}");
                out.extend(v["events"].as_array().cloned().unwrap_or_default());
            }
            _ => break,
        }
    }
    out
}

async fn status(env: &Env) -> Value {
    let (s, b) = http(&env.http(), "GET", "/status.json", None, None).await;
    assert_eq!(s, 200, "{b}");
    json(&b)
}

fn app_status<'a>(v: &'a Value, app: &str) -> &'a Value {
    v["apps"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["app_id"] == app))
        .unwrap_or_else(|| panic!("no app {app} in {v}"))
}

// ---- tests ---------------------------------------------------------------------------------

#[tokio::test]
async fn push_results_are_relayed_per_delta() {
    let t = SyncEnv::start(5, Duration::from_secs(5)).await;
    t.app("app-a").await;
    let (e1, _) = t.edge("app-a", "e1").await;

    let r = req(
        &e1,
        "$SYNC.app-a.e1.hello",
        json!({"version": 1}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        r,
        json!({"version":1,"success":true,"data":{"head_seq":0,"convex_configured":true}})
    );

    let mut body = push_body(&["op-1", "op-2", "op-3"]);
    body["deltas"][1]["delta"] = json!("not base64!");
    let r = req(&e1, "$SYNC.app-a.e1.push", body, Duration::from_secs(10)).await;
    assert_eq!(r["success"], true, "{r}");
    let res = r["data"]["results"].as_array().expect("results").clone();
    assert_eq!(res.len(), 3, "{r}");
    assert_eq!(res[0]["status"], "applied", "{r}");
    assert_eq!(res[0]["op_id"], "op-1");
    assert_eq!(res[1]["status"], "rejected", "{r}");
    assert_eq!(res[1]["error"]["code"], "BAD_REQUEST", "{r}");
    assert_eq!(res[1]["error"]["field"], "deltas[1].delta", "{r}");
    assert_eq!(res[2]["status"], "applied", "{r}");
    let calls = t.double.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].len(), 2, "the invalid delta is not sent");
    assert!(calls[0].iter().all(|d| d["edge_id"] == "e1"), "{calls:?}");

    // A resend is a duplicate; an over-large delta is TOO_LARGE without a call.
    let mut body = push_body(&["op-1", "op-big"]);
    body["deltas"][1]["delta"] = json!("A".repeat(1_500_000));
    let r = req(&e1, "$SYNC.app-a.e1.push", body, Duration::from_secs(10)).await;
    assert_eq!(r["data"]["results"][0]["status"], "duplicate", "{r}");
    assert_eq!(r["data"]["results"][1]["error"]["code"], "TOO_LARGE", "{r}");

    // Malformed requests.
    let r = req(
        &e1,
        "$SYNC.app-a.e1.push",
        json!({"version": 2, "deltas": []}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r["error"]["code"], "UNSUPPORTED_VERSION", "{r}");
    let r = req(
        &e1,
        "$SYNC.app-a.e1.push",
        json!({"version": 1, "deltas": [], "x": 1}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r["error"]["code"], "BAD_REQUEST", "{r}");
    let r = req(
        &e1,
        "$SYNC.app-a.e1.push",
        json!({"version": 1, "deltas": []}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r["error"]["code"], "BAD_REQUEST", "{r}");

    // snapshot and changes are relayed; an over-large page is fetched again with a smaller limit.
    let r = req(
        &e1,
        "$SYNC.app-a.e1.snapshot",
        json!({"version": 1, "collection": "tasks", "doc_id": "task-1"}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r["data"]["doc_id"], "task-1", "{r}");
    let r = req(
        &e1,
        "$SYNC.app-a.e1.snapshot",
        json!({"version": 1, "collection": "tasks", "doc_id": "missing"}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r["error"]["code"], "NOT_FOUND", "{r}");
    let r = req(
        &e1,
        "$SYNC.app-a.e1.changes",
        json!({"version": 1, "collection": "tasks", "since": "a+b/c=", "limit": 3}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        r["data"]["changes"].as_array().map(Vec::len),
        Some(3),
        "{r}"
    );
    assert_eq!(
        r["data"]["cursor"], "c-a+b/c=",
        "query values are percent-encoded: {r}"
    );
    let r = req(
        &e1,
        "$SYNC.app-a.e1.changes",
        json!({"version": 1, "collection": "big"}),
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(
        r["success"],
        true,
        "{}",
        &r.to_string()[..200.min(r.to_string().len())]
    );
    assert_eq!(r["data"]["changes"].as_array().map(Vec::len), Some(25));
    assert_eq!(
        *t.double.change_limits.lock().expect("lock"),
        vec![3, 100, 50, 25]
    );

    // An app without Convex.
    let g = &t.env.gw.gateway;
    g.create_app("app-n", "", Default::default())
        .await
        .expect("app");
    let (en, _) = online_edge(&t.env, "app-n", "n1").await;
    let r = req(
        &en,
        "$SYNC.app-n.n1.hello",
        json!({"version": 1}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r["data"]["convex_configured"], false, "{r}");
    let r = req(
        &en,
        "$SYNC.app-n.n1.push",
        push_body(&["x"]),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r["error"]["code"], "NOT_CONFIGURED", "{r}");

    let (_, m) = http(&t.env.http(), "GET", "/metrics", None, None).await;
    assert!(
        m.contains("dink_sync_deltas_total{status=\"applied\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("dink_sync_deltas_total{status=\"duplicate\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("dink_sync_deltas_total{status=\"rejected\"} 2"),
        "{m}"
    );
    assert!(m.contains("dink_sync_batch_size_count 2"), "{m}");
    assert!(
        m.contains("dink_sync_convex_requests_total{outcome=\"ok\"}"),
        "{m}"
    );
}

#[tokio::test]
async fn deltas_of_two_edges_share_one_convex_request() {
    let t = SyncEnv::start(300, Duration::from_secs(5)).await;
    t.app("app-a").await;
    let (e1, _) = t.edge("app-a", "e1").await;
    let (e2, _) = t.edge("app-a", "e2").await;
    let (r1, r2) = tokio::join!(
        req(
            &e1,
            "$SYNC.app-a.e1.push",
            push_body(&["a1", "a2"]),
            Duration::from_secs(10)
        ),
        req(
            &e2,
            "$SYNC.app-a.e2.push",
            push_body(&["b1"]),
            Duration::from_secs(10)
        ),
    );
    assert_eq!(r1["data"]["results"][1]["status"], "applied", "{r1}");
    assert_eq!(r2["data"]["results"][0]["status"], "applied", "{r2}");
    assert_eq!(r2["data"]["results"][0]["op_id"], "b1", "{r2}");
    let calls = t.double.calls();
    assert_eq!(calls.len(), 1, "one applyDelta request: {calls:?}");
    let mut edges: Vec<&str> = calls[0]
        .iter()
        .filter_map(|d| d["edge_id"].as_str())
        .collect();
    edges.sort();
    assert_eq!(edges, ["e1", "e1", "e2"]);
}

#[tokio::test]
async fn transient_failures_are_retried_and_applied_once() {
    let t = SyncEnv::start_with(5, Duration::from_secs(15), Duration::from_millis(700)).await;
    t.app("app-a").await;
    let (e1, _) = t.edge("app-a", "e1").await;

    // 503 for 1.5 s: no answer before Convex accepts, then `applied` once.
    *t.double.fail_until.lock().expect("lock") = Some(Instant::now() + Duration::from_millis(1500));
    let started = Instant::now();
    let r = req(
        &e1,
        "$SYNC.app-a.e1.push",
        push_body(&["op-1"]),
        Duration::from_secs(15),
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "answered early: {r}"
    );
    assert_eq!(r["data"]["results"][0]["status"], "applied", "{r}");
    assert!(t.double.calls().len() > 1, "no retry happened");
    assert_eq!(t.double.applied_times("e1", "op-1"), 1);

    // Convex hangs (attempt timeout 700 ms), then recovers.
    t.double.hang.store(true, Ordering::SeqCst);
    let d = t.double.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        d.hang.store(false, Ordering::SeqCst);
    });
    let started = Instant::now();
    let r = req(
        &e1,
        "$SYNC.app-a.e1.push",
        push_body(&["op-2"]),
        Duration::from_secs(15),
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "answered early: {r}"
    );
    assert_eq!(r["data"]["results"][0]["status"], "applied", "{r}");
    assert_eq!(t.double.applied_times("e1", "op-2"), 1);
    // The edge resends: duplicate, still applied once.
    let r = req(
        &e1,
        "$SYNC.app-a.e1.push",
        push_body(&["op-2"]),
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(r["data"]["results"][0]["status"], "duplicate", "{r}");
    assert_eq!(t.double.applied_times("e1", "op-2"), 1);
}

#[tokio::test]
async fn convex_down_past_the_deadline_is_unavailable() {
    let t = SyncEnv::start(5, Duration::from_secs(2)).await;
    t.app("app-a").await;
    let (e1, _) = t.edge("app-a", "e1").await;
    *t.double.fail_until.lock().expect("lock") = Some(Instant::now() + Duration::from_secs(3600));
    let started = Instant::now();
    let r = req(
        &e1,
        "$SYNC.app-a.e1.push",
        push_body(&["op-1", "op-2"]),
        Duration::from_secs(15),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(r["success"], false, "{r}");
    assert_eq!(r["error"]["code"], "UNAVAILABLE", "{r}");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(8),
        "{took:?}"
    );
    assert_eq!(t.double.applied_times("e1", "op-1"), 0);

    // A wrong sync key (401) is UNAVAILABLE at once, with the reason.
    *t.double.fail_until.lock().expect("lock") = None;
    *t.double.key.lock().expect("lock") = "another key".into();
    let r = req(
        &e1,
        "$SYNC.app-a.e1.push",
        push_body(&["op-1"]),
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(r["error"]["code"], "UNAVAILABLE", "{r}");
    assert!(
        r["error"]["message"].as_str().unwrap_or("").contains("401"),
        "{r}"
    );

    let s = status(&t.env).await;
    let a = app_status(&s, "app-a");
    assert_eq!(a["deltas"]["unavailable"], 3, "{a}");
    assert!(
        a["last_convex_error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("401"),
        "{a}"
    );
}

#[tokio::test]
async fn a_bad_batch_is_bisected_to_the_bad_delta() {
    let t = SyncEnv::start(5, Duration::from_secs(5)).await;
    t.app("app-a").await;
    let (e1, _) = t.edge("app-a", "e1").await;
    *t.double.poison.lock().expect("lock") = Some("op-3".into());
    let ops = ["op-1", "op-2", "op-3", "op-4", "op-5"];
    let r = req(
        &e1,
        "$SYNC.app-a.e1.push",
        push_body(&ops),
        Duration::from_secs(10),
    )
    .await;
    let res = r["data"]["results"].as_array().expect("results").clone();
    for (i, op) in ops.iter().enumerate() {
        assert_eq!(res[i]["op_id"], *op, "{r}");
        if *op == "op-3" {
            assert_eq!(res[i]["status"], "rejected", "{r}");
            assert_eq!(res[i]["error"]["code"], "BAD_REQUEST", "{r}");
            assert_eq!(res[i]["error"]["message"], "poison", "{r}");
        } else {
            assert_eq!(res[i]["status"], "applied", "{r}");
            assert_eq!(t.double.applied_times("e1", op), 1);
        }
    }
    let (s, html) = http(&t.env.http(), "GET", "/status", None, None).await;
    assert_eq!(s, 200);
    assert!(html.contains("data-app=\"app-a\""), "{html}");
    assert!(
        html.contains("<dd data-field=\"rejected\">1</dd>"),
        "{html}"
    );
    assert!(html.contains("<td>op-3</td>"), "{html}");
}

#[tokio::test]
async fn convex_push_fans_out_to_online_edges() {
    let t = SyncEnv::start(5, Duration::from_secs(5)).await;
    let key = t.app("app-a").await;
    let (e1, _) = t.edge("app-a", "e1").await;
    let (e2, _) = t.edge("app-a", "e2").await;
    let (e3, k3) = t.edge("app-a", "e3").await;
    let r = api(&e3, &k3, "$EDGE.PRESENCE.DEREGISTER", json!({}))
        .await
        .expect("dereg");
    assert_eq!(r["success"], true, "{r}");
    let mut s1 = e1.subscribe("$SYNC.app-a.e1.events").await.expect("sub");
    let mut s2 = e2.subscribe("$SYNC.app-a.e2.events").await.expect("sub");
    let mut s3 = e3.subscribe("$SYNC.app-a.e3.events").await.expect("sub");
    for c in [&e1, &e2, &e3] {
        c.flush().await.expect("flush");
    }
    let events = vec![
        event("ev-1", "task-1", 1, Some("e1")),
        event("ev-2", "task-2", 4, None),
        event("ev-3", "task-1", 2, Some("e2")),
    ];
    convex_push(&t.env.http(), &key, events.clone()).await;
    let got1 = collect(&mut s1, 3, Duration::from_secs(10)).await;
    let got2 = collect(&mut s2, 3, Duration::from_secs(10)).await;
    let seqs = |v: &[Value]| {
        v.iter()
            .map(|e| e["seq"].as_u64().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(&got1), [1, 2, 3], "{got1:?}");
    assert_eq!(seqs(&got2), [1, 2, 3], "{got2:?}");
    // The origin edge gets its own event without the delta.
    assert_eq!(
        got1[0],
        json!({"seq":1,"collection":"tasks","doc_id":"task-1","version":1,"origin_edge_id":"e1"})
    );
    assert_eq!(got1[1]["delta"], "AAEC");
    assert_eq!(got1[1].get("origin_edge_id"), None);
    assert_eq!(got2[0]["delta"], "AAEC");
    assert_eq!(got2[0]["format"], 2);
    assert_eq!(got2[2].get("delta"), None, "{got2:?}");
    assert_eq!(got2[2]["version"], 2);

    // The same events again (an outbox retry) are stored once: nothing new is published.
    convex_push(&t.env.http(), &key, events).await;
    assert!(collect(&mut s1, 1, Duration::from_millis(1500))
        .await
        .is_empty());
    // The offline edge got nothing.
    assert!(collect(&mut s3, 1, Duration::from_millis(200))
        .await
        .is_empty());

    let r = req(
        &e1,
        "$SYNC.app-a.e1.hello",
        json!({"version": 1}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r["data"]["head_seq"], 3, "{r}");

    let mut acked = json!(null);
    for _ in 0..50 {
        let s = status(&t.env).await;
        acked = app_status(&s, "app-a").clone();
        if acked["fanout"]["acked_seq"] == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(acked["fanout"]["head_seq"], 3, "{acked}");
    assert_eq!(acked["fanout"]["acked_seq"], 3, "{acked}");
    assert_eq!(acked["fanout"]["backlog"], 0, "{acked}");
    assert_eq!(acked["edges"]["online"], 2, "{acked}");
    assert_eq!(acked["edges"]["total"], 3, "{acked}");
    let (_, m) = http(&t.env.http(), "GET", "/metrics", None, None).await;
    assert!(m.contains("dink_sync_fanout_events_total 6"), "{m}");
}

#[tokio::test]
async fn two_gateways_keep_fanout_order_and_answer_each_request_once() {
    let t = SyncEnv::start(5, Duration::from_secs(5)).await;
    let key = t.app("app-a").await;
    let dir2 = TempDir::new();
    let gw2: Running = Gateway::start(sync_config(
        &t.env.nats,
        dir2.0.clone(),
        5,
        Duration::from_secs(5),
    ))
    .await
    .expect("second gateway");
    let http2 = gw2.http_addr.to_string();
    let (e1, _) = t.edge("app-a", "e1").await;
    let mut sub = e1.subscribe("$SYNC.app-a.e1.events").await.expect("sub");
    e1.flush().await.expect("flush");

    // 60 events in 12 convex-pushes, alternating between the gateways.
    for i in 0..12u64 {
        let batch: Vec<Value> = (0..5u64)
            .map(|j| {
                let n = i * 5 + j + 1;
                event(&format!("ev-{n}"), &format!("doc-{n}"), n, None)
            })
            .collect();
        let addr = if i % 2 == 0 {
            t.env.http()
        } else {
            http2.clone()
        };
        convex_push(&addr, &key, batch).await;
    }
    let got = collect(&mut sub, 60, Duration::from_secs(20)).await;
    let seqs: Vec<u64> = got.iter().map(|e| e["seq"].as_u64().unwrap_or(0)).collect();
    assert_eq!(seqs, (1..=60).collect::<Vec<u64>>());
    let versions: Vec<u64> = got
        .iter()
        .map(|e| e["version"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(versions, (1..=60).collect::<Vec<u64>>());
    assert!(
        collect(&mut sub, 1, Duration::from_millis(800))
            .await
            .is_empty(),
        "an event was sent twice"
    );

    // 10 push requests, all replies to one inbox: exactly 10 replies.
    let inbox = e1.new_inbox();
    let mut replies = e1.subscribe(inbox.clone()).await.expect("sub");
    e1.flush().await.expect("flush");
    for i in 0..10 {
        e1.publish_with_reply(
            "$SYNC.app-a.e1.push",
            inbox.clone(),
            push_body(&[&format!("p-{i}")]).to_string().into(),
        )
        .await
        .expect("publish");
    }
    e1.flush().await.expect("flush");
    let mut n = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while n < 10 {
        match tokio::time::timeout_at(deadline, replies.next()).await {
            Ok(Some(m)) => {
                let v = json(&String::from_utf8_lossy(&m.payload));
                assert_eq!(v["data"]["results"][0]["status"], "applied", "{v}");
                n += 1;
            }
            _ => break,
        }
    }
    assert_eq!(n, 10);
    assert!(
        tokio::time::timeout(Duration::from_millis(800), replies.next())
            .await
            .is_err(),
        "a request was answered twice"
    );
    for i in 0..10 {
        assert_eq!(t.double.applied_times("e1", &format!("p-{i}")), 1);
    }
    drop(gw2);
}

#[tokio::test]
async fn sync_subjects_are_isolated_per_edge() {
    let t = SyncEnv::start(5, Duration::from_secs(5)).await;
    t.app("app-a").await;
    let k1 = t.env.key("app-a", "edge", Some("e1"), None).await;
    let (e1, mut ev) = connect_watching(&t.env.url(), &k1).await;
    let (e2, _) = t.edge("app-a", "e2").await;
    let bus = &t.env.gw.gateway.bus;

    // e1 cannot push as e2: the publish is refused, nothing reaches Convex.
    e1.publish(
        "$SYNC.app-a.e2.push",
        push_body(&["forged"]).to_string().into(),
    )
    .await
    .expect("pub call");
    e1.flush().await.expect("flush");
    assert!(expect_event(&mut ev, "permissions violation", Duration::from_secs(2)).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(t.double.calls().is_empty(), "a forged push reached Convex");

    // ... nor read e2's events.
    let mut spy = e1
        .subscribe("$SYNC.app-a.e2.events")
        .await
        .expect("sub call");
    e1.flush().await.expect("flush");
    assert!(expect_event(&mut ev, "permissions violation", Duration::from_secs(2)).await);
    let mut own = e2.subscribe("$SYNC.app-a.e2.events").await.expect("sub");
    e2.flush().await.expect("flush");
    // e2 may publish on its own subjects too.
    e2.publish("$SYNC.app-a.e2.events", "self".into())
        .await
        .expect("pub");
    e2.flush().await.expect("flush");
    let m = tokio::time::timeout(Duration::from_secs(2), own.next()).await;
    assert!(matches!(m, Ok(Some(_))), "e2 reads its own subjects");
    bus.publish(
        "$SYNC.app-a.e2.events",
        r#"{"version":1,"events":[]}"#.into(),
    )
    .await
    .expect("pub");
    bus.flush().await.expect("flush");
    assert!(
        tokio::time::timeout(Duration::from_secs(2), own.next())
            .await
            .is_ok(),
        "e2 reads its own events"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(400), spy.next())
            .await
            .is_err(),
        "e1 read e2's events"
    );

    // Its own subjects work.
    let r = req(
        &e1,
        "$SYNC.app-a.e1.hello",
        json!({"version": 1}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r["success"], true, "{r}");
}
