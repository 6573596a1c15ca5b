//! The HTTP API (default port 8222). Route table and bodies: docs/gateway.md.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::gateway::*;
use crate::types::*;

type Gw = State<Arc<Gateway>>;

pub async fn spawn(gw: Arc<Gateway>) -> Result<(JoinHandle<()>, std::net::SocketAddr), String> {
    let listener = tokio::net::TcpListener::bind(gw.cfg.http_addr)
        .await
        .map_err(|e| format!("bind HTTP {}: {e}", gw.cfg.http_addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = router(gw);
    Ok((
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }),
        addr,
    ))
}

pub fn router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/status", get(status_page))
        .route("/status.json", get(status_json))
        .route("/api/edge/call", post(call))
        .route("/api/edge/scatter", post(scatter))
        .route("/api/edges", get(edges))
        .route("/api/edges/{edge_id}", get(edge))
        .route("/api/edges/{edge_id}/kick", post(kick))
        .route("/api/keys", post(key_create).get(key_list))
        .route("/api/keys/{key_id}", get(key_get))
        .route("/api/keys/{key_id}/revoke", post(key_revoke))
        .route("/api/services", get(services))
        .route("/api/services/{name}", get(service_describe))
        .route("/api/services/{name}/llm.txt", get(service_llm))
        .route("/api/sync/convex-push", post(convex_push))
        .route("/tunnels/{tunnel_id}", any(tunnel))
        .route("/tunnels/{tunnel_id}/", any(tunnel))
        .route("/tunnels/{tunnel_id}/{*rest}", any(tunnel))
        .fallback(|| async { json_reply(Err(ApiError::not_found("NOT_FOUND", "no such route"))) })
        .with_state(gw)
}

fn with_headers(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `{success, data}` (200) or `{success:false, error}` with the error's status.
fn json_reply(r: ApiResult<Value>) -> Response {
    let (status, body) = match r {
        Ok(v) => (StatusCode::OK, ok_envelope(v)),
        Err(e) => (status_of(e.status), e.envelope()),
    };
    let mut resp = with_headers((status, axum::Json(body)).into_response());
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

/// Authenticate the request (as [`auth`]), then run `f` with the key; the error of either is
/// the result.
async fn with_key<T, F, Fut>(gw: Arc<Gateway>, headers: &HeaderMap, f: F) -> ApiResult<T>
where
    F: FnOnce(Arc<Gateway>, KeyMetadata) -> Fut,
    Fut: Future<Output = ApiResult<T>>,
{
    let k = auth(&gw, headers).await?;
    f(gw, k).await
}

/// A JSON route behind [`auth`]: `f`'s result in the `{success, data | error}` envelope.
async fn authed<F, Fut>(gw: Arc<Gateway>, headers: &HeaderMap, f: F) -> Response
where
    F: FnOnce(Arc<Gateway>, KeyMetadata) -> Fut,
    Fut: Future<Output = ApiResult<Value>>,
{
    json_reply(with_key(gw, headers, f).await)
}

fn to_json<T: serde::Serialize>(v: T) -> ApiResult<Value> {
    serde_json::to_value(v).map_err(|e| ApiError::internal(e.to_string()))
}

/// The app sync key (a center key) or an app admin key from `Authorization: Bearer`.
async fn auth(gw: &Gateway, headers: &HeaderMap) -> ApiResult<KeyMetadata> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let k = match gw.authenticate(token).await {
        Ok(k) => k,
        Err(e) => {
            if e.status == 401 {
                gw.metrics.http_unauthorized.fetch_add(1, Ordering::Relaxed);
            }
            return Err(e);
        }
    };
    if k.app_id.is_empty() || !matches!(k.key_type.as_str(), "center" | "admin") {
        return Err(ApiError::forbidden(
            "the HTTP API takes an app's sync key (center key) or app admin key",
        ));
    }
    Ok(k)
}

async fn body_bytes(body: Body) -> ApiResult<bytes::Bytes> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            "PAYLOAD_TOO_LARGE",
            413,
            format!("body over {MAX_BODY} bytes or unreadable"),
        )
    })
}

