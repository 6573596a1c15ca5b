//! Row sync status and the small value types the sync client hands to applications.
//!
//! Why a separate file: the status is the one promise the edge makes to its application ("this
//! row is in Convex at version N", "Convex refused it"), so its states and their meaning live in
//! one place. A status changes only when the edge sends an op or receives an answer; it is stored
//! with the row (`store.rs`), so it survives a restart and never claims more than was observed.

use serde::{Deserialize, Serialize};

/// An error as Convex (or the gateway) answered it: `{code, message, field?}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncErrorInfo {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Where a row stands with Convex. Serialized as `{state: "local"|"sent"|"applied"|"rejected",
/// version?, error?}` (the control protocol's shape).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum RowStatus {
    /// Changed locally; at least one change is not sent yet.
    #[serde(rename = "local")]
    LocalOnly,
    /// Every local change was sent; no answer yet.
    Sent,
    /// Convex acknowledged every local change (or the row came from Convex and has none pending);
    /// `version` is the document version Convex reported.
    Applied { version: u64 },
    /// Convex refused a local change; the row was (or is being) reverted to Convex's state.
    Rejected { error: SyncErrorInfo },
}

/// A local change Convex refused (passed to the `on_sync_rejected` callbacks).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub collection: String,
    pub doc_id: String,
    pub op_id: String,
    pub error: SyncErrorInfo,
}

/// Why a row changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeSource {
    /// A local write (put / delete).
    Local,
    /// A delta or snapshot from Convex (events or catch-up).
    Remote,
    /// Reverted to Convex's state after a rejection.
    Revert,
    /// Only the sync status changed (send or acknowledgement).
    Status,
}

/// One row change, broadcast to subscribers ([`crate::sync::Engine::subscribe`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RowChange {
    pub collection: String,
    pub doc_id: String,
    pub source: ChangeSource,
    /// The row's status after the change; `None` when the row was removed locally.
    pub status: Option<RowStatus>,
}

/// Counters (the control protocol's `status.stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub applied: u64,
    pub duplicate: u64,
    pub noop: u64,
    pub rejected: u64,
    pub resent: u64,
    pub events_received: u64,
    pub events_applied: u64,
    pub gaps: u64,
    pub catchups: u64,
    pub unavailable: u64,
}
