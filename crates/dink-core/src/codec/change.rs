//! Change: turn a Convex-side write (old row -> new row, or delete) into a CRDT delta that
//! holds only the changed keys.

use yrs::updates::encoder::Encode;
use yrs::{Any, Map, Out, ReadTxn, Transact, WriteTxn};

use super::encoder_v2::txn_update_v2;
use super::layout::{check_row_layout, Prior};
use super::row_doc::stored_state;
use super::row_doc::{load_state, read_row, FIELDS_ROOT, META_ROOT};
use crate::error::{EngineError, ErrorCode};
use crate::limits::Limits;
use crate::value::{check_fields, stored_form, value_to_any, Fields};

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

/// Applies a Convex-side write to a row's CRDT state.
///
/// * `state`: the stored state (v2), or `None` for a row never synced before.
/// * `old`: the row before the write as the caller saw it (used only to report drift).
/// * `new`: the row after the write, or `None` for a delete (sets the `_meta` tombstone;
///   the fields stay so late edge updates merge into a deleted row instead of resurrecting it).
///   Writing a row whose state is tombstoned re-inserts it and clears the tombstone.
/// * `doc_id`: the document id; `fields.id` of the row must equal it (`None`: unknown to the
///   caller, then the id must be a string and may not change once stored). The row the write
///   produces must have the row layout (`codec/layout.rs`); a violation is INVALID_ARGUMENT
///   naming it. A field an older edge stored as a shared type (say a `Y.Text`) is rewritten
///   as the plain value, which repairs such a row.
/// * `client_id`: normally [`super::SERVER_CLIENT_ID`]; `now_ms` stamps `_deletedAt`.
pub fn change(
    state: Option<&[u8]>,
    old: Option<&Fields>,
    new: Option<&Fields>,
    doc_id: Option<&str>,
    client_id: u64,
    now_ms: f64,
    limits: &Limits,
) -> Result<ChangeOutcome, EngineError> {
    check_change_args(new, client_id, limits)?;
    let doc = load_state(state, client_id, limits)?;
    let (current, prior, shared) = {
        let txn = doc.transact();
        // Keys whose entry is a shared type rather than a plain value (rows stored before the
        // layout check): always rewritten.
        let shared: Vec<String> = txn
            .get_map(FIELDS_ROOT)
            .map(|map| {
                map.iter(&txn)
                    .filter(|(_, out)| !matches!(out, Out::Any(_)))
                    .map(|(key, _)| key.to_string())
                    .collect()
            })
            .unwrap_or_default();
        (
            read_row(&txn, limits)?,
            Prior::of(&txn, state.is_some()),
            shared,
        )
    };
    let drifted = state.is_some() && old.is_some_and(|old| *old != current.fields);

    let mut changed_keys = Vec::new();
    let mut txn = doc.transact_mut();
    let fields = txn.get_or_insert_map(FIELDS_ROOT);
    let meta = txn.get_or_insert_map(META_ROOT);
    let deleted = match new {
        Some(new) => {
            for (key, value) in new {
                let stored = stored_form(value);
                if current.fields.get(key) != Some(&stored) || shared.contains(key) {
                    fields.insert(&mut txn, key.as_str(), value_to_any(&stored));
                    changed_keys.push(key.clone());
                }
            }
            for key in current.fields.keys() {
                if !new.contains_key(key) {
                    fields.remove(&mut txn, key);
                    changed_keys.push(key.clone());
                }
            }
            if current.deleted {
                // An explicit `false` (not a key removal) so replicas that only look at the
                // flag, as Replicate clients do, see the row come back.
                meta.insert(&mut txn, "_deleted", Any::Bool(false));
                meta.remove(&mut txn, "_deletedAt");
            }
            false
        }
        None => {
            if !current.deleted {
                meta.insert(&mut txn, "_deleted", Any::Bool(true));
                meta.insert(&mut txn, "_deletedAt", Any::Number(now_ms));
            }
            true
        }
    };

    check_row_layout(&txn, doc_id, &prior).map_err(|e| EngineError {
        code: ErrorCode::InvalidArgument,
        ..e
    })?;
    let changed = !txn.delete_set().is_empty() || txn.state_vector() != *txn.before_state();
    let delta = changed.then(|| txn_update_v2(&txn));
    drop(txn);

    let txn = doc.transact();
    let new_state = stored_state(&txn, limits)?;
    Ok(ChangeOutcome {
        delta,
        state: new_state,
        state_vector: txn.state_vector().encode_v1(),
        changed_keys,
        deleted,
        drifted,
    })
}
