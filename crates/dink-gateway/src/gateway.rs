//! The gateway: configuration, start-up, and the operations shared by the NATS control plane
//! (`control.rs`) and the HTTP API (`http.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::{HeaderMap, Request};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::cache::TtlCache;
use crate::keys;
use crate::metrics::Metrics;
use crate::natsd::{NatsCreds, APPS_ACCOUNT, EDGES_ACCOUNT};
use crate::store::Store;
use crate::types::*;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Largest request body accepted (HTTP and NATS control plane).
pub const MAX_BODY: usize = 1024 * 1024;
/// Largest edge RPC timeout a caller may ask for.
pub const MAX_RPC_TIMEOUT: Duration = Duration::from_secs(300);
pub const DEFAULT_RPC_TIMEOUT: Duration = Duration::from_secs(30);
/// Most edges one scatter call reaches.
pub const MAX_SCATTER: usize = 1000;
/// How long a key's metadata (and an edge's existence) is served from this process's cache
/// before JetStream KV is asked again. A revoke invalidates at once (below).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(2);
/// Most entries of each lookup cache.
pub const KEY_CACHE_MAX: usize = 10_000;
/// GATEWAY-account subject every gateway process subscribes to (no queue group): the body is a
/// revoked key's id, dropped from every process's key cache.
pub const KEYS_REVOKED_SUBJECT: &str = "dink.gw.keys.revoked";

#[derive(Clone, Debug)]
pub struct Config {
    pub nats: NatsCreds,
    pub http_addr: SocketAddr,
    /// `<env>` of new keys (`dk_<env>_...`): `live`, `dev`, `test`.
    pub env: String,
    pub dev_mode: bool,
    /// Where `admin.key` is read from or written to.
    pub data_dir: PathBuf,
    /// An edge is offline when its last register/heartbeat is older than this.
    pub heartbeat_timeout: Duration,
    /// Upper bound of a NATS user JWT's lifetime: a connection re-authenticates (and a revoked
    /// key is refused) at least this often.
    pub user_jwt_ttl: Duration,
    /// How long the sync relay collects edge deltas before one `applyDelta` call (ms; default
    /// 5; `--sync-batch-ms`).
    pub sync_batch_ms: u64,
    /// How long a Convex call is retried (network errors, timeouts, 5xx, 408, 429) before the
    /// edges are answered `UNAVAILABLE` (default 20 s).
    pub sync_retry_deadline: Duration,
    /// Timeout of one HTTP attempt to Convex (default 10 s).
    pub convex_attempt_timeout: Duration,
    /// Base URL clients reach this gateway's HTTP API at (tunnel URLs are built on it);
    /// `None`: `http://<bound address>` (`--public-url`).
    pub public_url: Option<String>,
}

impl Config {
    pub fn new(nats: NatsCreds, http_addr: SocketAddr, data_dir: PathBuf) -> Config {
        Config {
            nats,
            http_addr,
            env: "live".into(),
            dev_mode: false,
            data_dir,
            heartbeat_timeout: Duration::from_secs(90),
            user_jwt_ttl: Duration::from_secs(600),
            sync_batch_ms: 5,
            sync_retry_deadline: Duration::from_secs(20),
            convex_attempt_timeout: Duration::from_secs(10),
            public_url: None,
        }
    }
}

/// An error with a code, a message and an HTTP status.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

impl ApiError {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            status,
        }
    }
    pub fn bad(m: impl Into<String>) -> ApiError {
        Self::new("BAD_REQUEST", 400, m)
    }
    pub fn unauthorized() -> ApiError {
        Self::new(
            "UNAUTHORIZED",
            401,
            "missing, unknown, expired or revoked API key",
        )
    }
    pub fn forbidden(m: impl Into<String>) -> ApiError {
        Self::new("FORBIDDEN", 403, m)
    }
    pub fn not_found(code: &'static str, m: impl Into<String>) -> ApiError {
        Self::new(code, 404, m)
    }
    pub fn internal(m: impl Into<String>) -> ApiError {
        Self::new("INTERNAL", 500, m)
    }
    pub fn envelope(&self) -> Value {
        err_envelope(self.code, &self.message)
    }
}

