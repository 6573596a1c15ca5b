//! Edge sync over NATS (docs/protocol.md, "Edge sync over NATS"): the `$SYNC.<app>.<edge>.hello`,
//! `.push`, `.changes` and `.snapshot` request handlers (queue group `dink-gateway`), the
//! per-app batcher that relays edge deltas to Convex's `applyDelta`, and the in-process
//! per-app counters shown on the status page.
//!
//! App and edge come from the subject: the NATS permissions let an edge key use only
//! `$SYNC.<its app>.<its edge>.>` (keys.rs), so the subject names the caller.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::Message;
use base64::Engine;
use hyper::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::convex::{enc, HttpClient};
use crate::gateway::Gateway;
use crate::store::ConvexConfig;
use crate::types::{now_ms, rfc3339_ms};

const SUBJECTS: &[&str] = &[
    "$SYNC.*.*.hello",
    "$SYNC.*.*.push",
    "$SYNC.*.*.changes",
    "$SYNC.*.*.snapshot",
];
const CONCURRENCY: usize = 512;
/// Most deltas in one push request and in one applyDelta request.
pub const MAX_DELTAS: usize = 500;
/// Most body bytes of one applyDelta request (Convex's `maxRequestBytes` is 4 MiB).
pub const MAX_BATCH_BYTES: usize = 3_670_016;
/// Largest decoded delta (Convex's `maxDeltaBytes`).
pub const MAX_DELTA_BYTES: usize = 1024 * 1024;
const MAX_ID: usize = 256;
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const RECENT_REJECTIONS: usize = 20;
/// Edges' presence is read at most this often per app (fan-out).
const ONLINE_CACHE: Duration = Duration::from_secs(1);

/// A `{code, message, field?}` error object of the versioned envelope.
pub type SyncError = Value;
pub type SyncResult = Result<Value, SyncError>;

pub fn error(code: &str, message: impl Into<String>) -> SyncError {
    json!({ "code": code, "message": message.into() })
}

fn error_field(code: &str, message: impl Into<String>, field: &str) -> SyncError {
    json!({ "code": code, "message": message.into(), "field": field })
}

/// The versioned envelope of docs/protocol.md.
pub fn envelope(r: SyncResult) -> Value {
    match r {
        Ok(data) => json!({ "version": 1, "success": true, "data": data }),
        Err(e) => json!({ "version": 1, "success": false, "error": e }),
    }
}

/// Per-app counters of this process (status page, CONVEX_STATUS).
#[derive(Default, Clone, Debug)]
pub struct AppStats {
    pub applied: u64,
    pub duplicate: u64,
    pub noop: u64,
    pub rejected: u64,
    pub unavailable: u64,
    pub fanout_events: u64,
    /// `(unix ms, message)` of the last failed Convex call.
    pub last_error: Option<(i64, String)>,
    /// The last [`RECENT_REJECTIONS`] rejected deltas, newest last.
    pub rejections: VecDeque<Value>,
}

/// The sync relay's in-process state (one per [`Gateway`]).
#[derive(Default)]
pub struct SyncState {
    pub http: HttpClient,
    batchers: Mutex<HashMap<String, mpsc::Sender<Vec<Entry>>>>,
    stats: Mutex<HashMap<String, AppStats>>,
    online: Mutex<HashMap<String, (Instant, Vec<String>)>>,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl SyncState {
    /// Stop the batchers and fan-out loops of this process.
    pub fn shutdown(&self) {
        if let Ok(mut b) = self.batchers.lock() {
            b.clear();
        }
        if let Ok(mut t) = self.tasks.lock() {
            for h in t.drain(..) {
                h.abort();
            }
        }
    }

    pub fn track(&self, h: AbortHandle) {
        if let Ok(mut t) = self.tasks.lock() {
            t.retain(|x| !x.is_finished());
            t.push(h);
        }
    }

    /// A copy of the app's counters.
    pub fn stats(&self, app: &str) -> AppStats {
        self.stats
            .lock()
            .ok()
            .and_then(|s| s.get(app).cloned())
            .unwrap_or_default()
    }

    pub fn with_stats(&self, app: &str, f: impl FnOnce(&mut AppStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(s.entry(app.to_string()).or_default());
        }
    }

    fn convex_error(&self, app: &str, message: &str) {
        self.with_stats(app, |s| {
            s.last_error = Some((now_ms(), message.to_string()))
        });
    }
}

pub async fn spawn(gw: Arc<Gateway>) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let bus = gw.bus.clone();
    crate::serve::queue(&bus, SUBJECTS, CONCURRENCY, move |msg| {
        let gw = gw.clone();
        async move {
            let limit =
                gw.cfg.sync_retry_deadline + gw.cfg.convex_attempt_timeout + Duration::from_secs(5);
            let out = match tokio::time::timeout(limit, handle(&gw, &msg)).await {
                Ok(r) => envelope(r),
                Err(_) => envelope(Err(error("TIMEOUT", "the gateway took too long"))),
            };
            if let Some(r) = msg.reply.clone() {
                let _ = gw.bus.publish(r, out.to_string().into()).await;
            }
        }
    })
    .await
}

