//! Presence (dink-protocol.md §5.1): register, heartbeat, deregister, kick.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, HeaderMap};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::connection::EdgeKey;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

fn auth(key: &EdgeKey) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("Authorization", key.bearer().as_str());
    h
}

/// A control-plane request; returns `data` of a `{success:true, data}` reply.
pub async fn request(
    client: &Client,
    key: &EdgeKey,
    subject: &str,
    body: &Value,
) -> Result<Value, String> {
    let fut = client.request_with_headers(subject.to_string(), auth(key), body.to_string().into());
    let msg = match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return Err(format!("{subject}: {e}")),
        Err(_) => return Err(format!("{subject}: timed out")),
    };
    let v: Value =
        serde_json::from_slice(&msg.payload).map_err(|e| format!("{subject}: bad reply: {e}"))?;
    if v.get("success") == Some(&Value::Bool(true)) {
        Ok(v.get("data").cloned().unwrap_or(Value::Null))
    } else {
        Err(format!(
            "{subject}: {}",
            v.get("error").cloned().unwrap_or(Value::Null)
        ))
    }
}

pub async fn register(
    client: &Client,
    key: &EdgeKey,
    labels: &BTreeMap<String, String>,
) -> Result<Value, String> {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let body = json!({
        "hostname": host, "ip_address": "", "labels": labels, "name": key.edge_id,
        "type": "lite", "version": env!("CARGO_PKG_VERSION"),
    });
    request(client, key, "$EDGE.PRESENCE.REGISTER", &body).await
}

pub async fn register_service(
    client: &Client,
    key: &EdgeKey,
    descriptor: &Value,
) -> Result<Value, String> {
    request(client, key, "$API.SERVICES.REGISTER", descriptor).await
}

pub async fn deregister(client: &Client, key: &EdgeKey) -> Result<Value, String> {
    request(client, key, "$EDGE.PRESENCE.DEREGISTER", &json!({})).await
}

/// Publish `{"edge_id"}` on `$EDGE.PRESENCE.HEARTBEAT` every `every` until closed.
pub fn heartbeat_loop(
    client: Client,
    key: EdgeKey,
    every: Duration,
    mut closed: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let body = json!({ "edge_id": key.edge_id }).to_string();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = closed.wait_for(|c| *c) => return,
            }
            let _ = client
                .publish_with_headers("$EDGE.PRESENCE.HEARTBEAT", auth(&key), body.clone().into())
                .await;
        }
    })
}

/// Obey `$EDGE.<app>.<edge>.KICK`: call `on_kick(reason)`, deregister, close the connection.
pub async fn watch_kick(
    client: Client,
    key: EdgeKey,
    on_kick: Option<Arc<dyn Fn(String) + Send + Sync>>,
    closed: watch::Sender<bool>,
) -> Result<JoinHandle<()>, String> {
    let subject = format!("$EDGE.{}.{}.KICK", key.app_id, key.edge_id);
    let mut sub = client
        .subscribe(subject.clone())
        .await
        .map_err(|e| format!("subscribe {subject}: {e}"))?;
    client.flush().await.map_err(|e| format!("flush: {e}"))?;
    Ok(tokio::spawn(async move {
        if let Some(msg) = sub.next().await {
            let reason = serde_json::from_slice::<Value>(&msg.payload)
                .ok()
                .and_then(|v| v.get("reason").and_then(Value::as_str).map(String::from))
                .unwrap_or_default();
            if let Some(cb) = on_kick {
                cb(reason);
            }
            let _ = deregister(&client, &key).await;
            let _ = closed.send(true);
            let _ = client.drain().await;
        }
    }))
}
