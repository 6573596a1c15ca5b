//! The bridge relay: an edge's `callCenter(service, method, payload)` goes to the Convex function
//! the app's bridge configuration (`$ADMIN.APPS.CONFIGURE_BRIDGE`, bucket `dink_bridges`) maps it
//! to, with the edge's bridge token as the `_dink` argument.
//!
//! Request (NATS, from an edge): `center.<app>.services.<Service>.<Method>` with body
//! `{"payload": {…}, "_dink": {edgeId, appId, groups, exp, sig}}` (headers `Dink-Edge-ID`,
//! `Dink-Groups`: informational). Relayed as Convex's public HTTP function API:
//! `POST <app convex_url>/api/<action|mutation|query>` with `{"path": <bridgeFunction>, "args":
//! {…payload, "_dink": <token>}, "format": "json"}` and `Authorization: Convex <deploy_key>` when
//! a deploy key is configured. Reply `{"success":true,"data":<value>}` or
//! `{"success":false,"error":{"code","message"}}` (docs/gateway.md, "Bridge relay").
//!
//! The gateway does not verify the token (the Convex function does, `verifyDinkToken`), but it
//! refuses one naming another app. It subscribes (queue group `dink-gateway`) only to
//! `center.<app>.services.<Service>.>` of each bridged service, and not to a service a center
//! process registered itself (`$API.SERVICES.REGISTER` with a non-edge key): that process
//! answers. Subscriptions follow `CONFIGURE_BRIDGE` (this process at once, the others through
//! [`BRIDGES_CHANGED`]) and a rescan every [`RESCAN`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::Message;
use futures_util::StreamExt;
use hyper::Method;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

use crate::bridge::{find_method, service_names, BridgeConfig};
use crate::gateway::{Gateway, MAX_BODY};
use crate::store::{tok, Store, CENTER};
use crate::types::ServiceInfo;

/// GATEWAY-account subject (no queue group): the body is an app whose bridge configuration or
/// center services changed; every gateway reloads that app's relay subscriptions.
pub const BRIDGES_CHANGED: &str = "dink.gw.bridges.changed";
/// Every gateway re-reads all apps' bridge configurations this often.
pub const RESCAN: Duration = Duration::from_secs(2);
/// Attempts of one Convex call on a network error or a 5xx without a Convex error body.
pub const ATTEMPTS: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(100);
/// A relayed call is answered within this (else `TIMEOUT`).
pub const CALL_LIMIT: Duration = Duration::from_secs(30);
const CONCURRENCY: usize = 256;

type Command = (String, Option<oneshot::Sender<()>>);

/// The relay's control channel, held by the [`Gateway`]; [`spawn`] takes the receiving end.
pub struct Relay {
    tx: mpsc::UnboundedSender<Command>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
}

impl Default for Relay {
    fn default() -> Relay {
        let (tx, rx) = mpsc::unbounded_channel();
        Relay {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl Relay {
    /// Reload `app`'s subscriptions in this process; with `wait`, return once they are in place
    /// on the server (at most 3 s).
    pub async fn refresh(&self, app: &str, wait: bool) {
        if wait {
            let (done, rx) = oneshot::channel();
            if self.tx.send((app.to_string(), Some(done))).is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(3), rx).await;
            }
        } else {
            let _ = self.tx.send((app.to_string(), None));
        }
    }
}

/// A subscription task, aborted when dropped (so dropping the supervisor unsubscribes all).
struct SubTask(JoinHandle<()>);

impl Drop for SubTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Supervisor {
    gw: Arc<Gateway>,
    sem: Arc<Semaphore>,
    /// `(app, service)` -> its subscription.
    subs: HashMap<(String, String), SubTask>,
}

/// Start the relay: subscribe every bridged service now, then follow changes.
pub async fn spawn(gw: Arc<Gateway>) -> Result<JoinHandle<()>, String> {
    let mut rx = gw
        .relay
        .rx
        .lock()
        .ok()
        .and_then(|mut r| r.take())
        .ok_or("the bridge relay is already running")?;
    let mut changed = gw
        .state
        .subscribe(BRIDGES_CHANGED)
        .await
        .map_err(|e| format!("subscribe {BRIDGES_CHANGED}: {e}"))?;
    let mut sup = Supervisor {
        gw: gw.clone(),
        sem: Arc::new(Semaphore::new(CONCURRENCY)),
        subs: HashMap::new(),
    };
    sup.rescan().await;
    gw.state.flush().await.map_err(|e| format!("flush: {e}"))?;
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(RESCAN);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                cmd = rx.recv() => {
                    let Some((app, done)) = cmd else { break };
                    sup.refresh_app(&app).await;
                    if let Some(d) = done {
                        let _ = d.send(());
                    }
                }
                msg = changed.next() => {
                    let Some(msg) = msg else { break };
                    if let Ok(app) = std::str::from_utf8(&msg.payload) {
                        sup.refresh_app(app.trim()).await;
                    }
                }
                _ = tick.tick() => sup.rescan().await,
            }
        }
    }))
}

