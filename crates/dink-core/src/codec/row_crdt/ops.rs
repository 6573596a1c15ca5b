//! Byte-level operations on the row CRDT (`codec/ops.rs`'s contracts): diff, merge, state
//! vector, format conversion. None of them integrates structs.

use super::decode::{decode, decode_unframed, UpdateRefs};
use super::encode::{encode_merged, encode_refs, state_vector_bytes};
use super::ingest::update_state_vector;
use super::merge::merge as merge_refs;
use super::state::rewrite_values;
use crate::codec::prescan::decode_state_vector_entries;
use crate::codec::UpdateFormat;
use crate::error::EngineError;

/// Everything in `state` (v2) that a peer with `remote_state_vector` (standard encoding) has
/// not seen, as a v2 update. An empty state vector gives the whole state. As yjs
/// `diffUpdateV2`: the state's structs from the remote state vector on (the first one of each
/// client cut there) and its whole delete set.
pub fn diff(state: &[u8], remote_state_vector: &[u8]) -> Result<Vec<u8>, EngineError> {
    let sv = if remote_state_vector.is_empty() {
        Vec::new()
    } else {
        decode_state_vector_entries(remote_state_vector)?
    };
    if state.is_empty() {
        return Err(EngineError::invalid_delta("state is empty"));
    }
    let rewritten: Vec<u8>;
    let (mut refs, summary) = decode_unframed(state, UpdateFormat::V2)?;
    // What a snapshot forwards must have the row layout, as what ingest stores does.
    if let Some(issue) = summary.layout_issue {
        return Err(EngineError::invalid_argument(format!(
            "stored state is not a row document: {issue}"
        )));
    }
    if summary.noncanonical_values > 0 {
        rewritten = rewrite_values(state, UpdateFormat::V2)?;
        refs = decode_unframed(&rewritten, UpdateFormat::V2)?.0;
    }
    let known = |client: u64| {
        sv.binary_search_by_key(&client, |&(c, _)| c)
            .map_or(0, |i| sv[i].1)
    };
    let mut out = UpdateRefs {
        deletes: refs.deletes,
        ..UpdateRefs::default()
    };
    for (client, structs) in refs.sections {
        let from = known(client);
        let mut kept = Vec::with_capacity(structs.len());
        for s in structs {
            if s.block.end() <= from {
                continue;
            }
            let offset = from.saturating_sub(s.block.id.clock);
            kept.push(if offset > 0 {
                super::decode::slice_incoming(s, offset).ok_or_else(|| {
                    EngineError::invalid_argument("stored state cannot be cut at the state vector")
                })?
            } else {
                s
            });
        }
        if !kept.is_empty() {
            out.sections.push((client, kept));
        }
    }
    Ok(encode_refs(&out, UpdateFormat::V2))
}

/// Merges updates of one format into a single v2 update without loading a document. Each
/// update must be framed exactly (nothing unread) and hold only items a row document can hold
/// (see `codec/layout.rs`); the id and tombstone rules need the whole row and apply where a row
/// is stored (ingest, change). As yjs `mergeUpdatesV2`, written as v2.
pub fn merge(updates: &[&[u8]], format: UpdateFormat) -> Result<Vec<u8>, EngineError> {
    if updates.is_empty() {
        return Err(EngineError::invalid_argument(
            "merge needs at least one update",
        ));
    }
    // Each input is decoded once; one with values not in the engine's form is rewritten and
    // decoded again from the rewritten bytes (made, all of them, before any is borrowed).
    let mut decoded: Vec<Option<UpdateRefs<'_>>> = Vec::with_capacity(updates.len());
    let mut rewritten: Vec<(usize, Vec<u8>)> = Vec::new();
    for (i, bytes) in updates.iter().enumerate() {
        let at = |mut e: EngineError| {
            e.message = format!("update {i}: {}", e.message);
            e
        };
        let (refs, summary) = decode(bytes, format).map_err(at)?;
        if let Some(issue) = summary.layout_issue {
            return Err(at(EngineError::invalid_delta(issue)));
        }
        if summary.noncanonical_values > 0 {
            rewritten.push((i, rewrite_values(bytes, format).map_err(at)?));
            decoded.push(None);
        } else {
            decoded.push(Some(refs));
        }
    }
    for (i, bytes) in &rewritten {
        decoded[*i] = Some(decode(bytes, format)?.0);
    }
    let decoded: Vec<UpdateRefs<'_>> = decoded.into_iter().flatten().collect();
    let merged = merge_refs(decoded)
        .ok_or_else(|| EngineError::invalid_delta("updates overlap inside a binary value"))?;
    Ok(encode_merged(&merged, UpdateFormat::V2))
}

/// The state vector (standard encoding, entries ascending by client) of an update.
pub fn state_vector(update: &[u8], format: UpdateFormat) -> Result<Vec<u8>, EngineError> {
    // Content a row cannot hold is in `refs` as placeholders of its clock ranges, which is all
    // a state vector needs.
    let (refs, _) = decode(update, format)?;
    Ok(state_vector_bytes(&update_state_vector(&refs)))
}

/// Writes an update in the other format, values in the engine's form.
fn convert(update: &[u8], from: UpdateFormat, to: UpdateFormat) -> Result<Vec<u8>, EngineError> {
    let rewritten: Vec<u8>;
    let (mut refs, summary) = decode(update, from)?;
    if summary.noncanonical_values > 0 {
        rewritten = rewrite_values(update, from)?;
        refs = decode(&rewritten, from)?.0;
    }
    if let Some(issue) = summary.layout_issue {
        // The converters serve row documents, as every other operation does.
        return Err(EngineError::invalid_delta(issue));
    }
    Ok(encode_refs(&refs, to))
}

/// Re-encodes a v1 update as v2, values in the engine's form. The update must hold only what a
/// row document can hold (INVALID_DELTA naming the first item that breaks the layout).
pub fn convert_v1_to_v2(update: &[u8]) -> Result<Vec<u8>, EngineError> {
    convert(update, UpdateFormat::V1, UpdateFormat::V2)
}

/// Re-encodes a v2 update as v1 (see [`convert_v1_to_v2`]).
pub fn convert_v2_to_v1(update: &[u8]) -> Result<Vec<u8>, EngineError> {
    convert(update, UpdateFormat::V2, UpdateFormat::V1)
}
