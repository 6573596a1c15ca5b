//! JSON types on the wire and in the KV buckets, with dinkd's snake_case field names
//! (dink-protocol.md §7). Times are RFC 3339 strings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub type Labels = BTreeMap<String, String>;

/// Current time as Unix seconds.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Current time as Unix milliseconds.
pub fn now_ms() -> i64 {
    let t = time::OffsetDateTime::now_utc();
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 of Unix milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct App {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// dinkd's per-app NATS account public key. This gateway keeps all apps in one NATS account
    /// (docs/gateway.md, "Tenancy"), so this is the account name, `APPS`.
    pub account_pk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convex_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convex_site_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convex_sync_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convex_status: Option<String>,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KeyMetadata {
    pub id: String,
    /// Empty for the bootstrap admin key (all apps).
    pub app_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub key_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge_id: Option<String>,
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// SHA-256 (hex) of the full key string. Stored, never returned by the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_hash: Option<String>,
    /// `active` or `revoked`.
    pub status: String,
    pub created_at: String,
    /// RFC 3339, or empty for no expiry.
    #[serde(default)]
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_reason: Option<String>,
}

impl KeyMetadata {
    /// The API view: without the hash.
    pub fn public(&self) -> KeyMetadata {
        KeyMetadata {
            key_hash: None,
            ..self.clone()
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EdgeInfo {
    pub id: String,
    pub name: String,
    pub app_id: String,
    #[serde(rename = "type", default)]
    pub edge_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip_address: String,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    /// `online` or `offline`. Stored as `offline` by deregister and kick; otherwise computed
    /// when read from `last_seen` and the heartbeat timeout.
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    pub connected_at: String,
    pub last_seen: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceInfo {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub app_id: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<Value>,
    #[serde(default)]
    pub status: String,
    pub registered_at: String,
    pub last_seen: String,
}

/// Unix ms of an RFC 3339 time; `None` when empty or unparsable.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `expires_at` of a key that never expires: Go's zero `time.Time`, which is what dinkd writes
/// and what the dink CLI parses (an empty string makes it fail: "cannot parse \"\" as \"2006\"").
pub const NO_EXPIRY: &str = "0001-01-01T00:00:00Z";

impl KeyMetadata {
    /// Unix seconds of `expires_at`, 0 for none.
    pub fn expires_unix(&self) -> i64 {
        if self.expires_at.is_empty() || self.expires_at == NO_EXPIRY {
            0
        } else {
            // An unparsable expiry counts as already expired.
            parse_rfc3339_ms(&self.expires_at)
                .map(|ms| ms / 1000)
                .unwrap_or(1)
        }
    }
}

/// `{success, data}` / `{success:false, error:{code,message}}` (dink-protocol.md §5).
pub fn ok_envelope(data: Value) -> Value {
    serde_json::json!({ "success": true, "data": data })
}

pub fn err_envelope(code: &str, message: &str) -> Value {
    serde_json::json!({ "success": false, "error": { "code": code, "message": message } })
}
