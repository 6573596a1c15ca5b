//! Calls from an edge to Convex through the gateway's bridge relay (docs/gateway.md, "Bridge
//! relay"; dink-protocol.md §10): `call_center(service, method, payload)` sends
//! `{payload, _dink: <token>}` on `center.<app>.services.<Service>.<Method>`, and the gateway
//! relays it to the Convex function the app's bridge configuration names, which verifies the
//! token (`verifyDinkToken` / `extractAndVerifyDink`).
//!
//! Tokens come from `$EDGE.<app>.<edge>.CONVEX_TOKEN` (5-minute lifetime). They are cached and
//! refreshed [`REFRESH_BEFORE`] before they expire, and however many calls wait for a fresh
//! one, only one request is in flight: the refresh happens under an async lock that the
//! waiting callers queue on, and they find the new token when they get the lock.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::{Client, HeaderMap};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::connection::EdgeKey;
use crate::presence;

/// Refresh a cached token this long before its `exp` (as dinkd's edge SDKs do).
pub const REFRESH_BEFORE: Duration = Duration::from_secs(60);
/// How long a bridge call waits for the gateway (which caps a relayed call at 30 s).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(35);

/// A failed bridge call: the gateway's (or Convex's) `{code, message}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeError {
    pub code: String,
    pub message: String,
}

impl BridgeError {
    fn new(code: &str, message: impl Into<String>) -> BridgeError {
        BridgeError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// The edge's bridge client: a token cache and `call_center`. Cheap to clone.
#[derive(Clone)]
pub struct Bridge {
    client: Client,
    key: EdgeKey,
    token: Arc<Mutex<Option<Value>>>,
    fetches: Arc<std::sync::atomic::AtomicU64>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Whether `token` is still good for at least [`REFRESH_BEFORE`].
fn fresh(token: &Value) -> bool {
    token
        .get("exp")
        .and_then(Value::as_u64)
        .is_some_and(|exp| exp > now_secs() + REFRESH_BEFORE.as_secs())
}

impl Bridge {
    pub fn new(client: Client, key: EdgeKey) -> Bridge {
        Bridge {
            client,
            key,
            token: Arc::new(Mutex::new(None)),
            fetches: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// How many token requests this client has made (one per refresh, however many callers).
    pub fn token_fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A bridge token for this edge (`{edgeId, appId, groups, exp, sig}`), from the cache when
    /// it is good for at least [`REFRESH_BEFORE`] more.
    pub async fn token(&self) -> Result<Value, BridgeError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| fresh(t)) {
            return Ok(t.clone());
        }
        let subject = format!(
            "$EDGE.{}.{}.CONVEX_TOKEN",
            self.key.app_id, self.key.edge_id
        );
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = presence::request(&self.client, &self.key, &subject, &json!({}))
            .await
            .map_err(|e| BridgeError::new("TOKEN_UNAVAILABLE", e))?;
        if token.get("sig").and_then(Value::as_str).is_none() {
            return Err(BridgeError::new(
                "TOKEN_UNAVAILABLE",
                format!("{subject}: the reply is not a token: {token}"),
            ));
        }
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Calls the Convex function bridged as `service.method` with `payload` (a JSON object, or
    /// null for none); resolves to its return value.
    pub async fn call_center(
        &self,
        service: &str,
        method: &str,
        payload: Value,
    ) -> Result<Value, BridgeError> {
        let token = self.token().await?;
        let groups = token
            .get("groups")
            .and_then(Value::as_array)
            .map(|g| {
                g.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert("Authorization", self.key.bearer().as_str());
        headers.insert("Dink-Edge-ID", self.key.edge_id.as_str());
        headers.insert("Dink-Groups", groups.as_str());
        let subject = format!("center.{}.services.{service}.{method}", self.key.app_id);
        let body = json!({ "payload": payload, "_dink": token }).to_string();
        let fut = self
            .client
            .request_with_headers(subject.clone(), headers, body.into());
        let msg = match tokio::time::timeout(CALL_TIMEOUT, fut).await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => return Err(BridgeError::new("UNAVAILABLE", format!("{subject}: {e}"))),
            Err(_) => return Err(BridgeError::new("TIMEOUT", format!("{subject}: no reply"))),
        };
        let reply: Value = serde_json::from_slice(&msg.payload)
            .map_err(|e| BridgeError::new("BAD_REPLY", format!("{subject}: not JSON: {e}")))?;
        if reply.get("success") == Some(&Value::Bool(true)) {
            return Ok(reply.get("data").cloned().unwrap_or(Value::Null));
        }
        let error = reply.get("error");
        let text = |k: &str| {
            error
                .and_then(|e| e.get(k))
                .and_then(Value::as_str)
                .map(String::from)
        };
        Err(BridgeError {
            code: text("code").unwrap_or_else(|| "BAD_REPLY".into()),
            message: text("message").unwrap_or_else(|| format!("{subject}: {reply}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_expiring_in(secs: i64) -> Value {
        let exp = now_secs() as i64 + secs;
        json!({ "edgeId": "e", "appId": "a", "groups": [], "exp": exp, "sig": "00" })
    }

    #[test]
    fn a_token_is_refreshed_a_minute_before_it_expires() {
        assert!(
            fresh(&token_expiring_in(300)),
            "a new 5-minute token is used"
        );
        assert!(fresh(&token_expiring_in(61)));
        assert!(
            !fresh(&token_expiring_in(59)),
            "inside the last minute: refresh"
        );
        assert!(!fresh(&token_expiring_in(-5)), "expired");
        assert!(!fresh(&json!({ "sig": "00" })), "no exp: refresh");
    }
}
