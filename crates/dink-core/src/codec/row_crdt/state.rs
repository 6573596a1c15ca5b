//! Stored state (always v2) in and out of a store, and the canonical copy of input bytes.

use super::block::Content;
use super::decode::{decode, decode_into, decode_unframed, UpdateRefs};
use super::encode::{encode, encode_refs, state_vector_bytes, store_delete_set, Selection};
use super::integrate::{apply, Unapplied};
use super::load::StateSink;
use super::store::Store;
use super::txn::Txn;
use super::values::canonical_values;
use crate::codec::row_doc::check_size;
use crate::codec::UpdateFormat;
use crate::error::EngineError;
use crate::limits::Limits;

/// The update written again with every value in the engine's form ([`canonical_values`]), for
/// an update whose scan counted noncanonical values (`prescan::ValueScanner::skip_any`): the
/// row CRDT keeps values as the bytes it received, and stored bytes must not depend on which
/// encoder an edge used. An update holding content a row cannot hold is returned as it is (the
/// callers refuse it by its layout issue).
pub(crate) fn rewrite_values(bytes: &[u8], format: UpdateFormat) -> Result<Vec<u8>, EngineError> {
    let (refs, _) = decode_unframed(bytes, format)?;
    if refs.foreign {
        return Ok(bytes.to_vec());
    }
    let mut payloads = Vec::new();
    for (_, structs) in &refs.sections {
        for s in structs {
            if let Content::Any(values) = s.block.content {
                payloads.push(canonical_values(values)?);
            }
        }
    }
    let mut payload = payloads.iter();
    let sections = refs
        .sections
        .iter()
        .map(|(client, structs)| {
            let structs = structs
                .iter()
                .map(|s| {
                    let mut s = *s;
                    if let Content::Any(_) = s.block.content {
                        if let Some(values) = payload.next() {
                            s.block.content = Content::Any(values);
                        }
                    }
                    s
                })
                .collect();
            (*client, structs)
        })
        .collect();
    let rewritten = UpdateRefs {
        sections,
        deletes: refs.deletes.clone(),
        foreign: false,
    };
    Ok(encode_refs(&rewritten, format))
}

/// Loads stored state (v2) into a store. Errors are INVALID_ARGUMENT: a corrupt state, or one
/// holding content a row cannot hold (only a row stored before the row layout rules can; every
/// write refuses such content since). Values not in the engine's form (a state written before
/// the engine sorted object keys) are rewritten into `scratch` first.
pub(crate) fn load<'a>(
    bytes: &'a [u8],
    scratch: &'a mut Vec<u8>,
) -> Result<Store<'a>, EngineError> {
    let corrupt = |e: EngineError| {
        EngineError::invalid_argument(format!("stored state is corrupt: {}", e.message))
    };
    let mut sink = StateSink::default();
    let summary = decode_into(bytes, UpdateFormat::V2, &mut sink).map_err(corrupt)?;
    if let Some(issue) = summary.layout_issue {
        return Err(EngineError::invalid_argument(format!(
            "stored state is not a row document: {issue}"
        )));
    }
    let bytes: &'a [u8] = if summary.noncanonical_values > 0 {
        *scratch = rewrite_values(bytes, UpdateFormat::V2)?;
        let scratch: &'a Vec<u8> = scratch;
        sink = StateSink::default();
        decode_into(scratch, UpdateFormat::V2, &mut sink).map_err(corrupt)?;
        scratch
    } else {
        bytes
    };
    if let Some(store) = sink.finish() {
        // Every test that loads state checks the walk against integration.
        #[cfg(test)]
        if let Ok(slow) = integrate_state(decode(bytes, UpdateFormat::V2)?.0) {
            assert_eq!(
                encode_state(&store),
                encode_state(&slow),
                "fast load: other structs"
            );
            assert_eq!(lists(&store), lists(&slow), "fast load: other key lists");
        }
        return Ok(store);
    }
    // Outside what the walk covers: decoded again, as structs to integrate.
    integrate_state(decode(bytes, UpdateFormat::V2).map_err(corrupt)?.0)
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
                at = b.right.get();
            }
            (format!("{root}.{key}"), items)
        })
        .collect()
}

/// Loads state by integrating it struct by struct (what [`load`] falls back to).
fn integrate_state(refs: UpdateRefs<'_>) -> Result<Store<'_>, EngineError> {
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
    Ok(store)
}

/// The stored state of a write (`None`: a row never stored) as a store, its size checked
/// first; `scratch` as [`load`]'s.
pub(crate) fn load_stored<'a>(
    state: Option<&'a [u8]>,
    scratch: &'a mut Vec<u8>,
    limits: &Limits,
) -> Result<Store<'a>, EngineError> {
    let Some(bytes) = state else {
        return Ok(Store::default());
    };
    check_size("stored state is", bytes.len(), limits.max_state_bytes)?;
    load(bytes, scratch)
}

/// The whole store as a v2 update: what the engine stores.
pub(crate) fn encode_state(store: &Store<'_>) -> Vec<u8> {
    // The store's compact deleted flags and the client lists mirror the arena: every test
    // that stores state checks it.
    #[cfg(test)]
    store.assert_mirrors();
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

/// [`encode_state`], refusing a state over the limit.
pub(crate) fn stored_state(store: &Store<'_>, limits: &Limits) -> Result<Vec<u8>, EngineError> {
    let state = encode_state(store);
    check_size("state would grow to", state.len(), limits.max_state_bytes)?;
    Ok(state)
}

/// The store's state vector, standard encoding.
pub(crate) fn state_vector(store: &Store<'_>) -> Vec<u8> {
    state_vector_bytes(&store.state_vector())
}
