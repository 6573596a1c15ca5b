//! Gateway state in JetStream KV buckets of the GATEWAY account, so several gateway processes on
//! one NATS serve the same apps. Buckets (history 1, file storage):
//!
//! | bucket | key | value |
//! |---|---|---|
//! | `dink_apps` | `<app>` | [`App`] |
//! | `dink_keys` | `<key id>` | [`KeyMetadata`] (with `key_hash`) |
//! | `dink_edges` | `<app>.<edge>` | [`EdgeInfo`] (presence) |
//! | `dink_services` | `<app>.<edge>.<service>` | [`ServiceInfo`] with its descriptor |
//! | `dink_bridges` | `<app>` | `bridge::BridgeConfig`: bridge secret, services, deploy key |
//! | `dink_convex` | `<app>` | [`ConvexConfig`]: the Convex site URL and the sync key secret |
//! | `dink_fanout` | `<app>` | the fan-out lease (which gateway publishes the app's events) |
//! | `dink_tunnels` | `<app>.<tunnel id>` | `tunnel::TunnelInfo` |
//!
//! KV keys cannot hold `:`, which ids may; it is written as `=` (never in an id).
//! One stream per app, `DINK_PUSH_<app>` (subjects `dink.push.<app>.>`, created on the first
//! convex-push), keeps convex-push events, deduplicated on `Nats-Msg-Id`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::types::{App, EdgeInfo, KeyMetadata, ServiceInfo};

/// KV key segment of center (non-edge) services: `_` never occurs in an edge id.
pub const CENTER: &str = "_center";

/// Bound on any listing: entries and time.
pub const MAX_LIST: usize = 10_000;
pub const LIST_TIME: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Store {
    pub js: jetstream::Context,
    pub apps: kv::Store,
    pub keys: kv::Store,
    pub edges: kv::Store,
    pub services: kv::Store,
    /// Per-app bridge configuration (`bridge::BridgeConfig`), kept out of the App record.
    pub bridges: kv::Store,
    /// Per-app Convex configuration with the sync key's secret ([`ConvexConfig`]).
    pub convex: kv::Store,
    /// Per-app fan-out leases (max age [`LEASE_TTL`]).
    pub fanout: kv::Store,
    /// Registered tunnels (`tunnel.rs`).
    pub tunnels: kv::Store,
    /// Push streams known to exist (created or seen by this process).
    streams: Arc<Mutex<HashSet<String>>>,
}

/// What the gateway needs to call an app's Convex deployment (bucket `dink_convex`; never
/// returned by any API).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ConvexConfig {
    pub site_url: String,
    pub sync_key: String,
}

/// A fan-out lease not renewed for this long expires (its KV entry ages out).
pub const LEASE_TTL: Duration = Duration::from_secs(6);
/// Name of the legacy single push stream (its subjects overlap the per-app streams).
pub const LEGACY_PUSH_STREAM: &str = "DINK_CONVEX_PUSH";

/// The app's push stream: `DINK_PUSH_<app>` with `:` written `_`.
pub fn push_stream_name(app: &str) -> String {
    format!("DINK_PUSH_{}", app.replace(':', "_"))
}

pub type StoreResult<T> = Result<T, String>;

pub fn tok(id: &str) -> String {
    id.replace(':', "=")
}

