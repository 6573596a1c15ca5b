//! Change: turn a Convex-side write (old row -> new row, or delete) into a CRDT delta that
//! holds only the changed keys.

use yrs::updates::encoder::Encode;
use yrs::{Any, Map, Out, ReadTxn, Transact, WriteTxn};

use super::any::value_to_any;
use super::doc::{load_state, read_row, stored_state};
use super::encoder_v2::txn_update_v2;
use super::layout::{check_row_layout, Prior};
use crate::codec::outcome::{check_change_args, ChangeOutcome};
use crate::codec::row_doc::{FIELDS_ROOT, META_ROOT};
use crate::error::{EngineError, ErrorCode};
use crate::limits::Limits;
use crate::value::{stored_form, Fields};

/// [`crate::codec::row_crdt::change`] on yrs (the row CRDT's oracle, and the `yrs-engine` switch).
/// One difference: a field stored as a shared type (say a `Y.Text`, possible only for a row
/// stored before the layout rules) is rewritten as the plain value, which repairs the row.
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