impl Supervisor {
    /// The services of `app` this process should relay: bridged, and not registered by a center
    /// process. `None` when the state could not be read (keep what is there).
    async fn wanted(&self, app: &str) -> Option<HashSet<String>> {
        let cfg: Option<BridgeConfig> = Store::get(&self.gw.store.bridges, &tok(app)).await.ok()?;
        let Some(cfg) = cfg else {
            return Some(HashSet::new());
        };
        let mut out = HashSet::new();
        for name in service_names(&cfg.services) {
            let key = format!("{}.{}.{}", tok(app), CENTER, tok(&name));
            let center: Option<ServiceInfo> =
                Store::get(&self.gw.store.services, &key).await.ok()?;
            if center.is_none() {
                out.insert(name);
            }
        }
        Some(out)
    }

    async fn refresh_app(&mut self, app: &str) {
        if !crate::keys::valid_id(app) {
            return;
        }
        if let Some(wanted) = self.wanted(app).await {
            self.apply(app, &wanted).await;
        }
    }

    async fn rescan(&mut self) {
        let Ok(apps) = self.gw.list_apps().await else {
            return;
        };
        let ids: HashSet<String> = apps.into_iter().map(|a| a.id).collect();
        self.subs.retain(|(a, _), _| ids.contains(a));
        for app in ids {
            self.refresh_app(&app).await;
        }
    }

    /// Subscribe the wanted services of `app` not yet subscribed, drop the others.
    async fn apply(&mut self, app: &str, wanted: &HashSet<String>) {
        self.subs.retain(|(a, s), _| a != app || wanted.contains(s));
        let mut added = false;
        for service in wanted {
            let k = (app.to_string(), service.clone());
            if self.subs.get(&k).is_some_and(|t| !t.0.is_finished()) {
                continue;
            }
            let subject = format!("center.{app}.services.{service}.>");
            let Ok(sub) = self
                .gw
                .bus
                .queue_subscribe(subject, crate::serve::QUEUE.into())
                .await
            else {
                continue;
            };
            let task = serve(self.gw.clone(), self.sem.clone(), sub);
            self.subs.insert(k, SubTask(task));
            added = true;
        }
        if added {
            let _ = tokio::time::timeout(Duration::from_secs(2), self.gw.bus.flush()).await;
        }
    }
}

fn serve(gw: Arc<Gateway>, sem: Arc<Semaphore>, sub: async_nats::Subscriber) -> JoinHandle<()> {
    crate::serve::each(sub, sem, move |msg| {
        let gw = gw.clone();
        async move {
            let reply = match tokio::time::timeout(CALL_LIMIT, relay(&gw, &msg)).await {
                Ok(r) => r,
                Err(_) => Err(Failure::new(
                    "TIMEOUT",
                    format!("no answer from Convex within {} s", CALL_LIMIT.as_secs()),
                )),
            };
            let out = match reply {
                Ok(data) => {
                    gw.metrics.bridge("success");
                    json!({ "success": true, "data": data })
                }
                Err(f) => {
                    gw.metrics.bridge(&f.code.to_ascii_lowercase());
                    let mut e = json!({ "code": f.code, "message": f.message });
                    if let Some(d) = f.data {
                        e["data"] = d;
                    }
                    json!({ "success": false, "error": e })
                }
            };
            if let Some(r) = msg.reply.clone() {
                let _ = gw.bus.publish(r, out.to_string().into()).await;
            }
        }
    })
}

/// A failed relay: the error answered to the edge.
#[derive(Debug)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
    /// Convex's `errorData`, when it sent one.
    pub data: Option<Value>,
}

impl Failure {
    fn new(code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
            data: None,
        }
    }
}

