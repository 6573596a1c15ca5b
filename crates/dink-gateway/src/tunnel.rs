//! Tunnels (dink-protocol.md §5, §7, §14): an edge with `tunnel:expose` registers a local HTTP
//! server under a name; the gateway answers `$TUNNEL.REGISTER | UNREGISTER | LIST` and proxies
//! `ANY /tunnels/<tunnel_id>/<path>` (behind an app key, see docs/gateway.md "Tunnels") to the
//! edge as a NATS request on `edge.<app>.<edge>.tunnel.<name>.http`, carrying a
//! `TunnelHTTPRequest` and answered with a `TunnelHTTPResponse` (bodies base64).
//!
//! The real `dink tunnel` (nats.go, default `_INBOX.` prefix) is the client this is built for:
//! it exits if `$TUNNEL.REGISTER` fails, never reconnects, and sends no `$TUNNEL.UNREGISTER`
//! when kicked, so a tunnel lives only as long as its edge is online.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::client::Request;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::gateway::*;
use crate::keys;
use crate::store::{tok, Store};
use crate::types::*;

/// Largest request body forwarded: base64 (4/3) plus the envelope stays under NATS's 8 MiB.
pub const MAX_REQUEST_BODY: usize = 4 * 1024 * 1024;
/// How long the proxy waits for the edge's answer.
pub const PROXY_TIMEOUT: Duration = Duration::from_secs(30);
/// Headers that describe one hop, not the message: never forwarded either way.
const HOP_BY_HOP: &[&str] = &[
    "authorization",
    "connection",
    "content-length",
    "host",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// `TunnelInfo` (§7): one registered tunnel (bucket `dink_tunnels`, key `<app>.<tunnel_id>`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TunnelInfo {
    pub tunnel_id: String,
    pub name: String,
    pub app_id: String,
    pub edge_id: String,
    pub port: u16,
    pub url: String,
    pub domain: String,
    pub created_at: String,
}

#[derive(Deserialize, Default)]
pub struct RegisterBody {
    #[serde(default)]
    edge_id: Option<String>,
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    port: i64,
}

#[derive(Deserialize, Default)]
pub struct UnregisterBody {
    #[serde(default)]
    tunnel_id: String,
    #[serde(default)]
    app_id: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListBody {
    #[serde(default)]
    app_id: Option<String>,
}

/// `TunnelHTTPRequest` (§7).
#[derive(Serialize)]
struct HttpRequest<'a> {
    method: &'a str,
    path: &'a str,
    headers: BTreeMap<String, Vec<String>>,
    body: String,
}

/// `TunnelHTTPResponse` (§7). `chunk_subject` / `total_size` of chunked answers are not read:
/// chunked answers are refused (docs/gateway.md, "Not built").
#[derive(Deserialize)]
struct HttpResponse {
    status_code: u16,
    #[serde(default)]
    headers: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    chunked: bool,
}

