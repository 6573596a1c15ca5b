//! Test harness: a real nats-server on a free 127.0.0.1 port (killed on drop, by its own child
//! handle) and an in-process gateway on a free HTTP port.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use dink_gateway::gateway::CreateKeyRequest;
use dink_gateway::natsd::{NatsOptions, NatsServer};
use dink_gateway::types::KeyMetadata;
use dink_gateway::{Config, Gateway, Running};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static N: AtomicU32 = AtomicU32::new(0);

/// A temp dir removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "dink-gw-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Env {
    pub gw: Running,
    pub nats: NatsServer,
    /// Removed on drop (after the gateway and the server stop).
    pub _dir: TempDir,
}

pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(1500);

pub fn config(nats: &NatsServer, data_dir: PathBuf) -> Config {
    let mut cfg = Config::new(
        nats.creds.clone(),
        "127.0.0.1:0".parse().expect("addr"),
        data_dir,
    );
    cfg.env = "test".into();
    cfg.heartbeat_timeout = HEARTBEAT_TIMEOUT;
    cfg
}

impl Env {
    /// A gateway with dev mode off.
    pub async fn start() -> Env {
        Self::start_with(false).await
    }

    /// A gateway in dev mode (`$DEV.SETUP`, anonymous dev connections).
    pub async fn start_dev() -> Env {
        Self::start_with(true).await
    }

    async fn start_with(dev: bool) -> Env {
        let dir = TempDir::new();
        let nats = start_nats(&dir);
        let mut cfg = config(&nats, dir.0.join("gw"));
        cfg.dev_mode = dev;
        let gw = Gateway::start(cfg).await.expect("gateway");
        Env {
            gw,
            nats,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        self.nats.creds.url.clone()
    }

    pub fn root(&self) -> KeyMetadata {
        root_of(&self.gw)
    }

    pub fn admin_secret(&self) -> String {
        std::fs::read_to_string(&self.gw.admin_key_file)
            .expect("admin key")
            .trim()
            .to_string()
    }

    /// Create an app; returns its sync key (a center key).
    pub async fn app(&self, name: &str) -> String {
        let g = &self.gw.gateway;
        g.create_app(name, "", Default::default())
            .await
            .expect("create app");
        let v = g
            .configure_convex(name, "", "https://x.convex.site", "")
            .await
            .expect("configure");
        v["sync_key"].as_str().expect("sync key").to_string()
    }

    /// Create a key in `app`; returns the secret.
    pub async fn key(
        &self,
        app: &str,
        key_type: &str,
        edge: Option<&str>,
        expires_in: Option<&str>,
    ) -> String {
        let req = CreateKeyRequest {
            name: Some("t".into()),
            key_type: key_type.into(),
            edge_id: edge.map(String::from),
            expires_in: expires_in.map(String::from),
            ..Default::default()
        };
        let v = self
            .gw
            .gateway
            .create_key(&self.root(), app, &req)
            .await
            .expect("create key");
        v["api_key"].as_str().expect("api_key").to_string()
    }

    pub fn http(&self) -> String {
        self.gw.http_addr.to_string()
    }
}

/// A real nats-server on a free port, its config and store under `<dir>/nats`.
pub fn start_nats(dir: &TempDir) -> NatsServer {
    NatsServer::start(NatsOptions {
        port: None,
        dir: dir.0.join("nats"),
        creds: None,
    })
    .expect("nats-server")
}

/// Serve `app` (a test double of an HTTP party) on a free 127.0.0.1 port: its base URL and task.
pub async fn serve_http(app: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let h = tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (url, h)
}

/// Connect with `key` and NATS's default inbox prefix (`_INBOX.<nuid>`), as nats.go clients
/// such as the dink CLI and `dink tunnel` do.
pub async fn connect_default_prefix(url: &str, key: &str) -> async_nats::Client {
    tokio::time::timeout(
        Duration::from_secs(5),
        async_nats::ConnectOptions::new()
            .token(key.to_string())
            .connect(url),
    )
    .await
    .expect("connect timeout")
    .expect("connect")
}

/// The bootstrap admin key's metadata, as the gateway stored it.
pub fn root_of(running: &Running) -> KeyMetadata {
    let secret = std::fs::read_to_string(&running.admin_key_file).expect("admin key");
    KeyMetadata {
        id: dink_gateway::keys::key_id(secret.trim()),
        app_id: String::new(),
        name: "root".into(),
        key_type: "admin".into(),
        edge_id: None,
        scopes: vec!["admin".into()],
        labels: Default::default(),
        groups: vec![],
        key_hash: None,
        status: "active".into(),
        created_at: String::new(),
        expires_at: String::new(),
        revoked_at: None,
        revoke_reason: None,
    }
}

/// Connect as a client holding `key`, with the key's private inbox prefix.
pub async fn connect(url: &str, key: &str) -> Result<async_nats::Client, String> {
    let opts = async_nats::ConnectOptions::new()
        .token(key.to_string())
        .custom_inbox_prefix(dink_gateway::keys::inbox_prefix(key))
        .connection_timeout(Duration::from_secs(3))
        .max_reconnects(Some(0));
    match tokio::time::timeout(Duration::from_secs(5), opts.connect(url)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("timeout".into()),
    }
}

/// Connect and collect server errors (permission violations) into a channel.
pub async fn connect_watching(
    url: &str,
    key: &str,
) -> (
    async_nats::Client,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let opts = async_nats::ConnectOptions::new()
        .token(key.to_string())
        .custom_inbox_prefix(dink_gateway::keys::inbox_prefix(key))
        .max_reconnects(Some(0))
        .event_callback(move |ev| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(ev.to_string());
            }
        });
    let c = tokio::time::timeout(Duration::from_secs(5), opts.connect(url))
        .await
        .expect("connect timeout")
        .expect("connect");
    (c, rx)
}

/// Wait up to `limit` for an event containing `needle`.
pub async fn expect_event(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    needle: &str,
    limit: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) if ev.to_lowercase().contains(&needle.to_lowercase()) => return true,
            Ok(Some(_)) => continue,
            _ => return false,
        }
    }
}

/// A control-plane request with `Authorization: Bearer`; returns the envelope.
pub async fn api(
    c: &async_nats::Client,
    key: &str,
    subject: &str,
    body: Value,
) -> Result<Value, String> {
    let mut h = async_nats::HeaderMap::new();
    h.insert("Authorization", format!("Bearer {key}").as_str());
    let fut = c.request_with_headers(subject.to_string(), h, body.to_string().into());
    let msg = tokio::time::timeout(Duration::from_secs(3), fut)
        .await
        .map_err(|_| "timeout".to_string())?
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&msg.payload).map_err(|e| e.to_string())
}

/// Minimal HTTP/1.1 client: (status, body).
pub async fn http(
    addr: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("http connect");
    let body = body.unwrap_or("");
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(40), s.read_to_end(&mut out))
        .await
        .expect("http timeout")
        .expect("read");
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head.to_lowercase().contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail.get(n + 2..).unwrap_or("");
    }
    out
}

pub fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}