/// Relay one request; `Ok` is the Convex function's value.
async fn relay(gw: &Gateway, msg: &Message) -> Result<Value, Failure> {
    let parts: Vec<&str> = msg.subject.as_str().split('.').collect();
    let ["center", app, "services", service, method] = parts.as_slice() else {
        return Err(Failure::new(
            "METHOD_NOT_FOUND",
            format!(
                "expected center.<app>.services.<Service>.<Method>, got {}",
                msg.subject
            ),
        ));
    };
    if msg.payload.len() > MAX_BODY {
        return Err(Failure::new("BAD_REQUEST", "body over 1 MiB"));
    }
    let body: Value = serde_json::from_slice(&msg.payload)
        .map_err(|e| Failure::new("BAD_REQUEST", format!("body is not JSON: {e}")))?;
    let Value::Object(mut body) = body else {
        return Err(Failure::new(
            "BAD_REQUEST",
            "body must be {\"payload\": {…}, \"_dink\": <token>}",
        ));
    };
    let token = match body.remove("_dink") {
        Some(t @ Value::Object(_)) => t,
        Some(_) => return Err(Failure::new("BAD_REQUEST", "_dink must be a token object")),
        None => {
            return Err(Failure::new(
                "BAD_REQUEST",
                "_dink (the edge's bridge token, $EDGE.<app>.<edge>.CONVEX_TOKEN) is required",
            ))
        }
    };
    if token.get("appId").and_then(Value::as_str) != Some(app) {
        return Err(Failure::new(
            "FORBIDDEN",
            "the bridge token belongs to another app",
        ));
    }
    let mut args: Map<String, Value> = match body.remove("payload") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(Failure::new(
                "BAD_REQUEST",
                "payload must be an object (the Convex function's arguments)",
            ))
        }
    };
    args.insert("_dink".into(), token);

    let cfg: BridgeConfig = Store::get(&gw.store.bridges, &tok(app))
        .await
        .map_err(|e| Failure::new("UNAVAILABLE", e))?
        .ok_or_else(|| {
            Failure::new(
                "NOT_CONFIGURED",
                "the app has no bridge ($ADMIN.APPS.CONFIGURE_BRIDGE)",
            )
        })?;
    let m = find_method(&cfg.services, service, method).map_err(|code| {
        Failure::new(
            code,
            format!("{service}.{method} is not in the app's bridge configuration"),
        )
    })?;
    let convex_url = gw
        .store
        .app(app)
        .await
        .map_err(|e| Failure::new("UNAVAILABLE", e))?
        .and_then(|a| a.convex_url)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            Failure::new(
                "NOT_CONFIGURED",
                "the app has no Convex URL ($ADMIN.APPS.CONFIGURE_CONVEX convex_url)",
            )
        })?;
    let url = format!("{}/api/{}", convex_url.trim_end_matches('/'), m.kind);
    let request = json!({ "path": m.function, "args": args, "format": "json" }).to_string();
    let auth = format!("Convex {}", cfg.deploy_key);
    let mut headers = vec![("content-type", "application/json")];
    if !cfg.deploy_key.is_empty() {
        headers.push(("authorization", auth.as_str()));
    }
    call_convex(gw, &url, &headers, request.into_bytes()).await
}

/// POST to Convex with a short bounded retry on network errors and 5xx (without a Convex error
/// body); a timed-out attempt is not retried (the function may have run).
async fn call_convex(
    gw: &Gateway,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Value, Failure> {
    let timeout = gw.cfg.convex_attempt_timeout;
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
        }
        let r = gw
            .sync
            .http
            .request(Method::POST, url, headers, Some(body.clone()), timeout)
            .await;
        let resp = match r {
            Ok(resp) => resp,
            Err(e) if e.starts_with("timed out") => {
                return Err(Failure::new("TIMEOUT", format!("Convex {e}")))
            }
            Err(e) => {
                last = e;
                continue;
            }
        };
        let parsed: Option<Value> = serde_json::from_slice(&resp.body).ok();
        let status_field = parsed
            .as_ref()
            .and_then(|v| v.get("status"))
            .and_then(Value::as_str);
        match (resp.status, status_field) {
            (200..=299, Some("success")) => {
                return Ok(parsed
                    .and_then(|mut v| v.get_mut("value").map(Value::take))
                    .unwrap_or(Value::Null))
            }
            (_, Some("error")) => {
                let v = parsed.unwrap_or_default();
                return Err(Failure {
                    code: "CONVEX_ERROR",
                    message: v
                        .get("errorMessage")
                        .and_then(Value::as_str)
                        .unwrap_or("the Convex function failed")
                        .to_string(),
                    data: v.get("errorData").cloned().filter(|d| !d.is_null()),
                });
            }
            (s, _) if s >= 500 || s == 408 || s == 429 => {
                last = format!("Convex answered HTTP {s}");
                continue;
            }
            (s, _) => {
                // e.g. 401 {code:"BadDeployKey", message} or 404 for an unknown function.
                let detail = parsed
                    .as_ref()
                    .and_then(|v| v.get("message").and_then(Value::as_str))
                    .map(String::from)
                    .unwrap_or_else(|| {
                        String::from_utf8_lossy(&resp.body[..resp.body.len().min(200)]).to_string()
                    });
                return Err(Failure::new(
                    "CONVEX_ERROR",
                    format!("Convex answered HTTP {s}: {detail}"),
                ));
            }
        }
    }
    Err(Failure::new(
        "UNAVAILABLE",
        format!("Convex unreachable after {ATTEMPTS} attempts: {last}"),
    ))
}