async fn root(State(gw): Gw) -> Response {
    let port = gw
        .cfg
        .nats
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(4222);
    let nats_version = gw.bus.server_info().version;
    with_headers(
        axum::Json(json!({
            "service": "dink-gateway",
            "version": VERSION,
            "commit": "",
            "build_date": "",
            "nats_version": nats_version,
            "sdk_version": "",
            "environment": gw.cfg.env,
            "dev_mode": gw.cfg.dev_mode,
            "nats_port": port,
        }))
        .into_response(),
    )
}

async fn healthz(State(gw): Gw) -> Response {
    let h = gw.health(None).await;
    let status = if h["status"] == "healthy" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    with_headers((status, axum::Json(h)).into_response())
}

async fn metrics(State(gw): Gw) -> Response {
    let edges: Option<Vec<EdgeInfo>> = crate::store::Store::list(&gw.store.edges, "").await.ok();
    let total = edges.as_ref().map(|e| e.len() as u64);
    let online = edges
        .as_ref()
        .map(|e| e.iter().filter(|x| gw.edge_status(x) == "online").count() as u64);
    let mut r = gw.metrics.render(online, total).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    with_headers(r)
}

async fn status_json(State(gw): Gw) -> Response {
    with_headers(axum::Json(crate::status::status_json(&gw).await).into_response())
}

async fn status_page(State(gw): Gw) -> Response {
    let v = crate::status::status_json(&gw).await;
    let mut r = crate::status::status_html(&v).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    with_headers(r)
}

async fn call(State(gw): Gw, headers: HeaderMap, body: Body) -> Response {
    authed(gw, &headers, |gw, k| async move {
        let req: CallRequest = parse_body(&body_bytes(body).await?)?;
        gw.call(&k.app_id, &req).await
    })
    .await
}

async fn scatter(State(gw): Gw, headers: HeaderMap, body: Body) -> Response {
    authed(gw, &headers, |gw, k| async move {
        let req: ScatterRequest = parse_body(&body_bytes(body).await?)?;
        gw.scatter(&k.app_id, &req).await
    })
    .await
}

#[derive(Deserialize, Default)]
struct EdgesQuery {
    online_only: Option<String>,
    status: Option<String>,
    service: Option<String>,
    method: Option<String>,
    /// `k:v,k2:v2`
    labels: Option<String>,
}