impl From<&str> for ApiError {
    fn from(e: &str) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<String> for ApiError {
    fn from(e: String) -> ApiError {
        ApiError::internal(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Parse a JSON body strictly enough: empty means `{}`.
pub fn parse_body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> ApiResult<T> {
    if bytes.len() > MAX_BODY {
        return Err(ApiError::new(
            "PAYLOAD_TOO_LARGE",
            413,
            format!("body over {MAX_BODY} bytes"),
        ));
    }
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad(format!("invalid JSON body: {e}")))
}

pub struct Gateway {
    pub cfg: Config,
    pub store: Store,
    /// Connection in the APPS account: control plane, kicks, RPC.
    pub bus: async_nats::Client,
    /// Connection in the GATEWAY account: JetStream state, auth callout.
    pub state: async_nats::Client,
    /// Connection in the system account, when configured: closes revoked keys' connections.
    pub sys: Option<async_nats::Client>,
    pub issuer: nkeys::KeyPair,
    pub metrics: Metrics,
    /// The sync relay's in-process state (batchers, per-app counters).
    pub sync: crate::sync::SyncState,
    /// Key metadata by key id, [`KEY_CACHE_TTL`] (see [`Gateway::authenticate`]).
    pub key_cache: TtlCache<String, KeyMetadata>,
    /// `(app, edge)` pairs known to exist (edges are never deleted), [`KEY_CACHE_TTL`].
    pub edge_cache: TtlCache<(String, String), ()>,
    /// The bridge relay's control channel (`relay.rs`).
    pub relay: crate::relay::Relay,
    /// The HTTP base URL, known once the listener is bound (see [`Gateway::http_url`]).
    http_url: std::sync::OnceLock<String>,
}

/// A running gateway; its tasks stop when this is dropped (or on [`Running::shutdown`]).
pub struct Running {
    pub gateway: Arc<Gateway>,
    pub http_addr: SocketAddr,
    /// Path of the bootstrap admin key file.
    pub admin_key_file: PathBuf,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn shutdown(&mut self) {
        self.gateway.sync.shutdown();
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn connect(
    url: &str,
    user: &str,
    pass: &str,
    name: &str,
) -> Result<async_nats::Client, String> {
    async_nats::ConnectOptions::new()
        .user_and_password(user.into(), pass.into())
        .name(name)
        // A private prefix (no `_INBOX.` pattern reaches it): the replies the gateway gets (RPC
        // results, tunnel answers) stay out of reach of default-inbox readers in its account,
        // such as dev mode's anonymous `_INBOX.>` connection.
        .custom_inbox_prefix(format!("_INBOX_gw{}", crate::natsd::random_password()))
        .connection_timeout(Duration::from_secs(5))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connect(url)
        .await
        .map_err(|e| format!("connect {url} as {user}: {e}"))
}

impl Gateway {
    /// Connect, open the KV state, make sure the bootstrap admin key exists, and start the
    /// callout, control-plane and HTTP tasks.
    pub async fn start(cfg: Config) -> Result<Running, String> {
        let issuer = nkeys::KeyPair::from_seed(&cfg.nats.issuer_seed)
            .map_err(|e| format!("issuer seed: {e}"))?;
        let state = tokio::time::timeout(
            Duration::from_secs(15),
            connect(
                &cfg.nats.url,
                &cfg.nats.state_user,
                &cfg.nats.state_password,
                "dink-gateway-state",
            ),
        )
        .await
        .map_err(|_| "timed out connecting to NATS".to_string())??;
        let bus = tokio::time::timeout(
            Duration::from_secs(15),
            connect(
                &cfg.nats.url,
                &cfg.nats.bus_user,
                &cfg.nats.bus_password,
                "dink-gateway-bus",
            ),
        )
        .await
        .map_err(|_| "timed out connecting to NATS".to_string())??;
        let sys = if cfg.nats.sys_user.is_empty() {
            None
        } else {
            Some(
                tokio::time::timeout(
                    Duration::from_secs(15),
                    connect(
                        &cfg.nats.url,
                        &cfg.nats.sys_user,
                        &cfg.nats.sys_password,
                        "dink-gateway-sys",
                    ),
                )
                .await
                .map_err(|_| "timed out connecting to NATS".to_string())??,
            )
        };
        let store = tokio::time::timeout(Duration::from_secs(15), Store::open(state.clone()))
            .await
            .map_err(|_| "timed out opening JetStream state".to_string())??;
        let gw = Arc::new(Gateway {
            cfg: cfg.clone(),
            store,
            bus,
            state,
            sys,
            issuer,
            metrics: Metrics::default(),
            sync: crate::sync::SyncState::default(),
            key_cache: TtlCache::new(KEY_CACHE_TTL, KEY_CACHE_MAX),
            edge_cache: TtlCache::new(KEY_CACHE_TTL, KEY_CACHE_MAX),
            relay: crate::relay::Relay::default(),
            http_url: std::sync::OnceLock::new(),
        });
        let admin_key_file = gw.ensure_admin_key().await?;
        let mut tasks = Vec::new();
        tasks.push(spawn_revocations(gw.clone()).await?);
        tasks.push(crate::callout::spawn(gw.clone()).await?);
        tasks.extend(crate::control::spawn(gw.clone()).await?);
        tasks.extend(crate::sync::spawn(gw.clone()).await?);
        tasks.push(crate::fanout::spawn(gw.clone()));
        tasks.push(crate::relay::spawn(gw.clone()).await?);
        let (http_task, http_addr) = crate::http::spawn(gw.clone()).await?;
        let _ = gw.http_url.set(match &gw.cfg.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None if http_addr.ip().is_unspecified() => {
                format!("http://127.0.0.1:{}", http_addr.port())
            }
            None => format!("http://{http_addr}"),
        });
        tasks.push(http_task);
        Ok(Running {
            gateway: gw,
            http_addr,
            admin_key_file,
            tasks,
        })
    }

    /// The base URL of the HTTP API (`--public-url`, else the bound address).
    pub fn http_url(&self) -> &str {
        self.http_url.get().map(String::as_str).unwrap_or("")
    }

    /// Read `<data_dir>/admin.key`, or create a new bootstrap admin key there; register its hash.
    async fn ensure_admin_key(&self) -> Result<PathBuf, String> {
        let path = self.cfg.data_dir.join("admin.key");
        std::fs::create_dir_all(&self.cfg.data_dir).map_err(|e| format!("create data dir: {e}"))?;
        let secret = match std::fs::read_to_string(&path) {
            Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
            _ => {
                let s = keys::generate(&self.cfg.env, "admin", "", None).ok_or("admin key")?;
                std::fs::write(&path, format!("{s}\n"))
                    .map_err(|e| format!("write {}: {e}", path.display()))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
                }
                s
            }
        };
        let meta = self.new_key_meta(
            &secret,
            "",
            "bootstrap admin",
            "admin",
            None,
            vec!["admin".into()],
            Labels::new(),
            None,
        );
        Store::create(&self.store.keys, &crate::store::tok(&meta.id), &meta).await?;
        Ok(path)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_key_meta(
        &self,
        secret: &str,
        app: &str,
        name: &str,
        key_type: &str,
        edge: Option<&str>,
        scopes: Vec<String>,
        labels: Labels,
        expires_in: Option<i64>,
    ) -> KeyMetadata {
        let now = now_ms();
        let exp_unix = expires_in.map(|s| now / 1000 + s).unwrap_or(0);
        KeyMetadata {
            id: keys::key_id(secret),
            app_id: app.into(),
            name: name.into(),
            key_type: key_type.into(),
            edge_id: edge.map(String::from),
            scopes,
            labels,
            groups: Vec::new(),
            key_hash: Some(keys::key_hash(secret)),
            status: "active".into(),
            created_at: rfc3339_ms(now),
            expires_at: if exp_unix > 0 {
                rfc3339_ms(exp_unix * 1000)
            } else {
                crate::types::NO_EXPIRY.into()
            },
            revoked_at: None,
            revoke_reason: None,
        }
    }

    // ---- authentication -------------------------------------------------------------------

    /// Look a presented key up: hash compared in constant time, active, not expired. The
    /// metadata comes from this process's cache when younger than [`KEY_CACHE_TTL`] (unknown keys
    /// are never cached); a revoke drops it from every gateway's cache at once.
    pub async fn authenticate(&self, secret: &str) -> ApiResult<KeyMetadata> {
        if secret.is_empty() || secret.len() > 512 {
            return Err(ApiError::unauthorized());
        }
        let id = keys::key_id(secret);
        let meta = match self.key_cache.get(&id) {
            Some(m) => m,
            None => {
                let epoch = self.key_cache.epoch();
                let m = self
                    .store
                    .key(&id)
                    .await?
                    .ok_or_else(ApiError::unauthorized)?;
                self.key_cache.insert_if(epoch, id, m.clone());
                m
            }
        };
        let stored = meta.key_hash.as_deref().unwrap_or("");
        if !keys::hash_matches(secret, stored) || meta.status != "active" {
            return Err(ApiError::unauthorized());
        }
        let exp = meta.expires_unix();
        if exp > 0 && exp <= now_unix() {
            return Err(ApiError::unauthorized());
        }
        Ok(meta)
    }

    /// The app a request acts on: the key's own app; the bootstrap admin names it in `app_id`,
    /// or, when the gateway serves exactly one app, means that one (the dink CLI never sends
    /// `app_id` for keys, edges or services: dink-protocol §14).
    pub async fn app_for(&self, k: &KeyMetadata, requested: Option<&str>) -> ApiResult<String> {
        let requested = requested.filter(|s| !s.is_empty());
        if keys::is_root(k) {
            if let Some(app) = requested {
                return Ok(app.to_string());
            }
            let apps = self.list_apps().await?;
            return match apps.as_slice() {
                [only] => Ok(only.id.clone()),
                _ => Err(ApiError::bad(
                    "app_id is required with the bootstrap admin key when the gateway serves several apps",
                )),
            };
        }
        match requested {
            Some(r) if r != k.app_id => Err(ApiError::forbidden("the key belongs to another app")),
            _ => Ok(k.app_id.clone()),
        }
    }

    pub fn edge_status(&self, e: &EdgeInfo) -> &'static str {
        let timeout = self.cfg.heartbeat_timeout.as_millis() as i64;
        let seen = parse_rfc3339_ms(&e.last_seen).unwrap_or(0);
        if e.status != "offline" && now_ms() - seen <= timeout {
            "online"
        } else {
            "offline"
        }
    }

    // ---- apps -----------------------------------------------------------------------------

    pub async fn create_app(
        &self,
        name: &str,
        description: &str,
        labels: Labels,
    ) -> ApiResult<(App, String)> {
        if name == "PRESENCE" {
            return Err(ApiError::bad("PRESENCE is reserved ($EDGE.PRESENCE.*)"));
        }
        if !keys::valid_id(name) {
            return Err(ApiError::bad(
                "app name must be 1-64 letters, digits, '-' or ':' (it is the app id)",
            ));
        }
        let now = rfc3339_ms(now_ms());
        let app = App {
            id: name.into(),
            name: name.into(),
            owner: String::new(),
            description: description.into(),
            account_pk: APPS_ACCOUNT.into(),
            convex_url: None,
            convex_site_url: None,
            convex_sync_key_id: None,
            convex_status: None,
            labels,
            created_at: now.clone(),
            updated_at: now,
        };
        if !Store::create(&self.store.apps, &crate::store::tok(&app.id), &app).await? {
            return Err(ApiError::new(
                "CONFLICT",
                409,
                format!("app {name:?} exists"),
            ));
        }
        let secret = self.new_admin_key(&app.id, "app master").await?;
        Ok((app, secret))
    }

    /// A new app master key (type `admin`, scope `admin`) for `app_id`; returns its secret.
    async fn new_admin_key(&self, app_id: &str, name: &str) -> ApiResult<String> {
        let secret = keys::generate(&self.cfg.env, "admin", app_id, None).ok_or("key")?;
        let meta = self.new_key_meta(
            &secret,
            app_id,
            name,
            "admin",
            None,
            vec!["admin".into()],
            Labels::new(),
            None,
        );
        Store::put(&self.store.keys, &crate::store::tok(&meta.id), &meta).await?;
        Ok(secret)
    }

    pub async fn get_app(&self, id: &str) -> ApiResult<App> {
        self.store
            .app(id)
            .await?
            .ok_or_else(|| ApiError::not_found("APP_NOT_FOUND", format!("no app {id:?}")))
    }

    pub async fn list_apps(&self) -> ApiResult<Vec<App>> {
        Ok(Store::list(&self.store.apps, "").await?)
    }

    /// `$ADMIN.APPS.CONFIGURE_BRIDGE`: store the app's bridge secret (an empty `secret` generates
    /// one) and its bridged services; answers `{status, bridge_secret, services_count}`.
    pub async fn configure_bridge(
        &self,
        app_id: &str,
        secret: &str,
        deploy_key: &str,
        services: Value,
    ) -> ApiResult<Value> {
        self.get_app(app_id).await?;
        let secret = if secret.is_empty() {
            crate::bridge::generate_secret()
        } else if secret.len() < 32 || secret.len() > 512 || secret.chars().any(char::is_whitespace)
        {
            return Err(ApiError::bad(
                "secret must be 32-512 characters without spaces",
            ));
        } else {
            secret.to_string()
        };
        if deploy_key.len() > 4096 || deploy_key.chars().any(char::is_whitespace) {
            return Err(ApiError::bad(
                "deploy_key must be at most 4096 characters without spaces",
            ));
        }
        let services = crate::bridge::validate_services(services).map_err(ApiError::bad)?;
        let count = services.as_array().map_or(0, Vec::len);
        let config = crate::bridge::BridgeConfig {
            secret: secret.clone(),
            services,
            has_deploy_key: !deploy_key.is_empty(),
            deploy_key: deploy_key.to_string(),
        };
        Store::put(&self.store.bridges, &crate::store::tok(app_id), &config).await?;
        // This process relays the new services before answering; the others within ms.
        self.bridges_changed(app_id, true).await;
        Ok(json!({ "status": "configured", "bridge_secret": secret, "services_count": count }))
    }

    /// Make every gateway's bridge relay reload `app`'s subscriptions: this process's (waiting
    /// for it, bounded, when `wait`) and the others' through [`crate::relay::BRIDGES_CHANGED`].
    pub async fn bridges_changed(&self, app: &str, wait: bool) {
        self.relay.refresh(app, wait).await;
        let _ = self
            .state
            .publish(crate::relay::BRIDGES_CHANGED, app.to_string().into())
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.state.flush()).await;
    }

    /// `$EDGE.<app>.<edge>.CONVEX_TOKEN`: a bridge token for the calling edge key's own identity.
    pub async fn convex_token(&self, k: &KeyMetadata, app: &str, edge: &str) -> ApiResult<Value> {
        if k.key_type != "edge" || k.app_id != app || k.edge_id.as_deref() != Some(edge) {
            return Err(ApiError::forbidden(
                "an edge key asks for its own token only",
            ));
        }
        let config: crate::bridge::BridgeConfig =
            Store::get(&self.store.bridges, &crate::store::tok(app))
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        "NOT_CONFIGURED",
                        409,
                        "the app has no bridge secret ($ADMIN.APPS.CONFIGURE_BRIDGE)",
                    )
                })?;
        let exp = now_unix() + crate::bridge::TOKEN_TTL_SECS;
        let token = crate::bridge::mint(&config.secret, app, edge, &k.groups, exp);
        serde_json::to_value(token).map_err(|e| ApiError::new("INTERNAL", 500, e.to_string()))
    }

    /// Store the app's Convex URLs and sync key (a center key). An empty `sync_key` generates one.
    pub async fn configure_convex(
        &self,
        app_id: &str,
        convex_url: &str,
        site_url: &str,
        sync_key: &str,
    ) -> ApiResult<Value> {
        let mut app = self.get_app(app_id).await?;
        let secret = if sync_key.is_empty() {
            keys::generate(&self.cfg.env, "center", app_id, None).ok_or("key")?
        } else if sync_key.len() < 24
            || sync_key.len() > 512
            || sync_key.chars().any(char::is_whitespace)
        {
            return Err(ApiError::bad(
                "sync_key must be 24-512 characters without spaces",
            ));
        } else {
            sync_key.to_string()
        };
        let scopes = keys::resolve_scopes("bundle:center-service", &[]).map_err(ApiError::bad)?;
        let meta = self.new_key_meta(
            &secret,
            app_id,
            "convex sync key",
            "center",
            None,
            scopes,
            Labels::new(),
            None,
        );
        if let Some(existing) = self.store.key(&meta.id).await? {
            if existing.app_id != app_id {
                return Err(ApiError::bad("sync_key is already used"));
            }
        }
        Store::put(&self.store.keys, &crate::store::tok(&meta.id), &meta).await?;
        // A sync key given again replaces its stored metadata: no gateway may keep the old one.
        self.forget_key(&meta.id).await;
        if let Some(old) = app.convex_sync_key_id.as_deref().filter(|o| *o != meta.id) {
            let _ = self.revoke_key(app_id, old, "sync key replaced").await;
        }
        let convex = crate::store::ConvexConfig {
            site_url: site_url.trim_end_matches('/').to_string(),
            sync_key: secret.clone(),
        };
        Store::put(&self.store.convex, &crate::store::tok(app_id), &convex).await?;
        app.convex_url = Some(convex_url.to_string()).filter(|s| !s.is_empty());
        app.convex_site_url = Some(site_url.to_string()).filter(|s| !s.is_empty());
        app.convex_sync_key_id = Some(meta.id.clone());
        app.convex_status = Some("configured".into());
        app.updated_at = rfc3339_ms(now_ms());
        Store::put(&self.store.apps, &crate::store::tok(app_id), &app).await?;
        Ok(json!({ "sync_key": secret, "status": "configured" }))
    }

    // ---- keys -----------------------------------------------------------------------------

    /// `$API.KEYS.CREATE` / `POST /api/keys`.
    pub async fn create_key(
        &self,
        caller: &KeyMetadata,
        app_id: &str,
        req: &CreateKeyRequest,
    ) -> ApiResult<Value> {
        self.get_app(app_id).await?;
        let key_type = if req.key_type.is_empty() {
            "center"
        } else {
            req.key_type.as_str()
        };
        keys::type_code(key_type)
            .ok_or_else(|| ApiError::bad(format!("unknown key type {key_type:?}")))?;
        let edge = match key_type {
            "edge" => {
                let e = req.edge_id.as_deref().unwrap_or("");
                if !keys::valid_id(e) {
                    return Err(ApiError::bad(
                        "edge_id must be 1-64 letters, digits, '-' or ':'",
                    ));
                }
                Some(e)
            }
            _ => None,
        };
        let bundle = match (&req.scope_bundle, req.scopes.is_empty()) {
            (Some(b), _) if !b.is_empty() => b.as_str(),
            (_, true) => keys::default_bundle(key_type),
            _ => "",
        };
        let scopes = keys::resolve_scopes(bundle, &req.scopes).map_err(ApiError::bad)?;
        let privileged = key_type == "admin"
            || scopes
                .iter()
                .any(|s| matches!(s.as_str(), "admin" | "keys:manage" | "apps:manage"));
        if privileged && !keys::has_scope(caller, "admin") {
            return Err(ApiError::forbidden(
                "only an admin key can create admin or key-managing keys",
            ));
        }
        let expires = keys::parse_expires_in(req.expires_in.as_deref().unwrap_or(""))
            .map_err(ApiError::bad)?;
        let secret = keys::generate(&self.cfg.env, key_type, app_id, edge).ok_or("key")?;
        let name = req.name.clone().unwrap_or_default();
        let mut meta = self.new_key_meta(
            &secret,
            app_id,
            &name,
            key_type,
            edge,
            scopes,
            req.labels.clone(),
            expires,
        );
        meta.groups = req.groups.clone();
        Store::put(&self.store.keys, &crate::store::tok(&meta.id), &meta).await?;
        Ok(json!({ "key": meta.public(), "api_key": secret }))
    }

    /// `$API.KEYS.ROTATE`: a new secret with the same attributes; the old key is revoked
    /// (an edge key's edge is kicked and reconnects with the new key).
    pub async fn rotate_key(
        &self,
        caller: &KeyMetadata,
        app_id: &str,
        key_id: &str,
    ) -> ApiResult<Value> {
        let old = self.get_key(app_id, key_id).await?;
        if old.status != "active" {
            return Err(ApiError::bad("only an active key can be rotated"));
        }
        let privileged = old.key_type == "admin"
            || old
                .scopes
                .iter()
                .any(|s| matches!(s.as_str(), "admin" | "keys:manage" | "apps:manage"));
        if privileged && !keys::has_scope(caller, "admin") {
            return Err(ApiError::forbidden(
                "only an admin key can rotate admin or key-managing keys",
            ));
        }
        let secret = keys::generate(&self.cfg.env, &old.key_type, app_id, old.edge_id.as_deref())
            .ok_or("key")?;
        let now = now_ms();
        let meta = KeyMetadata {
            id: keys::key_id(&secret),
            key_hash: Some(keys::key_hash(&secret)),
            created_at: rfc3339_ms(now),
            revoked_at: None,
            revoke_reason: None,
            ..old.clone()
        };
        Store::put(&self.store.keys, &crate::store::tok(&meta.id), &meta).await?;
        self.revoke_key(app_id, &old.id, "rotated").await?;
        Ok(json!({ "key": meta.public(), "api_key": secret }))
    }

    /// `$ADMIN.APPS.REGENERATE_SYNC_KEY`: a new generated sync key; the old one is revoked.
    pub async fn regenerate_sync_key(&self, app_id: &str) -> ApiResult<Value> {
        let app = self.get_app(app_id).await?;
        let old = app.convex_sync_key_id.clone().unwrap_or_default();
        let v = self
            .configure_convex(
                app_id,
                app.convex_url.as_deref().unwrap_or(""),
                app.convex_site_url.as_deref().unwrap_or(""),
                "",
            )
            .await?;
        let new = self
            .get_app(app_id)
            .await?
            .convex_sync_key_id
            .unwrap_or_default();
        Ok(
            json!({ "sync_key": v["sync_key"], "old_key_id": old, "new_key_id": new, "status": "regenerated" }),
        )
    }

    /// `$ADMIN.APPS.CONVEX_STATUS`. The metrics are this process's sync counters for the app:
    /// `deltas_processed` = applied + duplicate + noop, `deltas_routed` = events published to
    /// edges, `errors` = rejected + unavailable.
    pub async fn convex_status(&self, app_id: &str) -> ApiResult<Value> {
        let app = self.get_app(app_id).await?;
        let st = self.sync.stats(app_id);
        let status = app
            .convex_status
            .clone()
            .unwrap_or_else(|| "not_configured".into());
        Ok(json!({
            "app_id": app.id,
            "status": status,
            "message": if app.convex_site_url.is_some() { "Convex URLs and sync key stored" } else { "not configured" },
            "metrics": {
                "deltas_processed": st.applied + st.duplicate + st.noop,
                "deltas_routed": st.fanout_events,
                "errors": st.rejected + st.unavailable,
            },
        }))
    }

    pub async fn list_keys(
        &self,
        app_id: &str,
        key_type: Option<&str>,
    ) -> ApiResult<Vec<KeyMetadata>> {
        let all: Vec<KeyMetadata> = Store::list(&self.store.keys, "").await?;
        Ok(all
            .into_iter()
            .filter(|k| {
                k.app_id == app_id && key_type.map_or(true, |t| t.is_empty() || k.key_type == t)
            })
            .map(|k| k.public())
            .collect())
    }

    pub async fn get_key(&self, app_id: &str, key_id: &str) -> ApiResult<KeyMetadata> {
        match self.store.key(key_id).await? {
            Some(k) if k.app_id == app_id => Ok(k),
            _ => Err(ApiError::not_found(
                "KEY_NOT_FOUND",
                format!("no key {key_id:?} in app {app_id:?}"),
            )),
        }
    }

    /// Revoke; an edge key's edge is kicked (and its reconnect is refused by the callout).
    pub async fn revoke_key(&self, app_id: &str, key_id: &str, reason: &str) -> ApiResult<Value> {
        let mut k = self.get_key(app_id, key_id).await?;
        k.status = "revoked".into();
        k.revoked_at = Some(rfc3339_ms(now_ms()));
        k.revoke_reason = Some(reason.to_string()).filter(|r| !r.is_empty());
        Store::put(&self.store.keys, &crate::store::tok(&k.id), &k).await?;
        self.forget_key(&k.id).await;
        let mut kicked = false;
        if let (Some(edge), "edge") = (k.edge_id.as_deref(), k.key_type.as_str()) {
            kicked = self
                .kick(
                    app_id,
                    edge,
                    if reason.is_empty() {
                        "key revoked"
                    } else {
                        reason
                    },
                )
                .await
                .is_ok();
        }
        // Whatever the client does with the kick, close its connections server-side after a
        // short grace period (the kick message gets there first); reconnects are refused.
        if let Some(sys) = self.sys.clone() {
            let id = k.id.clone();
            tokio::spawn(async move {
                tokio::time::sleep(REVOKE_GRACE).await;
                let _ = disconnect_user(&sys, &id).await;
            });
        }
        Ok(json!({ "revoked": true, "key_id": k.id, "edge_kicked": kicked }))
    }

    /// Drop a key from this process's cache and tell every other gateway to (on
    /// [`KEYS_REVOKED_SUBJECT`], flushed before returning, so the revoke's reply comes after).
    pub async fn forget_key(&self, key_id: &str) {
        self.key_cache.invalidate(&key_id.to_string());
        let _ = self
            .state
            .publish(KEYS_REVOKED_SUBJECT, key_id.to_string().into())
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.state.flush()).await;
    }

    /// Was `edge` ever registered in `app`? (Cached when true: edges are never deleted.)
    pub async fn edge_exists(&self, app: &str, edge: &str) -> ApiResult<bool> {
        let k = (app.to_string(), edge.to_string());
        if self.edge_cache.get(&k).is_some() {
            return Ok(true);
        }
        let epoch = self.edge_cache.epoch();
        let found = self.store.edge(app, edge).await?.is_some();
        if found {
            self.edge_cache.insert_if(epoch, k, ());
        }
        Ok(found)
    }

    // ---- edges and presence -----------------------------------------------------------------

    pub async fn register_presence(
        &self,
        k: &KeyMetadata,
        body: &PresenceRegister,
    ) -> ApiResult<EdgeInfo> {
        let edge = k
            .edge_id
            .as_deref()
            .filter(|_| k.key_type == "edge")
            .ok_or_else(|| ApiError::forbidden("only edge keys register presence"))?;
        let now = now_ms();
        let info = EdgeInfo {
            id: edge.into(),
            name: body
                .name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| edge.into()),
            app_id: k.app_id.clone(),
            edge_type: body.edge_type.clone().unwrap_or_else(|| "lite".into()),
            version: body.version.clone().unwrap_or_default(),
            hostname: body.hostname.clone().unwrap_or_default(),
            ip_address: body.ip_address.clone().unwrap_or_default(),
            labels: body.labels.clone().unwrap_or_default(),
            status: "online".into(),
            services: Vec::new(),
            groups: k.groups.clone(),
            connected_at: rfc3339_ms(now),
            last_seen: rfc3339_ms(now),
        };
        self.store.put_edge(&info).await?;
        Ok(info)
    }

    pub async fn heartbeat(&self, k: &KeyMetadata) -> ApiResult<()> {
        let edge = k
            .edge_id
            .as_deref()
            .ok_or_else(|| ApiError::forbidden("only edge keys heartbeat"))?;
        if let Some(mut e) = self.store.edge(&k.app_id, edge).await? {
            if e.status != "offline" {
                e.last_seen = rfc3339_ms(now_ms());
                self.store.put_edge(&e).await?;
            }
        }
        Ok(())
    }

    pub async fn mark_gone(&self, app: &str, edge: &str) -> ApiResult<bool> {
        crate::tunnel::forget_edge(self, app, edge).await?;
        match self.store.edge(app, edge).await? {
            Some(mut e) => {
                e.status = "offline".into();
                self.store.put_edge(&e).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Publish the kick command to the edge and mark it offline.
    pub async fn kick(&self, app: &str, edge: &str, reason: &str) -> ApiResult<Value> {
        if !keys::valid_id(edge) {
            return Err(ApiError::bad("bad edge id"));
        }
        if self.store.edge(app, edge).await?.is_none() {
            return Err(ApiError::not_found(
                "EDGE_NOT_FOUND",
                format!("no edge {edge:?} in app {app:?}"),
            ));
        }
        let body = json!({ "command": "kick", "reason": reason });
        self.bus
            .publish(format!("$EDGE.{app}.{edge}.KICK"), body.to_string().into())
            .await
            .map_err(|e| ApiError::internal(format!("publish kick: {e}")))?;
        let _ = self.bus.flush().await;
        self.mark_gone(app, edge).await?;
        Ok(json!({ "edge_id": edge, "kicked": true }))
    }

    /// Edges of an app with computed status and their services, filtered.
    pub async fn list_edges(&self, app: &str, f: &EdgeFilter) -> ApiResult<Vec<EdgeInfo>> {
        let mut edges = self.store.edges_of(app).await?;
        let services = self.store.services_of(app).await?;
        for e in &mut edges {
            e.status = self.edge_status(e).into();
            e.services = services
                .iter()
                .filter(|s| s.edge_id.as_deref() == Some(&e.id))
                .cloned()
                .collect();
        }
        edges.retain(|e| {
            (!f.online_only || e.status == "online")
                && f.status
                    .as_deref()
                    .map_or(true, |s| s.is_empty() || e.status == s)
                && f.service.as_deref().map_or(true, |s| {
                    s.is_empty() || e.services.iter().any(|x| x.name == s)
                })
                && f.method.as_deref().map_or(true, |m| {
                    m.is_empty()
                        || e.services.iter().any(|x| {
                            f.service.as_deref().map_or(true, |s| x.name == s)
                                && service_has_method(x, m)
                        })
                })
                && f.labels.iter().all(|(k, v)| e.labels.get(k) == Some(v))
                && f.edge_ids.as_ref().map_or(true, |ids| ids.contains(&e.id))
        });
        edges.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(edges)
    }

    pub async fn get_edge(&self, app: &str, edge: &str) -> ApiResult<EdgeInfo> {
        let f = EdgeFilter {
            edge_ids: Some(vec![edge.to_string()]),
            ..Default::default()
        };
        self.list_edges(app, &f)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ApiError::not_found("EDGE_NOT_FOUND", format!("no edge {edge:?} in app {app:?}"))
            })
    }

    // ---- services -----------------------------------------------------------------------

    pub async fn register_service(
        &self,
        k: &KeyMetadata,
        descriptor: Value,
    ) -> ApiResult<ServiceInfo> {
        if !keys::has_scope(k, "services:expose") {
            return Err(ApiError::forbidden("services:expose scope required"));
        }
        let name = descriptor
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if !keys::valid_id(&name) {
            return Err(ApiError::bad(
                "descriptor.name must be 1-64 letters, digits, '-' or ':'",
            ));
        }
        if !descriptor.is_object() {
            return Err(ApiError::bad("body must be a ServiceDescriptor object"));
        }
        let edge = k.edge_id.clone().filter(|_| k.key_type == "edge");
        let now = rfc3339_ms(now_ms());
        let info = ServiceInfo {
            id: match &edge {
                Some(e) => format!("{e}.{name}"),
                None => format!("center.{name}"),
            },
            name: name.clone(),
            version: descriptor
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("")
                .into(),
            description: descriptor
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .into(),
            app_id: k.app_id.clone(),
            location: if edge.is_some() {
                "edge".into()
            } else {
                "center".into()
            },
            edge_id: edge,
            descriptor: Some(descriptor),
            status: "active".into(),
            registered_at: now.clone(),
            last_seen: now,
        };
        self.store.put_service(&info).await?;
        Ok(info)
    }

    pub async fn list_services(
        &self,
        app: &str,
        edge_id: Option<&str>,
        location: Option<&str>,
    ) -> ApiResult<Vec<ServiceInfo>> {
        let mut s = self.store.services_of(app).await?;
        s.retain(|x| {
            edge_id.map_or(true, |e| e.is_empty() || x.edge_id.as_deref() == Some(e))
                && location.map_or(true, |l| l.is_empty() || x.location == l)
        });
        s.sort_by(|a, b| (&a.name, &a.edge_id).cmp(&(&b.name, &b.edge_id)));
        Ok(s)
    }

    /// The most recently registered descriptor of a service in the app.
    pub async fn describe(&self, app: &str, service: &str) -> ApiResult<Value> {
        let mut s = self.list_services(app, None, None).await?;
        s.retain(|x| x.name == service && x.descriptor.is_some());
        s.sort_by(|a, b| b.registered_at.cmp(&a.registered_at));
        s.into_iter()
            .next()
            .and_then(|x| x.descriptor)
            .ok_or_else(|| {
                ApiError::not_found(
                    "SERVICE_NOT_FOUND",
                    format!("no service {service:?} in app {app:?}"),
                )
            })
    }

    // ---- RPC ----------------------------------------------------------------------------

    /// One edge call. `Err` is a gateway-level failure (bad request, unknown edge); `Ok` carries
    /// the edge-level outcome `{edge_id, success, result, error}` (§3.2), `result` being the
    /// edge's raw reply.
    pub async fn call(&self, app: &str, req: &CallRequest) -> ApiResult<Value> {
        for (what, v) in [
            ("edge_id", &req.edge_id),
            ("service_name", &req.service_name),
            ("method_name", &req.method_name),
        ] {
            if !keys::valid_id(v) {
                return Err(ApiError::bad(format!(
                    "{what} must be 1-64 letters, digits, '-' or ':'"
                )));
            }
        }
        if !self.edge_exists(app, &req.edge_id).await? {
            self.metrics.rpc("edge_not_found", 0);
            return Err(ApiError::not_found(
                "EDGE_NOT_FOUND",
                format!("no edge {:?} in app {app:?}", req.edge_id),
            ));
        }
        let timeout = req.timeout()?;
        Ok(self
            .call_edge(
                app,
                &req.edge_id,
                &req.service_name,
                &req.method_name,
                &req.payload,
                &req.metadata,
                timeout,
            )
            .await)
    }

    #[allow(clippy::too_many_arguments)]
    async fn call_edge(
        &self,
        app: &str,
        edge: &str,
        service: &str,
        method: &str,
        payload: &Value,
        metadata: &Labels,
        timeout: Duration,
    ) -> Value {
        let subject = format!("edge.{app}.{edge}.services.{service}.{method}");
        let body = json!({ "metadata": metadata, "payload": payload }).to_string();
        let started = Instant::now();
        let res = self
            .bus
            .send_request(
                subject,
                Request::new()
                    .payload(body.into())
                    .timeout(Some(timeout))
                    .headers(HeaderMap::new()),
            )
            .await;
        let ms = started.elapsed().as_millis() as u64;
        let fail = |code: &str, message: String| json!({ "edge_id": edge, "success": false, "result": null, "error": { "code": code, "message": message } });
        match res {
            Ok(msg) => match serde_json::from_slice::<Value>(&msg.payload) {
                Ok(reply) => {
                    let failed = reply.get("success") == Some(&Value::Bool(false));
                    if failed {
                        self.metrics.rpc("edge_error", ms);
                        let err = match reply.get("error") {
                            Some(Value::Object(o)) => json!({
                                "code": o.get("code").and_then(Value::as_str).unwrap_or("EDGE_ERROR"),
                                "message": o.get("message").and_then(Value::as_str).unwrap_or(""),
                            }),
                            Some(Value::String(s)) => json!({ "code": "EDGE_ERROR", "message": s }),
                            _ => json!({ "code": "EDGE_ERROR", "message": "edge call failed" }),
                        };
                        json!({ "edge_id": edge, "success": false, "result": reply, "error": err })
                    } else {
                        self.metrics.rpc("success", ms);
                        json!({ "edge_id": edge, "success": true, "result": reply, "error": null })
                    }
                }
                Err(_) => {
                    self.metrics.rpc("edge_error", ms);
                    fail(
                        "BAD_EDGE_REPLY",
                        "the edge replied with something that is not JSON".into(),
                    )
                }
            },
            Err(e) => match e.kind() {
                async_nats::RequestErrorKind::TimedOut => {
                    self.metrics.rpc("timeout", ms);
                    fail(
                        "TIMEOUT",
                        format!("edge did not respond within {} ms", timeout.as_millis()),
                    )
                }
                async_nats::RequestErrorKind::NoResponders => {
                    self.metrics.rpc("no_responders", ms);
                    fail(
                        "NO_RESPONDERS",
                        "the edge is not connected or does not serve this method".into(),
                    )
                }
                _ => {
                    self.metrics.rpc("error", ms);
                    fail("RPC_FAILED", format!("request failed: {e}"))
                }
            },
        }
    }

    /// Scatter: to `edge_ids` when given (unknown ids fail with EDGE_NOT_FOUND in their
    /// result), else to the online edges serving the service, filtered by `labels`.
    pub async fn scatter(&self, app: &str, req: &ScatterRequest) -> ApiResult<Value> {
        for (what, v) in [
            ("service_name", &req.service_name),
            ("method_name", &req.method_name),
        ] {
            if !keys::valid_id(v) {
                return Err(ApiError::bad(format!(
                    "{what} must be 1-64 letters, digits, '-' or ':'"
                )));
            }
        }
        let timeout = timeout_of(req.timeout_ms)?;
        let known = self.store.edges_of(app).await?;
        let targets: Vec<(String, bool)> = match &req.edge_ids {
            Some(ids) => {
                if ids.len() > MAX_SCATTER {
                    return Err(ApiError::bad(format!("at most {MAX_SCATTER} edge_ids")));
                }
                ids.iter()
                    .map(|id| {
                        (
                            id.clone(),
                            keys::valid_id(id) && known.iter().any(|e| &e.id == id),
                        )
                    })
                    .collect()
            }
            None => {
                let f = EdgeFilter {
                    online_only: true,
                    service: Some(req.service_name.clone()),
                    labels: req.labels.clone().unwrap_or_default(),
                    ..Default::default()
                };
                self.list_edges(app, &f)
                    .await?
                    .into_iter()
                    .take(MAX_SCATTER)
                    .map(|e| (e.id, true))
                    .collect()
            }
        };
        let calls = targets.iter().map(|(id, ok)| async move {
            if !ok {
                return json!({ "edge_id": id, "success": false, "error": { "code": "EDGE_NOT_FOUND", "message": format!("no edge {id:?} in app {app:?}") } });
            }
            let r = self.call_edge(app, id, &req.service_name, &req.method_name, &req.payload, &req.metadata, timeout).await;
            let mut item = json!({ "edge_id": id, "success": r["success"] });
            if r["success"] == Value::Bool(true) {
                item["result"] = r["result"].get("result").cloned().unwrap_or(Value::Null);
            } else {
                item["error"] = r["error"].clone();
            }
            item
        });
        let results: Vec<Value> = futures_util::future::join_all(calls).await;
        let ok = results
            .iter()
            .filter(|r| r["success"] == Value::Bool(true))
            .count();
        Ok(json!({
            "results": results,
            "total_edges": results.len(),
            "successful_count": ok,
            "failed_count": results.len() - ok,
        }))
    }

    // ---- health -------------------------------------------------------------------------

    pub async fn health(&self, app: Option<&str>) -> Value {
        let nats_ok = self.bus.connection_state() == async_nats::connection::State::Connected
            && self.state.connection_state() == async_nats::connection::State::Connected;
        let kv_ok = self.store.apps.status().await.is_ok();
        let edges = match app {
            Some(a) => self.store.edges_of(a).await.ok(),
            None => Store::list::<EdgeInfo>(&self.store.edges, "").await.ok(),
        };
        let (total, online) = edges
            .map(|e| {
                (
                    e.len(),
                    e.iter().filter(|x| self.edge_status(x) == "online").count(),
                )
            })
            .unwrap_or((0, 0));
        json!({
            "status": if nats_ok && kv_ok { "healthy" } else { "unhealthy" },
            "timestamp": rfc3339_ms(now_ms()),
            "version": VERSION,
            "components": {
                "nats": { "status": if nats_ok { "healthy" } else { "unhealthy" } },
                "jetstream": { "status": if kv_ok { "healthy" } else { "unhealthy" } },
            },
            "edges": { "total": total, "online": online, "offline": total - online },
        })
    }

    /// Dev-mode `$DEV.SETUP`: create (or reuse) the app, its sync key and edge keys.
    pub async fn dev_setup(&self, req: &DevSetupRequest) -> ApiResult<Value> {
        if !self.cfg.dev_mode {
            return Err(ApiError::forbidden("dev mode is off"));
        }
        let name = if req.app_name.is_empty() {
            "dev-app"
        } else {
            req.app_name.as_str()
        };
        let (app, admin_key) = match self.create_app(name, "dev setup", Labels::new()).await {
            Ok(x) => x,
            Err(e) if e.code == "CONFLICT" => {
                let app = self.get_app(name).await?;
                let secret = self.new_admin_key(&app.id, "dev admin").await?;
                (app, secret)
            }
            Err(e) => return Err(e),
        };
        let sync = self.configure_convex(&app.id, "", "", "").await?;
        let count = req.edge_count.unwrap_or(1).min(100);
        let names: Vec<String> = match &req.edge_names {
            Some(n) if !n.is_empty() => n.iter().take(100).cloned().collect(),
            _ => (1..=count).map(|i| format!("edge-{i}")).collect(),
        };
        let root = self.new_key_meta(
            "x",
            "",
            "",
            "admin",
            None,
            vec!["admin".into()],
            Labels::new(),
            None,
        );
        let mut edge_keys = Vec::new();
        for n in names {
            let r = CreateKeyRequest {
                name: Some(n.clone()),
                key_type: "edge".into(),
                edge_id: Some(n.clone()),
                groups: req.groups.clone().unwrap_or_default(),
                ..Default::default()
            };
            let created = self.create_key(&root, &app.id, &r).await?;
            edge_keys
                .push(json!({ "edge_id": n, "api_key": created["api_key"], "groups": req.groups }));
        }
        Ok(json!({
            "app": { "id": app.id, "name": app.name },
            "admin_key": admin_key,
            "edge_keys": edge_keys,
            "sync_key": sync["sync_key"],
            "groups": req.groups,
        }))
    }
}