/// The body's `version`: 1, or the request error.
fn check_version(v: &Value) -> Result<(), SyncError> {
    match v.get("version") {
        Some(x) if x == &json!(1) => Ok(()),
        Some(x) if x.is_i64() || x.is_u64() => Err(error_field(
            "UNSUPPORTED_VERSION",
            "version must be 1",
            "version",
        )),
        Some(_) => Err(error_field(
            "BAD_REQUEST",
            "version must be an integer",
            "version",
        )),
        None => Err(error_field("BAD_REQUEST", "version is missing", "version")),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<(Value, T), SyncError> {
    let raw: Value = serde_json::from_slice(body)
        .map_err(|e| error("BAD_REQUEST", format!("body is not JSON: {e}")))?;
    check_version(&raw)?;
    let t = serde_json::from_value(raw.clone())
        .map_err(|e| error("BAD_REQUEST", format!("bad request body: {e}")))?;
    Ok((raw, t))
}

async fn handle(gw: &Arc<Gateway>, msg: &Message) -> SyncResult {
    let parts: Vec<&str> = msg.subject.as_str().split('.').collect();
    let ["$SYNC", app, edge, op] = parts.as_slice() else {
        return Err(error("BAD_REQUEST", "expected $SYNC.<app>.<edge>.<op>"));
    };
    let (app, edge) = (app.to_string(), edge.to_string());
    if !crate::keys::valid_id(&app) || !crate::keys::valid_id(&edge) {
        return Err(error("BAD_REQUEST", "bad app or edge id in the subject"));
    }
    let body = &msg.payload[..];
    match *op {
        "hello" => {
            let _: (Value, Map<String, Value>) = parse(body)?;
            // An edge greeting this gateway should get the next fan-out batch: forget the
            // cached online list (another gateway holding the fan-out lease refreshes within
            // ONLINE_CACHE; the edge's seq chain and periodic hello cover that window).
            if let Ok(mut c) = gw.sync.online.lock() {
                c.remove(&app);
            }
            let configured = convex_config(gw, &app).await?.is_some();
            Ok(json!({ "head_seq": head_seq(gw, &app).await, "convex_configured": configured }))
        }
        "push" => push(gw, &app, &edge, body).await,
        "changes" => changes(gw, &app, body).await,
        "snapshot" => snapshot(gw, &app, body).await,
        _ => Err(error("NOT_FOUND", format!("unknown operation {op}"))),
    }
}

/// The app's fan-out head: its push stream's last sequence (0 without a stream).
pub async fn head_seq(gw: &Gateway, app: &str) -> u64 {
    match gw.store.push_stream(app).await {
        Some(mut s) => match tokio::time::timeout(Duration::from_secs(5), s.info()).await {
            Ok(Ok(i)) => i.state.last_sequence,
            _ => 0,
        },
        None => 0,
    }
}

/// The app's Convex config when it has an http(s) site URL and a sync key; `None` otherwise
/// (not configured).
async fn convex_config(gw: &Gateway, app: &str) -> Result<Option<ConvexConfig>, SyncError> {
    let c = gw
        .store
        .convex_config(app)
        .await
        .map_err(|e| error("UNAVAILABLE", e))?;
    Ok(c.filter(|c| {
        (c.site_url.starts_with("http://") || c.site_url.starts_with("https://"))
            && !c.sync_key.is_empty()
    }))
}

fn not_configured(app: &str) -> SyncError {
    error(
        "NOT_CONFIGURED",
        format!("app {app:?} has no Convex deployment configured ($ADMIN.APPS.CONFIGURE_CONVEX)"),
    )
}

// ---- push ----------------------------------------------------------------------------------

/// One valid delta on its way to Convex.
struct Entry {
    job: Arc<Job>,
    idx: usize,
    /// The applyDelta wire delta (with `edge_id`).
    wire: Value,
    bytes: usize,
}

/// One push request waiting for its results.
struct Job {
    inner: Mutex<JobInner>,
}

struct JobInner {
    results: Vec<Value>,
    missing: usize,
    error: Option<SyncError>,
    tx: Option<oneshot::Sender<SyncResult>>,
}

impl Job {
    fn finish(&self, idx: usize, r: Result<Value, SyncError>) {
        let Ok(mut j) = self.inner.lock() else {
            return;
        };
        match r {
            Ok(v) => {
                if let Some(slot) = j.results.get_mut(idx) {
                    *slot = v;
                }
            }
            Err(e) => {
                if j.error.is_none() {
                    j.error = Some(e);
                }
            }
        }
        j.missing = j.missing.saturating_sub(1);
        if j.missing == 0 {
            let out = match j.error.take() {
                Some(e) => Err(e),
                None => Ok(json!({ "results": std::mem::take(&mut j.results) })),
            };
            if let Some(tx) = j.tx.take() {
                let _ = tx.send(out);
            }
        }
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
}

fn rejected(op_id: &Value, code: &str, message: String, field: Option<String>) -> Value {
    let mut e = json!({ "code": code, "message": message });
    if let Some(f) = field {
        e["field"] = Value::String(f);
    }
    json!({ "op_id": op_id, "status": "rejected", "error": e })
}

/// Validate one delta as Convex's router would; the applyDelta wire delta, or its rejection.
fn validate(i: usize, d: &Value, edge: &str) -> Result<Value, Value> {
    let op_id = d.get("op_id").cloned().unwrap_or(Value::Null);
    let bad = |m: String, f: &str| {
        rejected(
            &op_id,
            "BAD_REQUEST",
            m,
            Some(format!("deltas[{i}]{}", if f.is_empty() { "" } else { "." }) + f),
        )
    };
    let Some(o) = d.as_object() else {
        return Err(bad("a delta must be an object".into(), ""));
    };
    for k in o.keys() {
        if !matches!(
            k.as_str(),
            "op_id" | "collection" | "doc_id" | "delta" | "format"
        ) {
            return Err(bad(format!("unknown field {k:?}"), k));
        }
    }
    for f in ["op_id", "collection", "doc_id"] {
        match o.get(f) {
            Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= MAX_ID => {}
            Some(Value::String(_)) => {
                return Err(bad(format!("{f} must be 1-{MAX_ID} characters"), f))
            }
            _ => return Err(bad(format!("{f} must be a string"), f)),
        }
    }
    let format = o.get("format").and_then(Value::as_u64);
    if !matches!(format, Some(1 | 2)) {
        return Err(bad("format must be 1 or 2".into(), "format"));
    }
    let Some(delta) = o.get("delta").and_then(Value::as_str) else {
        return Err(bad("delta must be a base64 string".into(), "delta"));
    };
    let trimmed = delta.trim_end_matches('=');
    let decoded_len = trimmed.len() / 4 * 3 + (trimmed.len() % 4).saturating_sub(1);
    if decoded_len > MAX_DELTA_BYTES {
        return Err(rejected(
            &op_id,
            "TOO_LARGE",
            format!("delta is {decoded_len} bytes, the limit is {MAX_DELTA_BYTES}"),
            Some(format!("deltas[{i}].delta")),
        ));
    }
    if delta.is_empty() || b64().decode(delta).is_err() {
        return Err(bad("delta must be standard base64".into(), "delta"));
    }
    let mut w = o.clone();
    w.insert("edge_id".into(), Value::String(edge.to_string()));
    Ok(Value::Object(w))
}

async fn push(gw: &Arc<Gateway>, app: &str, edge: &str, body: &[u8]) -> SyncResult {
    let (raw, _): (Value, Value) = parse(body)?;
    let Some(obj) = raw.as_object() else {
        return Err(error("BAD_REQUEST", "the body must be an object"));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "version" | "deltas"))
    {
        return Err(error_field(
            "BAD_REQUEST",
            format!("unknown field {k:?}"),
            k,
        ));
    }
    let Some(deltas) = obj.get("deltas").and_then(Value::as_array) else {
        return Err(error_field(
            "BAD_REQUEST",
            "deltas must be an array",
            "deltas",
        ));
    };
    if deltas.is_empty() || deltas.len() > MAX_DELTAS {
        return Err(error_field(
            "BAD_REQUEST",
            format!("deltas must hold 1-{MAX_DELTAS} deltas"),
            "deltas",
        ));
    }
    if convex_config(gw, app).await?.is_none() {
        return Err(not_configured(app));
    }
    let (tx, rx) = oneshot::channel();
    let job = Arc::new(Job {
        inner: Mutex::new(JobInner {
            results: vec![Value::Null; deltas.len()],
            missing: deltas.len(),
            error: None,
            tx: Some(tx),
        }),
    });
    let mut entries = Vec::new();
    for (i, d) in deltas.iter().enumerate() {
        match validate(i, d, edge) {
            Ok(wire) => {
                let bytes = wire.to_string().len() + 1;
                entries.push(Entry {
                    job: job.clone(),
                    idx: i,
                    wire,
                    bytes,
                });
            }
            Err(r) => {
                gw.metrics.delta("rejected");
                record_rejection(gw, app, edge, d, &r["error"]);
                job.finish(i, Ok(r));
            }
        }
    }
    if !entries.is_empty() {
        let tx = batcher(gw, app);
        if tx.send(entries).await.is_err() {
            return Err(error("UNAVAILABLE", "the gateway is shutting down"));
        }
    }
    rx.await
        .unwrap_or_else(|_| Err(error("UNAVAILABLE", "the request was dropped")))
}

fn record_rejection(gw: &Gateway, app: &str, edge: &str, d: &Value, err: &Value) {
    let item = json!({
        "at": rfc3339_ms(now_ms()),
        "edge_id": edge,
        "op_id": d.get("op_id"),
        "collection": d.get("collection"),
        "doc_id": d.get("doc_id"),
        "code": err.get("code"),
        "message": err.get("message"),
    });
    gw.sync.with_stats(app, |s| {
        s.rejected += 1;
        s.rejections.push_back(item);
        while s.rejections.len() > RECENT_REJECTIONS {
            s.rejections.pop_front();
        }
    });
}

/// The app's batcher (started on first use).
fn batcher(gw: &Arc<Gateway>, app: &str) -> mpsc::Sender<Vec<Entry>> {
    let mut map = match gw.sync.batchers.lock() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    };
    if let Some(tx) = map.get(app).filter(|t| !t.is_closed()) {
        return tx.clone();
    }
    let (tx, rx) = mpsc::channel(1024);
    map.insert(app.to_string(), tx.clone());
    drop(map);
    let h = tokio::spawn(run_batcher(gw.clone(), app.to_string(), rx));
    gw.sync.track(h.abort_handle());
    tx
}

async fn run_batcher(gw: Arc<Gateway>, app: String, mut rx: mpsc::Receiver<Vec<Entry>>) {
    let window = Duration::from_millis(gw.cfg.sync_batch_ms);
    let mut pending: VecDeque<Entry> = VecDeque::new();
    let mut open = true;
    loop {
        if pending.is_empty() {
            if !open {
                return;
            }
            match rx.recv().await {
                Some(v) => pending.extend(v),
                None => return,
            }
        }
        let deadline = tokio::time::Instant::now() + window;
        while open && !full(&pending) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(v)) => pending.extend(v),
                Ok(None) => open = false,
                Err(_) => break,
            }
        }
        let mut chunk = Vec::new();
        let mut bytes = 0;
        while let Some(e) = pending.front() {
            if !chunk.is_empty() && (chunk.len() >= MAX_DELTAS || bytes + e.bytes > MAX_BATCH_BYTES)
            {
                break;
            }
            bytes += e.bytes;
            if let Some(e) = pending.pop_front() {
                chunk.push(e);
            }
        }
        flush(&gw, &app, chunk).await;
    }
}