/// What the proxy answers the HTTP client: status, headers, body.
pub struct Proxied {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Same app, edge and name: same id, so a restarted `dink tunnel` gets its URL back.
pub fn tunnel_id(app: &str, edge: &str, name: &str) -> String {
    let d = Sha256::digest(format!("{app}\n{edge}\n{name}").as_bytes());
    let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("t{hex}")
}

fn kv_key(app: &str, id: &str) -> String {
    format!("{}.{}", tok(app), tok(id))
}

/// The key's own edge, if it may expose tunnels.
fn tunnel_edge(k: &KeyMetadata) -> ApiResult<&str> {
    let edge = k.edge_id.as_deref().filter(|_| k.key_type == "edge");
    match edge {
        Some(e) if keys::has_scope(k, "tunnel:expose") || keys::has_scope(k, "tunnel:domain") => {
            Ok(e)
        }
        Some(_) => Err(ApiError::forbidden(
            "this key lacks the scope tunnel:expose",
        )),
        None => Err(ApiError::forbidden("only edge keys register tunnels")),
    }
}

/// `$TUNNEL.REGISTER {edge_id, app_id, name, port}` -> `{tunnel_id, url, domain}`.
pub async fn register(gw: &Gateway, k: &KeyMetadata, b: RegisterBody) -> ApiResult<Value> {
    let edge = tunnel_edge(k)?;
    let app = gw.app_for(k, b.app_id.as_deref()).await?;
    if let Some(e) = b.edge_id.as_deref().filter(|e| !e.is_empty()) {
        if e != edge {
            return Err(ApiError::forbidden(format!(
                "this key belongs to edge {edge:?}, not {e:?}"
            )));
        }
    }
    if !keys::valid_id(&b.name) {
        return Err(ApiError::bad(
            "name must be 1-64 letters, digits, '-' or ':'",
        ));
    }
    let port = u16::try_from(b.port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| ApiError::bad("port must be 1-65535"))?;
    let id = tunnel_id(&app, edge, &b.name);
    let info = TunnelInfo {
        url: format!("{}/tunnels/{id}/", gw.http_url()),
        tunnel_id: id,
        name: b.name,
        app_id: app,
        edge_id: edge.to_string(),
        port,
        domain: String::new(),
        created_at: rfc3339_ms(now_ms()),
    };
    Store::put(
        &gw.store.tunnels,
        &kv_key(&info.app_id, &info.tunnel_id),
        &info,
    )
    .await?;
    Ok(serde_json::json!({ "tunnel_id": info.tunnel_id, "url": info.url, "domain": info.domain }))
}

/// `$TUNNEL.UNREGISTER {tunnel_id}`: an edge removes its own tunnels; app admins any of the app's.
pub async fn unregister(gw: &Gateway, k: &KeyMetadata, b: UnregisterBody) -> ApiResult<Value> {
    let app = gw.app_for(k, b.app_id.as_deref()).await?;
    let t = get(gw, &app, &b.tunnel_id).await?;
    let own = k.key_type == "edge" && k.edge_id.as_deref() == Some(t.edge_id.as_str());
    if !own && !keys::has_scope(k, "apps:manage") {
        return Err(ApiError::forbidden(
            "only the tunnel's edge or an app admin removes a tunnel",
        ));
    }
    delete(gw, &app, &t.tunnel_id).await?;
    Ok(serde_json::json!({ "tunnel_id": t.tunnel_id, "unregistered": true }))
}

/// `$TUNNEL.LIST {app_id}` -> the app's tunnels whose edge is online.
pub async fn list(gw: &Gateway, k: &KeyMetadata, b: ListBody) -> ApiResult<Vec<TunnelInfo>> {
    if !(keys::has_scope(k, "tunnel:expose")
        || keys::has_scope(k, "tunnel:domain")
        || keys::has_scope(k, "edges:discover")
        || keys::has_scope(k, "apps:manage"))
    {
        return Err(ApiError::forbidden(
            "this key lacks the scope tunnel:expose or edges:discover",
        ));
    }
    let app = gw.app_for(k, b.app_id.as_deref()).await?;
    let all: Vec<TunnelInfo> = Store::list(&gw.store.tunnels, &format!("{}.", tok(&app))).await?;
    let mut out = Vec::new();
    for t in all {
        if edge_online(gw, &t).await? {
            out.push(t);
        }
    }
    out.sort_by(|a, b| (&a.edge_id, &a.name).cmp(&(&b.edge_id, &b.name)));
    Ok(out)
}

/// Drop every tunnel of an edge that left (deregistered or kicked).
pub async fn forget_edge(gw: &Gateway, app: &str, edge: &str) -> ApiResult<()> {
    let all: Vec<TunnelInfo> = Store::list(&gw.store.tunnels, &format!("{}.", tok(app))).await?;
    for t in all.iter().filter(|t| t.edge_id == edge) {
        delete(gw, app, &t.tunnel_id).await?;
    }
    Ok(())
}

async fn get(gw: &Gateway, app: &str, id: &str) -> ApiResult<TunnelInfo> {
    let not_found = || ApiError::not_found("TUNNEL_NOT_FOUND", format!("no tunnel {id:?}"));
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(not_found());
    }
    Store::get(&gw.store.tunnels, &kv_key(app, id))
        .await?
        .ok_or_else(not_found)
}

