//! Edge keys and the NATS connection.

use std::time::Duration;

use sha2::{Digest, Sha256};

/// A parsed edge key: `dk_<env>_ed_<appID>_<edgeID>_<random>[.<base64url(server)>]`.
#[derive(Clone, Debug)]
pub struct EdgeKey {
    /// The whole key string (sent as the NATS token and in `Authorization: Bearer`).
    pub secret: String,
    pub app_id: String,
    pub edge_id: String,
}

impl EdgeKey {
    pub fn parse(key: &str) -> Result<EdgeKey, String> {
        let main = key.split('.').next().unwrap_or(key);
        let parts: Vec<&str> = main.splitn(6, '_').collect();
        if parts.len() < 6 || parts[2] != "ed" {
            return Err(
                "invalid edge API key format: must be dk_<env>_ed_<appID>_<edgeID>_<random>".into(),
            );
        }
        Ok(EdgeKey {
            secret: key.to_string(),
            app_id: parts[3].into(),
            edge_id: parts[4].into(),
        })
    }

    /// The key id the gateway derives: `k` + first 24 hex digits of SHA-256(key).
    pub fn key_id(&self) -> String {
        let d = Sha256::digest(self.secret.as_bytes());
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        format!("k{}", &hex[..24])
    }

    /// The private inbox prefix the gateway grants this key: `_INBOX_<key id>`.
    pub fn inbox_prefix(&self) -> String {
        format!("_INBOX_{}", self.key_id())
    }

    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.secret)
    }
}

/// Connect with the key as token, client name `edge-<edgeID>`, and the private inbox prefix.
/// Reconnects are left to async-nats (a revoked key is refused at reconnect).
pub async fn connect(url: &str, key: &EdgeKey) -> Result<async_nats::Client, String> {
    let fut = async_nats::ConnectOptions::new()
        .token(key.secret.clone())
        .name(format!("edge-{}", key.edge_id))
        .custom_inbox_prefix(key.inbox_prefix())
        .connection_timeout(Duration::from_secs(5))
        .max_reconnects(Some(5))
        .connect(url);
    match tokio::time::timeout(Duration::from_secs(10), fut).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(format!("connect {url}: {e}")),
        Err(_) => Err(format!("connect {url}: timed out")),
    }
}
