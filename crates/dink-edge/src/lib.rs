//! dink-edge: a small Rust edge for the dink gateway.
//!
//! It connects with its edge key (`dk_<env>_ed_<app>_<edge>_<random>`) as the NATS token and the
//! key's private inbox prefix, registers presence and its services (with ServiceDescriptors),
//! heartbeats, answers RPC on `edge.<app>.<edge>.services.<Service>.<Method>`, and on a kick runs
//! its `on_kick` callback, deregisters and disconnects.
//!
//! With `sync/` it is also the edge sync client (docs/edge.md): rows of Convex tables in a durable
//! local store, written offline, pushed through the gateway, kept current from the fan-out.
//!
//! Layout: `sync/` (the sync client), `control.rs` (the binary's stdin protocol), `connection.rs` (key parsing,
//! connecting), `presence.rs` (register, heartbeat, deregister, kick), `rpc.rs` (handlers).

pub mod bridge;
pub mod connection;
pub mod control;
pub mod presence;
pub mod rpc;
pub mod sync;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use connection::EdgeKey;
pub use rpc::{Handler, RpcError};

type KickCallback = Arc<dyn Fn(String) + Send + Sync>;

/// Builder for an [`Edge`].
pub struct EdgeBuilder {
    url: String,
    key: String,
    heartbeat: Duration,
    labels: std::collections::BTreeMap<String, String>,
    services: Vec<(Value, Vec<(String, Handler)>)>,
    on_kick: Option<KickCallback>,
}

impl EdgeBuilder {
    pub fn new(url: impl Into<String>, key: impl Into<String>) -> EdgeBuilder {
        EdgeBuilder {
            url: url.into(),
            key: key.into(),
            heartbeat: Duration::from_secs(30),
            labels: Default::default(),
            services: Vec::new(),
            on_kick: None,
        }
    }

    /// Heartbeat interval (default 30 s, as the CLI's edge).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    pub fn label(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.labels.insert(k.into(), v.into());
        self
    }

    /// A service: its descriptor (snake_case ServiceDescriptor, `name` required) and handlers by
    /// method name.
    pub fn service(mut self, descriptor: Value, handlers: Vec<(String, Handler)>) -> Self {
        self.services.push((descriptor, handlers));
        self
    }

    pub fn on_kick(mut self, f: impl Fn(String) + Send + Sync + 'static) -> Self {
        self.on_kick = Some(Arc::new(f));
        self
    }

    pub async fn start(self) -> Result<Edge, String> {
        let key = EdgeKey::parse(&self.key)?;
        let client = connection::connect(&self.url, &key).await?;
        let (closed_tx, closed_rx) = watch::channel(false);
        let mut tasks: Vec<JoinHandle<()>> = Vec::new();
        let mut table = rpc::Table::default();
        for (d, hs) in &self.services {
            let name = d
                .get("name")
                .and_then(Value::as_str)
                .ok_or("service descriptor without name")?;
            for (m, h) in hs {
                table.insert(name, m, h.clone());
            }
        }
        tasks.push(rpc::serve(client.clone(), &key, table).await?);
        presence::register(&client, &key, &self.labels).await?;
        for (d, _) in &self.services {
            presence::register_service(&client, &key, d).await?;
        }
        tasks.push(
            presence::watch_kick(
                client.clone(),
                key.clone(),
                self.on_kick.clone(),
                closed_tx.clone(),
            )
            .await?,
        );
        tasks.push(presence::heartbeat_loop(
            client.clone(),
            key.clone(),
            self.heartbeat,
            closed_rx.clone(),
        ));
        Ok(Edge {
            bridge: bridge::Bridge::new(client.clone(), key.clone()),
            client,
            key,
            tasks,
            closed: closed_rx,
            closed_tx,
        })
    }
}

/// A running edge.
pub struct Edge {
    pub client: async_nats::Client,
    pub key: EdgeKey,
    /// Calls to Convex through the gateway's bridge relay, with the edge's token cache.
    pub bridge: bridge::Bridge,
    tasks: Vec<JoinHandle<()>>,
    closed: watch::Receiver<bool>,
    closed_tx: watch::Sender<bool>,
}

impl Edge {
    /// True once the edge was kicked or shut down.
    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Wait (at most `limit`) until the edge is closed; true if it is.
    pub async fn wait_closed(&self, limit: Duration) -> bool {
        let mut rx = self.closed.clone();
        let done = tokio::time::timeout(limit, rx.wait_for(|c| *c)).await;
        matches!(done, Ok(Ok(_)))
    }

    /// Deregister and disconnect.
    pub async fn shutdown(mut self) {
        if !self.is_closed() {
            let _ = presence::deregister(&self.client, &self.key).await;
            let _ = self.closed_tx.send(true);
        }
        let _ = self.client.drain().await;
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}