async fn delete(gw: &Gateway, app: &str, id: &str) -> ApiResult<()> {
    gw.store
        .tunnels
        .delete(kv_key(app, id))
        .await
        .map_err(|e| ApiError::internal(format!("kv delete: {e}")))
}

async fn edge_online(gw: &Gateway, t: &TunnelInfo) -> ApiResult<bool> {
    Ok(match gw.store.edge(&t.app_id, &t.edge_id).await? {
        Some(e) => gw.edge_status(&e) == "online",
        None => false,
    })
}

/// Forward one HTTP request to the tunnel `id` of `k`'s app. `path_and_query` starts with `/`.
pub async fn proxy(
    gw: &Gateway,
    k: &KeyMetadata,
    id: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> ApiResult<Proxied> {
    let t = get(gw, &k.app_id, id).await?;
    if !edge_online(gw, &t).await? {
        return Err(ApiError::new(
            "TUNNEL_OFFLINE",
            502,
            format!("the edge {:?} serving this tunnel is offline", t.edge_id),
        ));
    }
    let mut fwd: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        if !HOP_BY_HOP.contains(&name.to_ascii_lowercase().as_str()) {
            fwd.entry(canonical_header(name))
                .or_default()
                .push(value.clone());
        }
    }
    let req = HttpRequest {
        method,
        path: path_and_query,
        headers: fwd,
        body: base64::engine::general_purpose::STANDARD.encode(body),
    };
    let payload = serde_json::to_vec(&req).map_err(|e| ApiError::internal(e.to_string()))?;
    let subject = format!("edge.{}.{}.tunnel.{}.http", t.app_id, t.edge_id, t.name);
    let res = gw
        .bus
        .send_request(
            subject,
            Request::new()
                .payload(payload.into())
                .timeout(Some(PROXY_TIMEOUT)),
        )
        .await;
    let msg = match res {
        Ok(m) => m,
        Err(e) => {
            use async_nats::client::RequestErrorKind as K;
            return Err(match e.kind() {
                K::TimedOut => ApiError::new("TIMEOUT", 504, "the tunnel did not answer in time"),
                K::NoResponders => ApiError::new(
                    "TUNNEL_UNAVAILABLE",
                    502,
                    "no edge is serving this tunnel right now",
                ),
                _ => ApiError::new("TUNNEL_UNAVAILABLE", 502, e.to_string()),
            });
        }
    };
    let bad = |m: String| ApiError::new("BAD_TUNNEL_RESPONSE", 502, m);
    let r: HttpResponse = serde_json::from_slice(&msg.payload).map_err(|e| {
        bad(format!(
            "the edge's answer is not a TunnelHTTPResponse: {e}"
        ))
    })?;
    if r.chunked {
        return Err(ApiError::new(
            "TUNNEL_CHUNKED_UNSUPPORTED",
            502,
            "the edge answered in chunks, which this gateway does not relay",
        ));
    }
    if !(100..=599).contains(&r.status_code) {
        return Err(bad(format!("status_code {} out of range", r.status_code)));
    }
    let body = base64::engine::general_purpose::STANDARD
        .decode(r.body.as_bytes())
        .map_err(|e| bad(format!("body is not base64: {e}")))?;
    let headers = r
        .headers
        .into_iter()
        .filter(|(n, _)| !HOP_BY_HOP.contains(&n.to_ascii_lowercase().as_str()))
        .flat_map(|(n, vs)| vs.into_iter().map(move |v| (n.clone(), v)))
        .collect();
    Ok(Proxied {
        status: r.status_code,
        headers,
        body,
    })
}

/// `content-type` -> `Content-Type`, as Go's `http.Header` keys are written.
fn canonical_header(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = tunnel_id("app", "e1", "web");
        assert_eq!(a, tunnel_id("app", "e1", "web"));
        assert_ne!(a, tunnel_id("app", "e1", "api"));
        assert_ne!(a, tunnel_id("app", "e2", "web"));
        assert_eq!(a.len(), 17);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn header_names_are_canonical() {
        assert_eq!(canonical_header("content-type"), "Content-Type");
        assert_eq!(canonical_header("X-FORWARDED-FOR"), "X-Forwarded-For");
        assert_eq!(canonical_header("accept"), "Accept");
    }
}
