//! Byte-level operations on updates: diff, merge, state vector, format conversion.

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::StateVector;

use yrs::Transact;

use super::doc::{decode_row_update, decode_update, load_state, prescan};
use super::encoder_v2::{diff_v2, encode_v2};
use crate::codec::prescan::decode_state_vector_entries;
use crate::codec::UpdateFormat;
use crate::error::EngineError;
use crate::limits::Limits;

/// [`crate::codec::row_crdt::diff`] on yrs (the row CRDT's oracle, and the `yrs-engine` switch).
pub fn diff(state: &[u8], remote_state_vector: &[u8]) -> Result<Vec<u8>, EngineError> {
    let sv = if remote_state_vector.is_empty() {
        StateVector::default()
    } else {
        decode_state_vector(remote_state_vector)?
    };
    if state.is_empty() {
        return Err(EngineError::invalid_delta("state is empty"));
    }
    // yrs' byte-level diff is the fast path, but its v2 output goes through the encoder path
    // that corrupts binary content (see encoder_v2.rs) and writes object values in HashMap order
    // (see canonical.rs): states holding binary content take the slower route through a
    // document and the fixed encoder; object values are sorted by re-encoding the diff.
    let summary = prescan(state, UpdateFormat::V2)?;
    // What a snapshot forwards must have the row layout, as what ingest stores does.
    if let Some(issue) = summary.layout_issue {
        return Err(EngineError::invalid_argument(format!(
            "stored state is not a row document: {issue}"
        )));
    }
    if summary.binary_items == 0 {
        // yrs' byte-level diff reads the state vector in its v2 form, while the wire (like yjs)
        // always uses the standard encoding.
        let fast = yrs::diff_updates_v2(state, &sv.encode_v2()).map_err(|e| {
            EngineError::invalid_delta(format!("state is not a Yjs update v2: {e}"))
        })?;
        if summary.max_any_depth == 0 {
            return Ok(fast);
        }
        // Only object values can have come out in HashMap order: decoding the diff and writing
        // it again with the engine's encoder sorts them, still without loading a document.
        let update = yrs::Update::decode_v2(&fast)
            .map_err(|e| EngineError::invalid_delta(format!("state diff does not decode: {e}")))?;
        return Ok(encode_v2(&update));
    }
    let doc = load_state(
        Some(state),
        1,
        &Limits {
            max_state_bytes: usize::MAX,
            ..Limits::default()
        },
    )?;
    let txn = doc.transact();
    Ok(diff_v2(&txn, &sv))
}

/// [`crate::codec::row_crdt::merge`] on yrs (the row CRDT's oracle, and the `yrs-engine` switch).
pub fn merge(updates: &[&[u8]], format: UpdateFormat) -> Result<Vec<u8>, EngineError> {
    if updates.is_empty() {
        return Err(EngineError::invalid_argument(
            "merge needs at least one update",
        ));
    }
    // Decoding every input first turns a bad one into INVALID_DELTA naming its position.
    let mut decoded = Vec::with_capacity(updates.len());
    for (i, bytes) in updates.iter().enumerate() {
        let update = decode_row_update(bytes, format).map_err(|mut e| {
            e.message = format!("update {i}: {}", e.message);
            e
        })?;
        decoded.push(update);
    }
    Ok(encode_v2(&yrs::Update::merge_updates(decoded)))
}

/// [`crate::codec::row_crdt::state_vector`] on yrs (the row CRDT's oracle, and the `yrs-engine` switch).
pub fn state_vector(update: &[u8], format: UpdateFormat) -> Result<Vec<u8>, EngineError> {
    Ok(decode_update(update, format)?.state_vector().encode_v1())
}

/// [`crate::codec::row_crdt::convert_v1_to_v2`] on yrs (the row CRDT's oracle, and the `yrs-engine` switch).
pub fn convert_v1_to_v2(update: &[u8]) -> Result<Vec<u8>, EngineError> {
    Ok(encode_v2(&decode_update(update, UpdateFormat::V1)?))
}

/// [`crate::codec::row_crdt::convert_v2_to_v1`] on yrs (the row CRDT's oracle, and the `yrs-engine` switch).
pub fn convert_v2_to_v1(update: &[u8]) -> Result<Vec<u8>, EngineError> {
    Ok(super::canonical::encode_v1_canonical(&decode_update(
        update,
        UpdateFormat::V2,
    )?))
}

/// An untrusted state vector as yrs' `StateVector`, checked by the pre-scan's decoder first
/// (yrs reserves room for the declared entry count before reading any entry).
fn decode_state_vector(bytes: &[u8]) -> Result<StateVector, EngineError> {
    let mut sv = StateVector::default();
    for (client, clock) in decode_state_vector_entries(bytes)? {
        sv.set_max(yrs::ClientID::new(client), clock);
    }
    Ok(sv)
}
