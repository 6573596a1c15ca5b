//! What the engine's operations return, and the argument checks both engines share.

use crate::error::EngineError;
use crate::limits::Limits;
use crate::value::{check_fields, Fields};

/// What an accepted update did to the row.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestOutcome {
    /// The new stored state (v2). Equal to the input state when nothing changed.
    pub state: Vec<u8>,
    /// The new state vector (standard encoding).
    pub state_vector: Vec<u8>,
    /// The row's fields after the update.
    pub fields: Fields,
    /// Whether the row is tombstoned after the update.
    pub deleted: bool,
    /// Whether the update added anything the server did not already have.
    pub changed: bool,
    /// What the update added, normalized to v2 (empty when unchanged): this is what is stored
    /// in the delta log and forwarded to other edges.
    pub delta: Vec<u8>,
}

/// Yjs client ids are at most 53 bits (they must survive a JavaScript number).
const MAX_CLIENT_ID: u64 = (1 << 53) - 1;

/// The delta a Convex write produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeOutcome {
    /// v2 update holding only the changed keys; `None` when the write changed nothing.
    pub delta: Option<Vec<u8>>,
    /// The new stored state (v2).
    pub state: Vec<u8>,
    /// The new state vector (standard encoding).
    pub state_vector: Vec<u8>,
    /// Field names the delta sets or removes, in order.
    pub changed_keys: Vec<String>,
    /// Whether the row is tombstoned afterwards.
    pub deleted: bool,
    /// The caller's `old` row differed from the CRDT's view of the row. The delta is computed
    /// against the CRDT (the source of truth for edges), so it also repairs the drift.
    pub drifted: bool,
}

/// The checks of [`change`]'s arguments that need no state: the client id, and the new row's
/// limits and field names.
pub(crate) fn check_change_args(
    new: Option<&Fields>,
    client_id: u64,
    limits: &Limits,
) -> Result<(), EngineError> {
    if client_id == 0 || client_id > MAX_CLIENT_ID {
        return Err(EngineError::invalid_argument(format!(
            "client id must be between 1 and 2^53-1, got {client_id}"
        )));
    }
    if let Some(new) = new {
        check_fields(new, limits)?;
        for key in new.keys() {
            if key.is_empty() || key.starts_with('$') || key.starts_with('_') {
                return Err(EngineError::invalid_argument(format!(
                    "field name {key:?} cannot be synced (empty, '$' or '_' prefix)"
                ))
                .with_field(key.clone()));
            }
        }
    }
    Ok(())
}