async fn bucket(js: &jetstream::Context, name: &str) -> StoreResult<kv::Store> {
    if let Ok(s) = js.get_key_value(name).await {
        return Ok(s);
    }
    js.create_key_value(kv::Config {
        bucket: name.to_string(),
        history: 1,
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("create bucket {name}: {e}"))
}

impl Store {
    pub async fn open(state: async_nats::Client) -> StoreResult<Store> {
        let js = jetstream::new(state);
        let apps = bucket(&js, "dink_apps").await?;
        let keys = bucket(&js, "dink_keys").await?;
        let edges = bucket(&js, "dink_edges").await?;
        let services = bucket(&js, "dink_services").await?;
        let bridges = bucket(&js, "dink_bridges").await?;
        let convex = bucket(&js, "dink_convex").await?;
        let tunnels = bucket(&js, "dink_tunnels").await?;
        let fanout = match js.get_key_value("dink_fanout").await {
            Ok(s) => s,
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: "dink_fanout".into(),
                    history: 1,
                    max_age: LEASE_TTL,
                    storage: jetstream::stream::StorageType::Memory,
                    ..Default::default()
                })
                .await
                .map_err(|e| format!("create bucket dink_fanout: {e}"))?,
        };
        // The single stream of the first slice: its subjects (`dink.push.>`) overlap the
        // per-app streams', which JetStream refuses.
        if js.get_stream(LEGACY_PUSH_STREAM).await.is_ok() {
            js.delete_stream(LEGACY_PUSH_STREAM)
                .await
                .map_err(|e| format!("delete stream {LEGACY_PUSH_STREAM}: {e}"))?;
        }
        Ok(Store {
            js,
            apps,
            keys,
            edges,
            services,
            bridges,
            convex,
            fanout,
            tunnels,
            streams: Arc::default(),
        })
    }

    /// Create the app's push stream if this process has not seen it yet.
    pub async fn ensure_push_stream(&self, app: &str) -> StoreResult<()> {
        let name = push_stream_name(app);
        if self
            .streams
            .lock()
            .map(|s| s.contains(&name))
            .unwrap_or(false)
        {
            return Ok(());
        }
        self.js
            .get_or_create_stream(jetstream::stream::Config {
                name: name.clone(),
                subjects: vec![format!("dink.push.{app}.>")],
                duplicate_window: Duration::from_secs(3600),
                max_age: Duration::from_secs(7 * 86400),
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| format!("create stream {name}: {e}"))?;
        if let Ok(mut s) = self.streams.lock() {
            s.insert(name);
        }
        Ok(())
    }

    /// The app's push stream, if it exists.
    pub async fn push_stream(&self, app: &str) -> Option<jetstream::stream::Stream> {
        self.js.get_stream(push_stream_name(app)).await.ok()
    }

    /// The app's Convex configuration (`dink_convex`), if any.
    pub async fn convex_config(&self, app: &str) -> StoreResult<Option<ConvexConfig>> {
        Self::get(&self.convex, &tok(app)).await
    }

    pub async fn get<T: DeserializeOwned>(b: &kv::Store, key: &str) -> StoreResult<Option<T>> {
        match b.get(key).await.map_err(|e| format!("kv get {key}: {e}"))? {
            None => Ok(None),
            Some(bytes) if bytes.is_empty() => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("kv decode {key}: {e}")),
        }
    }

    pub async fn put<T: Serialize>(b: &kv::Store, key: &str, v: &T) -> StoreResult<()> {
        let bytes = serde_json::to_vec(v).map_err(|e| e.to_string())?;
        b.put(key, bytes.into())
            .await
            .map(|_| ())
            .map_err(|e| format!("kv put {key}: {e}"))
    }

    /// Create only if absent; `Ok(false)` if it existed.
    pub async fn create<T: Serialize>(b: &kv::Store, key: &str, v: &T) -> StoreResult<bool> {
        let bytes = serde_json::to_vec(v).map_err(|e| e.to_string())?;
        match b.create(key, bytes.into()).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(format!("kv create {key}: {e}")),
        }
    }

    /// All values whose key starts with `prefix`, bounded by [`MAX_LIST`] and [`LIST_TIME`].
    pub async fn list<T: DeserializeOwned>(b: &kv::Store, prefix: &str) -> StoreResult<Vec<T>> {
        let start = Instant::now();
        let mut keys = b.keys().await.map_err(|e| format!("kv keys: {e}"))?;
        let mut names = Vec::new();
        loop {
            let left = LIST_TIME.saturating_sub(start.elapsed());
            match tokio::time::timeout(left, keys.next()).await {
                Ok(Some(Ok(k))) => {
                    if k.starts_with(prefix) {
                        names.push(k);
                    }
                    if names.len() >= MAX_LIST {
                        break;
                    }
                }
                Ok(Some(Err(e))) => return Err(format!("kv keys: {e}")),
                Ok(None) => break,
                Err(_) => return Err("kv listing timed out".into()),
            }
        }
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            if start.elapsed() > LIST_TIME * 2 {
                return Err("kv listing timed out".into());
            }
            if let Some(v) = Self::get(b, &n).await? {
                out.push(v);
            }
        }
        Ok(out)
    }

    pub async fn app(&self, id: &str) -> StoreResult<Option<App>> {
        Self::get(&self.apps, &tok(id)).await
    }
    pub async fn key(&self, id: &str) -> StoreResult<Option<KeyMetadata>> {
        Self::get(&self.keys, &tok(id)).await
    }
    pub async fn edge(&self, app: &str, edge: &str) -> StoreResult<Option<EdgeInfo>> {
        Self::get(&self.edges, &format!("{}.{}", tok(app), tok(edge))).await
    }
    pub async fn put_edge(&self, e: &EdgeInfo) -> StoreResult<()> {
        Self::put(
            &self.edges,
            &format!("{}.{}", tok(&e.app_id), tok(&e.id)),
            e,
        )
        .await
    }
    pub async fn edges_of(&self, app: &str) -> StoreResult<Vec<EdgeInfo>> {
        Self::list(&self.edges, &format!("{}.", tok(app))).await
    }
    pub async fn services_of(&self, app: &str) -> StoreResult<Vec<ServiceInfo>> {
        Self::list(&self.services, &format!("{}.", tok(app))).await
    }
    pub async fn put_service(&self, s: &ServiceInfo) -> StoreResult<()> {
        let edge = s.edge_id.as_deref().unwrap_or(CENTER);
        Self::put(
            &self.services,
            &format!("{}.{}.{}", tok(&s.app_id), tok(edge), tok(&s.name)),
            s,
        )
        .await
    }
    pub async fn delete_service(&self, app: &str, edge: &str, name: &str) -> StoreResult<()> {
        self.services
            .delete(format!("{}.{}.{}", tok(app), tok(edge), tok(name)))
            .await
            .map_err(|e| format!("kv delete: {e}"))
    }
}