fn parse_labels(s: &str) -> ApiResult<Labels> {
    let mut out = BTreeMap::new();
    for pair in s.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once(':')
            .ok_or_else(|| ApiError::bad("labels must be k:v,k2:v2"))?;
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

async fn edges(State(gw): Gw, headers: HeaderMap, Query(q): Query<EdgesQuery>) -> Response {
    authed(gw, &headers, |gw, k| async move {
        let f = EdgeFilter {
            online_only: matches!(q.online_only.as_deref(), Some("true" | "1")),
            status: q.status.clone(),
            service: q.service.clone(),
            method: q.method.clone(),
            labels: parse_labels(q.labels.as_deref().unwrap_or(""))?,
            edge_ids: None,
        };
        to_json(gw.list_edges(&k.app_id, &f).await?)
    })
    .await
}

async fn edge(State(gw): Gw, headers: HeaderMap, Path(edge_id): Path<String>) -> Response {
    authed(gw, &headers, |gw, k| async move {
        to_json(gw.get_edge(&k.app_id, &edge_id).await?)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    #[serde(default)]
    reason: Option<String>,
}

async fn kick(
    State(gw): Gw,
    headers: HeaderMap,
    Path(edge_id): Path<String>,
    body: Body,
) -> Response {
    authed(gw, &headers, |gw, k| async move {
        let b: ReasonBody = parse_body(&body_bytes(body).await?)?;
        gw.kick(&k.app_id, &edge_id, b.reason.as_deref().unwrap_or("kicked"))
            .await
    })
    .await
}

async fn key_create(State(gw): Gw, headers: HeaderMap, body: Body) -> Response {
    authed(gw, &headers, |gw, k| async move {
        let req: CreateKeyRequest = parse_body(&body_bytes(body).await?)?;
        if req
            .app_id
            .as_deref()
            .is_some_and(|a| !a.is_empty() && a != k.app_id)
        {
            return Err(ApiError::forbidden("the key belongs to another app"));
        }
        if req.key_type.is_empty() {
            return Err(ApiError::bad(
                "type is required (edge, client, center or admin)",
            ));
        }
        gw.create_key(&k, &k.app_id, &req).await
    })
    .await
}

#[derive(Deserialize, Default)]
struct KeysQuery {
    #[serde(rename = "type")]
    key_type: Option<String>,
}

async fn key_list(State(gw): Gw, headers: HeaderMap, Query(q): Query<KeysQuery>) -> Response {
    authed(gw, &headers, |gw, k| async move {
        to_json(gw.list_keys(&k.app_id, q.key_type.as_deref()).await?)
    })
    .await
}

async fn key_get(State(gw): Gw, headers: HeaderMap, Path(key_id): Path<String>) -> Response {
    authed(gw, &headers, |gw, k| async move {
        to_json(gw.get_key(&k.app_id, &key_id).await?.public())
    })
    .await
}

async fn key_revoke(
    State(gw): Gw,
    headers: HeaderMap,
    Path(key_id): Path<String>,
    body: Body,
) -> Response {
    authed(gw, &headers, |gw, k| async move {
        let b: ReasonBody = parse_body(&body_bytes(body).await?)?;
        if key_id == k.id {
            return Err(ApiError::bad("a key cannot revoke itself over HTTP"));
        }
        gw.revoke_key(&k.app_id, &key_id, b.reason.as_deref().unwrap_or(""))
            .await
    })
    .await
}

#[derive(Deserialize, Default)]
struct ServicesQuery {
    edge_id: Option<String>,
    location: Option<String>,
}

async fn services(State(gw): Gw, headers: HeaderMap, Query(q): Query<ServicesQuery>) -> Response {
    authed(gw, &headers, |gw, k| async move {
        to_json(
            gw.list_services(&k.app_id, q.edge_id.as_deref(), q.location.as_deref())
                .await?,
        )
    })
    .await
}

async fn service_describe(State(gw): Gw, headers: HeaderMap, Path(name): Path<String>) -> Response {
    authed(gw, &headers, |gw, k| async move {
        gw.describe(&k.app_id, &name).await
    })
    .await
}

async fn service_llm(State(gw): Gw, headers: HeaderMap, Path(name): Path<String>) -> Response {
    let r = with_key(gw, &headers, |gw, k| async move {
        gw.describe(&k.app_id, &name).await
    })
    .await;
    match r {
        Ok(d) => {
            let mut resp = crate::llmtxt::render(&d).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            with_headers(resp)
        }
        Err(e) => json_reply(Err(e)),
    }
}

// ---- convex-push (docs/protocol.md) ----------------------------------------------------------

const MAX_PUSH_EVENTS: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushBody {
    version: u64,
    app_sync: bool,
    events: Vec<PushEvent>,
}

#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct PushEvent {
    event_id: String,
    collection: String,
    doc_id: String,
    delta: String,
    format: u64,
    version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin_edge_id: Option<String>,
}

fn push_reply(r: ApiResult<Value>) -> Response {
    let (status, body) = match r {
        Ok(v) => (
            StatusCode::OK,
            json!({ "version": 1, "success": true, "data": v }),
        ),
        Err(e) => {
            let code = if e.code == "PAYLOAD_TOO_LARGE" {
                "BAD_REQUEST"
            } else {
                e.code
            };
            (
                status_of(e.status),
                json!({ "version": 1, "success": false, "error": { "code": code, "message": e.message } }),
            )
        }
    };
    let mut resp = with_headers((status, axum::Json(body)).into_response());
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

fn valid_collection(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

async fn convex_push(State(gw): Gw, headers: HeaderMap, body: Body) -> Response {
    push_reply(
        with_key(gw, &headers, |gw, k| async move {
            let bytes = body_bytes(body).await?;
            let raw: Value = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::bad(format!("body is not JSON: {e}")))?;
            match raw.get("version") {
                Some(v) if v == &json!(1) => {}
                Some(_) => {
                    return Err(ApiError::new(
                        "UNSUPPORTED_VERSION",
                        400,
                        "version must be 1",
                    ))
                }
                None => return Err(ApiError::bad("version is missing")),
            }
            let b: PushBody = serde_json::from_value(raw)
                .map_err(|e| ApiError::bad(format!("bad convex-push body: {e}")))?;
            if b.version != 1 || !b.app_sync {
                return Err(ApiError::bad("app_sync must be true"));
            }
            if b.events.len() > MAX_PUSH_EVENTS {
                return Err(ApiError::bad(format!("at most {MAX_PUSH_EVENTS} events")));
            }
            for (i, e) in b.events.iter().enumerate() {
                if e.event_id.is_empty() || e.event_id.len() > 256 {
                    return Err(ApiError::bad(format!(
                        "events[{i}].event_id must be 1-256 characters"
                    )));
                }
                if !valid_collection(&e.collection) {
                    return Err(ApiError::bad(format!(
                        "events[{i}].collection must be a table name"
                    )));
                }
                if e.doc_id.is_empty() || e.doc_id.len() > 512 {
                    return Err(ApiError::bad(format!(
                        "events[{i}].doc_id must be 1-512 characters"
                    )));
                }
                if e.format != 2 {
                    return Err(ApiError::bad(format!("events[{i}].format must be 2")));
                }
                if base64::engine::general_purpose::STANDARD
                    .decode(&e.delta)
                    .is_err()
                {
                    return Err(ApiError::bad(format!("events[{i}].delta must be base64")));
                }
            }
            let mut duplicates = 0u64;
            if !b.events.is_empty() {
                gw.store
                    .ensure_push_stream(&k.app_id)
                    .await
                    .map_err(|e| ApiError::new("UNAVAILABLE", 503, e))?;
            }
            for e in &b.events {
                let mut h = async_nats::HeaderMap::new();
                h.insert(
                    "Nats-Msg-Id",
                    format!("{}:{}", k.app_id, e.event_id).as_str(),
                );
                let payload = serde_json::to_vec(&json!({ "app_id": k.app_id, "event": e }))
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                let subject = format!("dink.push.{}.{}", k.app_id, e.collection);
                let ack = gw
                    .store
                    .js
                    .publish_with_headers(subject, h, payload.into())
                    .await
                    .map_err(|e| ApiError::new("UNAVAILABLE", 503, format!("publish: {e}")))?
                    .await
                    .map_err(|e| ApiError::new("UNAVAILABLE", 503, format!("publish ack: {e}")))?;
                if ack.duplicate {
                    duplicates += 1;
                }
            }
            gw.metrics
                .convex_push_events
                .fetch_add(b.events.len() as u64, Ordering::Relaxed);
            gw.metrics
                .convex_push_duplicates
                .fetch_add(duplicates, Ordering::Relaxed);
            Ok(json!({ "accepted": b.events.len() }))
        })
        .await,
    )
}

/// `ANY /tunnels/<tunnel_id>/<path>`: one HTTP exchange with the edge behind the tunnel
/// (`tunnel.rs`), with an app key of the tunnel's app. `Authorization` is not forwarded.
async fn tunnel(
    State(gw): Gw,
    Path(params): Path<BTreeMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = params.get("tunnel_id").cloned().unwrap_or_default();
    let prefix = format!("/tunnels/{id}");
    let rest = uri.path().strip_prefix(&prefix).unwrap_or("");
    let mut path = if rest.is_empty() {
        "/".to_string()
    } else {
        rest.to_string()
    };
    if let Some(q) = uri.query() {
        path = format!("{path}?{q}");
    }
    let fwd: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let result = with_key(gw, &headers, |gw, k| async move {
        let body = axum::body::to_bytes(body, crate::tunnel::MAX_REQUEST_BODY)
            .await
            .map_err(|_| {
                ApiError::new(
                    "PAYLOAD_TOO_LARGE",
                    413,
                    format!(
                        "body over {} bytes or unreadable",
                        crate::tunnel::MAX_REQUEST_BODY
                    ),
                )
            })?;
        crate::tunnel::proxy(&gw, &k, &id, method.as_str(), &path, &fwd, &body).await
    })
    .await;
    match result {
        Err(e) => json_reply(Err(e)),
        Ok(p) => {
            let mut r = Response::new(Body::from(p.body));
            *r.status_mut() = status_of(p.status);
            for (n, v) in p.headers {
                if let (Ok(n), Ok(v)) = (
                    header::HeaderName::from_bytes(n.as_bytes()),
                    HeaderValue::from_str(&v),
                ) {
                    r.headers_mut().append(n, v);
                }
            }
            r
        }
    }
}