/// Subscribe (every process, no queue group) to [`KEYS_REVOKED_SUBJECT`] in the GATEWAY account
/// and drop the named keys from this process's cache.
async fn spawn_revocations(gw: Arc<Gateway>) -> Result<JoinHandle<()>, String> {
    use futures_util::StreamExt;
    let mut sub = gw
        .state
        .subscribe(KEYS_REVOKED_SUBJECT)
        .await
        .map_err(|e| format!("subscribe {KEYS_REVOKED_SUBJECT}: {e}"))?;
    gw.state.flush().await.map_err(|e| format!("flush: {e}"))?;
    Ok(tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            if let Ok(id) = std::str::from_utf8(&msg.payload) {
                gw.key_cache.invalidate(&id.trim().to_string());
            }
        }
    }))
}

/// Time a kicked edge gets to leave on its own before a revoked key's connections are closed.
pub const REVOKE_GRACE: Duration = Duration::from_millis(750);

/// Close every connection authenticated as `user` (the key id: the callout names the NATS user
/// after it) in the APPS and EDGES accounts, on every server: `$SYS.REQ.SERVER.PING.CONNZ` filtered by user,
/// then `$SYS.REQ.SERVER.<id>.KICK {cid}`. Returns how many were closed. Bounded: at most 128
/// server replies within 1 s, 1000 connections.
pub async fn disconnect_user(sys: &async_nats::Client, user: &str) -> Result<usize, String> {
    use futures_util::StreamExt;
    let inbox = sys.new_inbox();
    let mut sub = sys
        .subscribe(inbox.clone())
        .await
        .map_err(|e| e.to_string())?;
    for acc in [APPS_ACCOUNT, EDGES_ACCOUNT] {
        let q = json!({ "user": user, "acc": acc, "limit": 1000 }).to_string();
        sys.publish_with_reply("$SYS.REQ.SERVER.PING.CONNZ", inbox.clone(), q.into())
            .await
            .map_err(|e| e.to_string())?;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    let mut targets: Vec<(String, u64)> = Vec::new();
    for _ in 0..128 {
        let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await else {
            break;
        };
        let Ok(v) = serde_json::from_slice::<Value>(&msg.payload) else {
            continue;
        };
        let server = v["server"]["id"].as_str().unwrap_or("").to_string();
        for c in v["data"]["connections"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            if let Some(cid) = c["cid"].as_u64() {
                targets.push((server.clone(), cid));
            }
        }
    }
    let mut closed = 0;
    for (server, cid) in targets.into_iter().take(1000) {
        let subject = format!("$SYS.REQ.SERVER.{server}.KICK");
        let body = json!({ "cid": cid }).to_string();
        if let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_secs(2), sys.request(subject, body.into())).await
        {
            closed += 1;
        }
    }
    Ok(closed)
}

