//! Ingest: merge an untrusted update from an edge into a row's stored state.

use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, StateVector, Transact, Update};

use super::doc::{decode_update_scanned, load_state, read_row, stored_state};
use super::encoder_v2::{state_v2, txn_update_v2};
use super::layout::{check_row_layout, Prior};
use crate::codec::outcome::IngestOutcome;
use crate::codec::row_doc::check_size;
use crate::codec::UpdateFormat;
use crate::error::{EngineError, ErrorCode};
use crate::limits::{Limits, MAX_CLOCK_ADVANCE};

/// Clock units (roughly: inserted characters or values) an update left unintegrated.
fn pending_units(pending: &Update) -> u64 {
    let upper = pending.state_vector();
    let lower = pending.state_vector_lower();
    upper
        .iter()
        .map(|(client, clock)| u64::from(clock.saturating_sub(lower.get(client))))
        .sum()
}

/// Whether `update` carries structs of some client beyond a gap in what `known` holds: a
/// struct whose predecessors from the same client are missing.
///
/// yjs parks such structs as pending; yrs integrates them behind a "skip" hole, and its code
/// that later fills such holes can panic. Checking before applying keeps holes out of the
/// document entirely, so the update is refused with MISSING_DEPENDENCIES instead.
fn skips_ahead(update: &Update, known: &StateVector) -> bool {
    update.insertions(true).iter().any(|(client, ranges)| {
        let mut reached = known.get(client);
        let mut sorted: Vec<_> = ranges.iter().collect();
        sorted.sort_by_key(|r| r.start);
        sorted.into_iter().any(|range| {
            let gap = range.start > reached;
            reached = reached.max(range.end);
            gap
        })
    })
}

/// The first client whose clock the update advances by more than [`MAX_CLOCK_ADVANCE`] past
/// what `known` holds.
fn clock_jump(update: &Update, known: &StateVector) -> Option<(u64, u32)> {
    update.state_vector().iter().find_map(|(client, &clock)| {
        let jump = clock.saturating_sub(known.get(client));
        (jump > MAX_CLOCK_ADVANCE).then(|| (client.get(), jump))
    })
}

/// [`crate::codec::row_crdt::ingest`] on yrs (the row CRDT's oracle, and the `yrs-engine` switch).
pub fn ingest(
    state: Option<&[u8]>,
    update: &[u8],
    format: UpdateFormat,
    doc_id: Option<&str>,
    limits: &Limits,
) -> Result<IngestOutcome, EngineError> {
    check_size("update is", update.len(), limits.max_update_bytes)?;
    // Decode the untrusted bytes before touching the stored state: a bad update costs no
    // state decoding.
    let (decoded, summary) = decode_update_scanned(update, format)?;
    let doc = load_state(state, 0, limits)?;

    let mut txn = doc.transact_mut();
    let before: StateVector = txn.state_vector();
    // Skip ranges carry nothing to integrate, so they are bounded by their own length.
    let skip = Some(summary.longest_skip).filter(|&(_, len)| len > MAX_CLOCK_ADVANCE);
    if let Some((client, jump)) = skip.or_else(|| clock_jump(&decoded, &before)) {
        return Err(EngineError::invalid_delta(format!(
            "client {client} jumps {jump} clock units in one update; the limit is {MAX_CLOCK_ADVANCE}"
        )));
    }
    let prior = Prior::of(&txn, state.is_some());
    let gap = skips_ahead(&decoded, &before);
    // An item the layout refuses by its own bytes: the update is refused either way, but the
    // document it produces names the place better when the item was placed by an origin.
    let item_issue = summary.layout_issue;
    if let (true, Some(issue)) = (gap, &item_issue) {
        return Err(EngineError::invalid_delta(issue.clone()));
    }
    if !gap {
        txn.apply_update(decoded)
            .map_err(|e| EngineError::invalid_delta(format!("update cannot be applied: {e}")))?;
    }
    if let Some(issue) = item_issue {
        if !txn.has_missing_updates() {
            check_row_layout(&txn, doc_id, &prior)?;
        }
        return Err(EngineError::invalid_delta(issue));
    }
    if gap || txn.has_missing_updates() {
        let units = txn
            .store()
            .pending_update()
            .map(|p| pending_units(&p.update))
            .unwrap_or(0);
        if units > limits.max_pending_structs as u64 {
            return Err(EngineError::too_large(format!(
                "update leaves {units} clock units unintegrated, the limit is {}",
                limits.max_pending_structs
            )));
        }
        let mut err = EngineError::new(
            ErrorCode::MissingDependencies,
            "update depends on changes the server does not have; resend a diff against the returned state vector",
        );
        err.state_vector = Some(before.encode_v1());
        return Err(err);
    }

    let changed = txn.state_vector() != before || !txn.delete_set().is_empty();
    if !changed {
        drop(txn);
        let txn = doc.transact();
        let row = read_row(&txn, limits)?;
        return Ok(IngestOutcome {
            state: match state {
                Some(bytes) => bytes.to_vec(),
                None => state_v2(&txn),
            },
            state_vector: before.encode_v1(),
            fields: row.fields,
            deleted: row.deleted,
            changed: false,
            delta: Vec::new(),
        });
    }

    check_row_layout(&txn, doc_id, &prior)?;
    let delta = txn_update_v2(&txn);
    // Committing runs garbage collection: overwritten values become GC ranges, which is what
    // keeps the stored state from growing with the number of edits.
    drop(txn);

    let txn = doc.transact();
    let row = read_row(&txn, limits)?;
    let new_state = stored_state(&txn, limits)?;
    Ok(IngestOutcome {
        state: new_state,
        state_vector: txn.state_vector().encode_v1(),
        fields: row.fields,
        deleted: row.deleted,
        changed: true,
        delta,
    })
}
