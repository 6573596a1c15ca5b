//! RPC handlers on `edge.<app>.<edge>.services.<Service>.<Method>` (dink-protocol.md §6):
//! request `{metadata, payload}` (a body without `payload` is passed through whole), reply
//! `{success:true, result}` or `{success:false, error:{code,message}}`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_nats::Client;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::connection::EdgeKey;

#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    pub code: String,
    pub message: String,
}

impl RpcError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> RpcError {
        RpcError {
            code: code.into(),
            message: message.into(),
        }
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, RpcError>> + Send>>;
/// A method handler: `(payload, metadata) -> result`.
pub type Handler = Arc<dyn Fn(Value, HashMap<String, String>) -> HandlerFuture + Send + Sync>;

/// Wrap an async closure as a [`Handler`].
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Value, HashMap<String, String>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, RpcError>> + Send + 'static,
{
    Arc::new(move |p, m| Box::pin(f(p, m)))
}

#[derive(Default, Clone)]
pub struct Table {
    methods: HashMap<(String, String), Handler>,
}

impl Table {
    pub fn insert(&mut self, service: &str, method: &str, h: Handler) {
        self.methods
            .insert((service.to_string(), method.to_string()), h);
    }
}

/// Largest request the edge parses.
const MAX_REQUEST: usize = 1024 * 1024;

pub async fn serve(client: Client, key: &EdgeKey, table: Table) -> Result<JoinHandle<()>, String> {
    let prefix = format!("edge.{}.{}.services.", key.app_id, key.edge_id);
    let mut sub = client
        .subscribe(format!("{prefix}>"))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    let table = Arc::new(table);
    Ok(tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            let Some(reply) = msg.reply.clone() else {
                continue;
            };
            let tail = msg
                .subject
                .as_str()
                .strip_prefix(&prefix)
                .unwrap_or("")
                .to_string();
            let table = table.clone();
            let client = client.clone();
            tokio::spawn(async move {
                let out = answer(&table, &tail, &msg.payload).await;
                let body = match out {
                    Ok(v) => json!({ "success": true, "result": v }),
                    Err(e) => {
                        json!({ "success": false, "error": { "code": e.code, "message": e.message } })
                    }
                };
                let _ = client.publish(reply, body.to_string().into()).await;
            });
        }
    }))
}

async fn answer(table: &Table, tail: &str, payload: &[u8]) -> Result<Value, RpcError> {
    let (service, method) = tail
        .split_once('.')
        .ok_or_else(|| RpcError::new("NOT_FOUND", "bad subject"))?;
    let h = table
        .methods
        .get(&(service.to_string(), method.to_string()))
        .ok_or_else(|| RpcError::new("NOT_FOUND", format!("no method {service}.{method}")))?;
    if payload.len() > MAX_REQUEST {
        return Err(RpcError::new("PAYLOAD_TOO_LARGE", "request too large"));
    }
    let v: Value = serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into()));
    let (p, meta) = match v.get("payload") {
        Some(p) => {
            let meta = v
                .get("metadata")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, x)| x.as_str().map(|s| (k.clone(), s.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            (p.clone(), meta)
        }
        None => (v, HashMap::new()),
    };
    h(p, meta).await
}