fn service_has_method(s: &ServiceInfo, m: &str) -> bool {
    s.descriptor
        .as_ref()
        .and_then(|d| d.get("methods"))
        .and_then(Value::as_array)
        .is_some_and(|ms| {
            ms.iter()
                .any(|x| x.get("name").and_then(Value::as_str) == Some(m))
        })
}

fn timeout_of(ms: Option<u64>) -> ApiResult<Duration> {
    match ms {
        None => Ok(DEFAULT_RPC_TIMEOUT),
        Some(0) => Err(ApiError::bad("timeout_ms must be positive")),
        Some(ms) if Duration::from_millis(ms) > MAX_RPC_TIMEOUT => Err(ApiError::bad(format!(
            "timeout_ms must be at most {}",
            MAX_RPC_TIMEOUT.as_millis()
        ))),
        Some(ms) => Ok(Duration::from_millis(ms)),
    }
}

// ---- request bodies ----------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct CreateKeyRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub key_type: String,
    #[serde(default)]
    pub edge_id: Option<String>,
    #[serde(default)]
    pub scope_bundle: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub expires_in: Option<String>,
    /// Only with the bootstrap admin key.
    #[serde(default)]
    pub app_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PresenceRegister {
    pub hostname: Option<String>,
    pub ip_address: Option<String>,
    pub labels: Option<Labels>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub edge_type: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct EdgeFilter {
    pub online_only: bool,
    pub status: Option<String>,
    pub service: Option<String>,
    pub method: Option<String>,
    pub labels: Labels,
    pub edge_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    pub edge_id: String,
    pub service_name: String,
    pub method_name: String,
    #[serde(default)]
    pub payload: Value,
    #[serde(default)]
    pub metadata: Labels,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl CallRequest {
    fn timeout(&self) -> ApiResult<Duration> {
        timeout_of(self.timeout_ms)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScatterRequest {
    pub service_name: String,
    pub method_name: String,
    #[serde(default)]
    pub payload: Value,
    #[serde(default)]
    pub labels: Option<Labels>,
    #[serde(default)]
    pub edge_ids: Option<Vec<String>>,
    #[serde(default)]
    pub metadata: Labels,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DevSetupRequest {
    #[serde(default)]
    pub app_name: String,
    #[serde(default)]
    pub edge_count: Option<usize>,
    #[serde(default)]
    pub edge_names: Option<Vec<String>>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}