fn full(p: &VecDeque<Entry>) -> bool {
    p.len() >= MAX_DELTAS || p.iter().map(|e| e.bytes).sum::<usize>() >= MAX_BATCH_BYTES
}

/// What one applyDelta request came to.
enum Applied {
    Results(Vec<Value>),
    /// HTTP 400 / 413: Convex's error object.
    BadRequest(Value),
    Unavailable(String),
}

/// Send `chunk` to Convex, bisecting on 400/413, and answer each entry.
async fn flush(gw: &Gateway, app: &str, chunk: Vec<Entry>) {
    if chunk.is_empty() {
        return;
    }
    let cfg = match convex_config(gw, app).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            for e in &chunk {
                e.job.finish(e.idx, Err(not_configured(app)));
            }
            return;
        }
        Err(err) => {
            for e in &chunk {
                e.job.finish(e.idx, Err(err.clone()));
            }
            return;
        }
    };
    let mut stack: Vec<Vec<Entry>> = vec![chunk];
    while let Some(part) = stack.pop() {
        gw.metrics.batch(part.len());
        match apply(gw, app, &cfg, &part).await {
            Applied::Results(results) => {
                for (e, r) in part.iter().zip(results) {
                    let status = r.get("status").and_then(Value::as_str).unwrap_or("");
                    gw.metrics.delta(status);
                    match status {
                        "applied" => gw.sync.with_stats(app, |s| s.applied += 1),
                        "duplicate" => gw.sync.with_stats(app, |s| s.duplicate += 1),
                        "noop" => gw.sync.with_stats(app, |s| s.noop += 1),
                        "rejected" => {
                            let edge = e.wire["edge_id"].as_str().unwrap_or("");
                            record_rejection(gw, app, edge, &e.wire, &r["error"]);
                        }
                        _ => {}
                    }
                    e.job.finish(e.idx, Ok(r));
                }
            }
            Applied::BadRequest(err) if part.len() > 1 => {
                let mut first = part;
                let second = first.split_off(first.len() / 2);
                stack.push(second);
                stack.push(first);
                let _ = err;
            }
            Applied::BadRequest(err) => {
                for e in &part {
                    let r = json!({ "op_id": e.wire["op_id"], "status": "rejected", "error": err });
                    gw.metrics.delta("rejected");
                    let edge = e.wire["edge_id"].as_str().unwrap_or("");
                    record_rejection(gw, app, edge, &e.wire, &err);
                    e.job.finish(e.idx, Ok(r));
                }
            }
            Applied::Unavailable(reason) => {
                gw.sync.convex_error(app, &reason);
                for e in &part {
                    gw.metrics.delta("unavailable");
                    gw.sync.with_stats(app, |s| s.unavailable += 1);
                    e.job
                        .finish(e.idx, Err(error("UNAVAILABLE", reason.clone())));
                }
            }
        }
    }
}

