//! Ingest on the row CRDT: `codec/ingest.rs`'s contract and checks, in its order.

use std::collections::BTreeMap;

use super::decode::{decode, UpdateRefs};
use super::integrate::{apply, Unapplied};
use super::row::{check_row_layout, read_row, Prior};
use super::state::{encode_state, load_stored, rewrite_values, state_vector, stored_state};
use super::txn::Txn;
use crate::codec::row_doc::check_size;
use crate::codec::{IngestOutcome, UpdateFormat};
use crate::error::{EngineError, ErrorCode};
use crate::limits::{Limits, MAX_CLOCK_ADVANCE};

/// Per client, the clock an update's run reaches from 0, up to its first skip (yrs
/// `Update::state_vector`: a client whose run does not start at 0 is left out).
pub(crate) fn update_state_vector(refs: &UpdateRefs<'_>) -> Vec<(u64, u32)> {
    refs.sections
        .iter()
        .filter_map(|(client, structs)| {
            if structs.first()?.block.id.clock != 0 {
                return None;
            }
            let end = structs
                .iter()
                .take_while(|s| !s.skip)
                .last()
                .map_or(0, |s| s.block.end());
            (end > 0).then_some((*client, end))
        })
        .collect()
}

/// Whether the update has structs of some client beyond a gap in what `known` holds
/// (`codec/ingest.rs::skips_ahead`; skips are not insertions).
fn skips_ahead(refs: &UpdateRefs<'_>, known: &BTreeMap<u64, u32>) -> bool {
    refs.sections.iter().any(|(client, structs)| {
        let mut reached = known.get(client).copied().unwrap_or(0);
        structs.iter().filter(|s| !s.skip).any(|s| {
            let gap = s.block.id.clock > reached;
            reached = reached.max(s.block.end());
            gap
        })
    })
}

/// Ingests `update` (of `format`) into `state` (v2, or `None` for a row the server has never
/// seen) of document `doc_id`. A rejected update returns an error and produces nothing to
/// store.
///
/// `doc_id` is the document id the row is stored under; `fields.id` must equal it (see
/// `codec/layout.rs` for the whole row layout). `None` is for callers that do not know it (the
/// wasm facade's older signature): then `fields.id` must still be a string on a live row and
/// may not change once stored.
///
/// Errors: TOO_LARGE (update, state or materialized row over the limits), INVALID_DELTA
/// (undecodable bytes, bytes the format leaves unread, anything outside the row layout, a clock
/// jump over [`MAX_CLOCK_ADVANCE`]), MISSING_DEPENDENCIES (the update builds on structs the
/// server lacks; carries the server's state vector so the sender can resend a full diff).
pub fn ingest(
    state: Option<&[u8]>,
    update: &[u8],
    format: UpdateFormat,
    doc_id: Option<&str>,
    limits: &Limits,
) -> Result<IngestOutcome, EngineError> {
    check_size("update is", update.len(), limits.max_update_bytes)?;
    let rewritten: Vec<u8>;
    let (mut refs, summary) = decode(update, format)?;
    if summary.noncanonical_values > 0 {
        rewritten = rewrite_values(update, format)?;
        refs = decode(&rewritten, format)?.0;
    }
    let mut scratch = Vec::new();
    let mut store = load_stored(state, &mut scratch, limits)?;
    let before = store.state_vector_map();
    let skip = Some(summary.longest_skip).filter(|&(_, len)| len > MAX_CLOCK_ADVANCE);
    let jump = update_state_vector(&refs)
        .into_iter()
        .find_map(|(client, clock)| {
            let jump = clock.saturating_sub(before.get(&client).copied().unwrap_or(0));
            (jump > MAX_CLOCK_ADVANCE).then_some((client, jump))
        });
    if let Some((client, jump)) = skip.or(jump) {
        return Err(EngineError::invalid_delta(format!(
            "client {client} jumps {jump} clock units in one update; the limit is {MAX_CLOCK_ADVANCE}"
        )));
    }
    let prior = Prior::of(&store, state.is_some());
    if let Some(issue) = summary.layout_issue {
        return Err(EngineError::invalid_delta(issue));
    }
    let missing = |units: u64| {
        if units > limits.max_pending_structs as u64 {
            return EngineError::too_large(format!(
                "update leaves {units} clock units unintegrated, the limit is {}",
                limits.max_pending_structs
            ));
        }
        let mut err = EngineError::new(
            ErrorCode::MissingDependencies,
            "update depends on changes the server does not have; resend a diff against the returned state vector",
        );
        err.state_vector = Some(super::encode::state_vector_bytes(
            &before.iter().map(|(&c, &k)| (c, k)).collect::<Vec<_>>(),
        ));
        err
    };
    if skips_ahead(&refs, &before) {
        return Err(missing(0));
    }

    let mut txn = Txn::new(&mut store);
    match apply(&mut txn, refs) {
        Ok(()) => {}
        Err(Unapplied::Missing { units }) => return Err(missing(units)),
        Err(Unapplied::Invalid(what)) => {
            return Err(EngineError::invalid_delta(format!(
                "update cannot be applied: {what}"
            )))
        }
    }
    if !txn.changed() {
        drop(txn);
        let row = read_row(&store, limits)?;
        return Ok(IngestOutcome {
            state: match state {
                Some(bytes) => bytes.to_vec(),
                None => encode_state(&store),
            },
            state_vector: state_vector(&store),
            fields: row.fields,
            deleted: row.deleted,
            changed: false,
            delta: Vec::new(),
        });
    }
    check_row_layout(txn.store, doc_id, &prior)?;
    let delta = txn.update_v2();
    // Committing garbage-collects overwritten values, which keeps the stored state from
    // growing with the number of edits.
    txn.commit();
    let row = read_row(&store, limits)?;
    let new_state = stored_state(&store, limits)?;
    Ok(IngestOutcome {
        state: new_state,
        state_vector: state_vector(&store),
        fields: row.fields,
        deleted: row.deleted,
        changed: true,
        delta,
    })
}
