//! Stored state (always v2) in and out of a store, and the canonical copy of input bytes.

use super::decode::decode;
use super::encode::{encode, state_vector_bytes, store_delete_set, Selection};
use super::integrate::{apply, Unapplied};
use super::store::Store;
use super::txn::Txn;
use crate::codec::UpdateFormat;
use crate::error::EngineError;
use crate::limits::Limits;

/// The update written again with every value in the engine's form (see
/// `prescan::ValueScanner::skip_any`), for an update whose scan counted noncanonical values:
/// the row CRDT keeps values as the bytes it received, and stored bytes must not depend on
/// which encoder an edge used.
pub(crate) fn rewrite_values(bytes: &[u8], format: UpdateFormat) -> Result<Vec<u8>, EngineError> {
    let update = crate::codec::row_doc::decode_update(bytes, format)?;
    Ok(match format {
        UpdateFormat::V1 => crate::codec::canonical::encode_v1_canonical(&update),
        UpdateFormat::V2 => crate::codec::encoder_v2::encode_v2(&update),
    })
}

/// What loading stored state found.
pub(crate) enum Loaded<'a> {
    Row(Store<'a>),
    /// The state holds content the row CRDT does not model (a shared type or text stored
    /// before the row layout was enforced) or values not in the engine's form (not written by
    /// this engine): the caller hands the operation to yrs.
    Foreign,
}

/// Loads stored state (v2) into a store. Errors are INVALID_ARGUMENT, as
/// `row_doc::load_state` reports a corrupt state.
pub(crate) fn load(bytes: &[u8]) -> Result<Loaded<'_>, EngineError> {
    let (refs, summary) = decode(bytes, UpdateFormat::V2).map_err(|e| {
        EngineError::invalid_argument(format!("stored state is corrupt: {}", e.message))
    })?;
    if refs.foreign || summary.noncanonical_values > 0 {
        return Ok(Loaded::Foreign);
    }
    if let Some(store) = super::load::load_fast(&refs) {
        // Every test that loads state checks the walk against integration.
        #[cfg(test)]
        if let Ok(Loaded::Row(slow)) = integrate_state(refs) {
            assert_eq!(
                encode_state(&store),
                encode_state(&slow),
                "fast load: other structs"
            );
            assert_eq!(lists(&store), lists(&slow), "fast load: other key lists");
        }
        return Ok(Loaded::Row(store));
    }
    integrate_state(refs)
}

/// A key and its items in list order: (client, clock, length, deleted).
#[cfg(test)]
type KeyList = (String, Vec<(u64, u32, u32, bool)>);

/// Every key's items in list order.
#[cfg(test)]
fn lists(store: &Store<'_>) -> Vec<KeyList> {
    store
        .keys
        .keys()
        .map(|&(root, key)| {
            let mut items = Vec::new();
            let mut at = store.first_of_key(root, key);
            while let Some(i) = at {
                let b = store.block(i);
                items.push((b.id.client, b.id.clock, b.len, b.deleted));
                at = b.right;
            }
            (format!("{root}.{key}"), items)
        })
        .collect()
}

/// Loads state by integrating it struct by struct (what [`load`] falls back to).
fn integrate_state(refs: super::decode::UpdateRefs<'_>) -> Result<Loaded<'_>, EngineError> {
    let mut store = Store::default();
    let mut txn = Txn::new(&mut store);
    match apply(&mut txn, refs) {
        Ok(()) => {}
        Err(Unapplied::Missing { .. }) => {
            return Err(EngineError::invalid_argument(
                "stored state has unintegrated structs",
            ))
        }
        Err(Unapplied::Invalid(what)) => {
            return Err(EngineError::invalid_argument(format!(
                "stored state cannot be applied: {what}"
            )))
        }
    }
    txn.commit();
    Ok(Loaded::Row(store))
}

/// The stored state of a write (`None`: a row never stored) as a store, its size checked
/// first (`row_doc::load_state`); `Ok(None)` when the row CRDT does not model it and the caller
/// hands the write to yrs.
pub(crate) fn load_stored<'a>(
    state: Option<&'a [u8]>,
    limits: &Limits,
) -> Result<Option<Store<'a>>, EngineError> {
    let Some(bytes) = state else {
        return Ok(Some(Store::default()));
    };
    if bytes.len() > limits.max_state_bytes {
        return Err(EngineError::too_large(format!(
            "stored state is {} bytes, the limit is {}",
            bytes.len(),
            limits.max_state_bytes
        )));
    }
    Ok(match load(bytes)? {
        Loaded::Row(store) => Some(store),
        Loaded::Foreign => None,
    })
}

/// The whole store as a v2 update: what the engine stores.
pub(crate) fn encode_state(store: &Store<'_>) -> Vec<u8> {
    let delete_set = store_delete_set(store);
    encode(
        &Selection {
            store,
            since: &[],
            delete_set: &delete_set,
        },
        UpdateFormat::V2,
    )
}

/// [`encode_state`], refusing a state over the limit (`row_doc::stored_state`).
pub(crate) fn stored_state(store: &Store<'_>, limits: &Limits) -> Result<Vec<u8>, EngineError> {
    let state = encode_state(store);
    if state.len() > limits.max_state_bytes {
        return Err(EngineError::too_large(format!(
            "state would grow to {} bytes, the limit is {}",
            state.len(),
            limits.max_state_bytes
        )));
    }
    Ok(state)
}

/// The store's state vector, standard encoding.
pub(crate) fn state_vector(store: &Store<'_>) -> Vec<u8> {
    state_vector_bytes(&store.state_vector())
}