async fn apply(gw: &Gateway, app: &str, cfg: &ConvexConfig, part: &[Entry]) -> Applied {
    let deltas: Vec<&Value> = part.iter().map(|e| &e.wire).collect();
    let body = json!({ "version": 1, "deltas": deltas }).to_string();
    let url = format!("{}/api/dink/applyDelta", cfg.site_url);
    let (status, v) = match call(gw, app, cfg, Method::POST, &url, Some(body)).await {
        Ok(x) => x,
        Err(reason) => return Applied::Unavailable(reason),
    };
    match status {
        200..=299 => {
            let results = v["data"]["results"].as_array().cloned().unwrap_or_default();
            if v["success"] != Value::Bool(true) || results.len() != part.len() {
                return Applied::Unavailable(format!(
                    "Convex answered {} results for {} deltas",
                    results.len(),
                    part.len()
                ));
            }
            Applied::Results(results)
        }
        400 | 413 => Applied::BadRequest(convex_error_object(status, &v)),
        _ => Applied::Unavailable(refusal(status, &v)),
    }
}

fn convex_error_object(status: u16, v: &Value) -> Value {
    match v.get("error") {
        Some(e @ Value::Object(_)) if e.get("code").is_some() => e.clone(),
        _ => error(
            if status == 413 {
                "PAYLOAD_TOO_LARGE"
            } else {
                "BAD_REQUEST"
            },
            format!("Convex answered HTTP {status}"),
        ),
    }
}

