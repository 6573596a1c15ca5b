//! The `$SYNC.<app>.<edge>.*` bodies (docs/protocol.md, "Edge sync over NATS"), as serde types.
//!
//! Why separate: the wire shapes are the contract with the gateway; keeping them in one file with
//! no logic makes them easy to hold against the doc. Replies are parsed leniently (unknown fields
//! ignored) so a gateway that adds a field does not break older edges.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::status::SyncErrorInfo;

pub const VERSION: u32 = 1;

/// A wire error (`error` of the envelope, or of a push result).
#[derive(Clone, Debug, Deserialize)]
pub struct WireError {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub field: Option<String>,
    /// MISSING_DEPENDENCIES: the server's state vector (base64).
    #[serde(default)]
    pub state_vector: Option<String>,
}

impl WireError {
    pub fn info(&self) -> SyncErrorInfo {
        SyncErrorInfo {
            code: self.code.clone(),
            message: self.message.clone(),
            field: self.field.clone(),
        }
    }
}

/// `{version, success, data | error}`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub data: Option<Value>,
    #[serde(default)]
    pub error: Option<WireError>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct HelloData {
    pub head_seq: u64,
    #[serde(default)]
    pub convex_configured: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct PushDelta {
    pub op_id: String,
    pub collection: String,
    pub doc_id: String,
    pub delta: String,
    pub format: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct PushRequest {
    pub version: u32,
    pub deltas: Vec<PushDelta>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PushResult {
    pub op_id: String,
    pub status: String,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub error: Option<WireError>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PushData {
    pub results: Vec<PushResult>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChangesRequest {
    pub version: u32,
    pub collection: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ChangeItem {
    pub doc_id: String,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub delta: Option<String>,
    #[serde(default)]
    pub format: Option<u32>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ChangesData {
    pub changes: Vec<ChangeItem>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub more: bool,
    #[serde(default)]
    pub snapshot: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct SnapshotRequest {
    pub version: u32,
    pub collection: String,
    pub doc_id: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SnapshotData {
    pub doc_id: String,
    /// The whole state (Yjs update v2), base64.
    pub state: String,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub is_diff: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub collection: String,
    pub doc_id: String,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub origin_edge_id: Option<String>,
    #[serde(default)]
    pub delta: Option<String>,
    #[serde(default)]
    pub format: Option<u32>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct EventsBody {
    #[serde(default)]
    pub events: Vec<Event>,
}

/// The `data` of a successful reply, or its error.
pub fn parse_reply(payload: &[u8]) -> Result<Value, WireError> {
    let env: Envelope = serde_json::from_slice(payload).map_err(|e| WireError {
        code: "BAD_REPLY".into(),
        message: format!("unreadable reply: {e}"),
        field: None,
        state_vector: None,
    })?;
    if env.success {
        Ok(env.data.unwrap_or(Value::Null))
    } else {
        Err(env.error.unwrap_or(WireError {
            code: "BAD_REPLY".into(),
            message: "reply without success or error".into(),
            field: None,
            state_vector: None,
        }))
    }
}