fn refusal(status: u16, v: &Value) -> String {
    let code = v["error"]["code"].as_str().unwrap_or("");
    let msg = v["error"]["message"].as_str().unwrap_or("");
    match status {
        401 => format!("Convex refused the gateway's sync key (HTTP 401 {code}: {msg})"),
        _ => format!("Convex answered HTTP {status} {code}: {msg}"),
    }
}

/// One Convex call with retries: network errors, timeouts, 5xx (but `NOT_CONFIGURED`), 408
/// and 429 are retried with backoff until `sync_retry_deadline`; `Err(reason)` then, or for
/// a refusal that retrying cannot fix (401, `NOT_CONFIGURED`). Otherwise `(status, JSON body)`.
async fn call(
    gw: &Gateway,
    app: &str,
    cfg: &ConvexConfig,
    method: Method,
    url: &str,
    body: Option<String>,
) -> Result<(u16, Value), String> {
    let deadline = Instant::now() + gw.cfg.sync_retry_deadline;
    let auth = format!("Bearer {}", cfg.sync_key);
    let mut headers = vec![("authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let mut backoff = BACKOFF_START;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let attempt = gw.cfg.convex_attempt_timeout.min(left.max(BACKOFF_START));
        let r = gw
            .sync
            .http
            .request(
                method.clone(),
                url,
                &headers,
                body.as_ref().map(|b| b.clone().into_bytes()),
                attempt,
            )
            .await;
        let reason = match r {
            Err(e) => format!("Convex unreachable: {e}"),
            Ok(resp) => {
                let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
                let code = v["error"]["code"].as_str().unwrap_or("");
                match resp.status {
                    408 | 429 => format!("Convex answered HTTP {}", resp.status),
                    500 if code == "NOT_CONFIGURED" => {
                        gw.metrics.convex_request("refused");
                        return Err(format!(
                            "Convex deployment is not configured for dink (NOT_CONFIGURED: {})",
                            v["error"]["message"].as_str().unwrap_or("")
                        ));
                    }
                    s @ 500..=599 => format!("Convex answered HTTP {s} {code}"),
                    s @ 200..=299 => {
                        if v.is_null() {
                            gw.metrics.convex_request("refused");
                            return Err(format!("Convex answered HTTP {s} without JSON"));
                        }
                        gw.metrics.convex_request("ok");
                        return Ok((s, v));
                    }
                    s @ (400 | 413) => {
                        gw.metrics.convex_request("bad_request");
                        return Ok((s, v));
                    }
                    404 if !code.is_empty() => {
                        gw.metrics.convex_request("ok");
                        return Ok((404, v));
                    }
                    401 => {
                        gw.metrics.convex_request("refused");
                        return Err(refusal(401, &v));
                    }
                    s => {
                        gw.metrics.convex_request("refused");
                        return Err(refusal(s, &v));
                    }
                }
            }
        };
        gw.metrics.convex_request("transient");
        gw.sync.convex_error(app, &reason);
        if Instant::now() + backoff >= deadline {
            return Err(format!(
                "{reason} (gave up after {} s)",
                gw.cfg.sync_retry_deadline.as_secs_f64()
            ));
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// The error of a non-2xx read (changes, snapshot): Convex's own 400/404 errors are passed
/// through; anything else is `UNAVAILABLE`.
fn read_error(status: u16, v: &Value) -> SyncError {
    match status {
        400 | 404 | 413 => convex_error_object(status, v),
        _ => error("UNAVAILABLE", refusal(status, v)),
    }
}

/// A GET of Convex's sync routes (changes, snapshot), retried as [`call`]: the reply's `data`.
async fn read(gw: &Gateway, app: &str, cfg: &ConvexConfig, url: &str) -> SyncResult {
    let (status, v) = call(gw, app, cfg, Method::GET, url, None)
        .await
        .map_err(|r| {
            gw.sync.convex_error(app, &r);
            error("UNAVAILABLE", r)
        })?;
    if !(200..300).contains(&status) {
        return Err(read_error(status, &v));
    }
    Ok(v.get("data").cloned().unwrap_or(Value::Null))
}

// ---- changes, snapshot ---------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesReq {
    #[allow(dead_code)]
    version: u64,
    collection: String,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    limit: Option<u64>,
}

fn check_id(field: &str, v: &str) -> Result<(), SyncError> {
    if v.is_empty() || v.chars().count() > MAX_ID {
        return Err(error_field(
            "BAD_REQUEST",
            format!("{field} must be 1-{MAX_ID} characters"),
            field,
        ));
    }
    Ok(())
}

async fn changes(gw: &Gateway, app: &str, body: &[u8]) -> SyncResult {
    let (_, req): (Value, ChangesReq) = parse(body)?;
    check_id("collection", &req.collection)?;
    let cfg = convex_config(gw, app)
        .await?
        .ok_or_else(|| not_configured(app))?;
    let max = gw.bus.server_info().max_payload.max(1024);
    let mut limit = req.limit;
    loop {
        let mut url = format!(
            "{}/api/dink/changes?collection={}",
            cfg.site_url,
            enc(&req.collection)
        );
        if let Some(s) = &req.since {
            url.push_str(&format!("&since={}", enc(s)));
        }
        if let Some(l) = limit {
            url.push_str(&format!("&limit={l}"));
        }
        let data = read(gw, app, &cfg, &url).await?;
        let size = envelope(Ok(data.clone())).to_string().len();
        if size <= max {
            return Ok(data);
        }
        let cur = limit.unwrap_or(100);
        if cur <= 1 {
            return Err(error(
                "PAYLOAD_TOO_LARGE",
                format!("one change is {size} bytes, over the NATS max_payload {max}"),
            ));
        }
        limit = Some(cur / 2);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotReq {
    #[allow(dead_code)]
    version: u64,
    collection: String,
    doc_id: String,
    #[serde(default)]
    state_vector: Option<String>,
}

async fn snapshot(gw: &Gateway, app: &str, body: &[u8]) -> SyncResult {
    let (_, req): (Value, SnapshotReq) = parse(body)?;
    check_id("collection", &req.collection)?;
    check_id("doc_id", &req.doc_id)?;
    let cfg = convex_config(gw, app)
        .await?
        .ok_or_else(|| not_configured(app))?;
    let mut url = format!(
        "{}/api/dink/getSnapshot?collection={}&doc_id={}",
        cfg.site_url,
        enc(&req.collection),
        enc(&req.doc_id)
    );
    if let Some(sv) = &req.state_vector {
        url.push_str(&format!("&state_vector={}", enc(sv)));
    }
    let data = read(gw, app, &cfg, &url).await?;
    if envelope(Ok(data.clone())).to_string().len() > gw.bus.server_info().max_payload.max(1024) {
        return Err(error(
            "PAYLOAD_TOO_LARGE",
            "the snapshot is over the NATS max_payload",
        ));
    }
    Ok(data)
}

// ---- presence for the fan-out --------------------------------------------------------------

/// Ids of the app's online edges, read at most once per [`ONLINE_CACHE`].
pub async fn online_edges(gw: &Gateway, app: &str) -> Result<Vec<String>, String> {
    if let Ok(c) = gw.sync.online.lock() {
        if let Some((at, ids)) = c.get(app) {
            if at.elapsed() < ONLINE_CACHE {
                return Ok(ids.clone());
            }
        }
    }
    let ids: Vec<String> = gw
        .store
        .edges_of(app)
        .await?
        .into_iter()
        .filter(|e| gw.edge_status(e) == "online")
        .map(|e| e.id)
        .collect();
    if let Ok(mut c) = gw.sync.online.lock() {
        c.insert(app.to_string(), (Instant::now(), ids.clone()));
    }
    Ok(ids)
}
