//! The row CRDT: a Yjs document specialised to the row layout, behind the engine's API.
//!
//! A row document is two root maps of plain values (`codec/layout.rs`), so this is all of Yjs a
//! row needs, and nothing else: structs borrow their values' bytes from the input
//! (`block.rs`), are read by the checked pre-scan (`decode.rs`), kept by client and clock with
//! each key's list linked (`store.rs`), integrated by yjs 13.6's rules (`integrate.rs`: the
//! order of `integrateStructs`, YATA for map keys, delete sets), cleaned up as a yjs transaction
//! is (`txn.rs`: garbage collection, struct merging), and written by lib0's encoders
//! (`encode.rs`). Stored state loads without integration (`load.rs`). The operations have the
//! contracts the yrs engine had (`codec::yrs_engine`, which it replaced): `ingest.rs`,
//! `change.rs`, `ops.rs` (diff, merge with `merge.rs`, state vector, conversion), `row.rs`
//! (materialize and the row rules that need the whole row), with values an edge wrote in
//! another form than the engine's rewritten first (`state.rs`, `values.rs`).
//!
//! It models rows only: stored state holding anything else (a `Y.Text` stored before the
//! layout rules) is refused by name, where the yrs engine read it. yrs is the oracle, compiled
//! only for tests and the fuzzer: `differential.rs` runs both engines on random concurrent
//! histories and compares every output; the fuzzer does the same on every input.

mod block;
mod change;
mod decode;
mod encode;
mod ingest;
mod integrate;
mod load;
mod merge;
mod ops;
mod row;
mod state;
mod store;
mod txn;
mod values;

use super::{Materialized, UpdateFormat};
use crate::codec::row_doc::check_size;
use crate::error::EngineError;
use crate::limits::Limits;

pub use change::change;
pub use ingest::ingest;
pub use ops::{convert_v1_to_v2, convert_v2_to_v1, diff, merge, state_vector};

#[cfg(test)]
mod differential;

/// Materializes stored state (v2): the row's fields and whether it is deleted.
pub fn materialize(state: &[u8], limits: &Limits) -> Result<Materialized, EngineError> {
    check_size("state is", state.len(), limits.max_state_bytes)?;
    let mut scratch = Vec::new();
    let store =
        state::load(state, &mut scratch).map_err(|e| EngineError::invalid_delta(e.message))?;
    row::read_row(&store, limits)
}

/// Decodes an update and writes it again with the row CRDT's encoder, structs as they are (no
/// integration), as yjs rewrites an update (`convertUpdateFormat`: an item placed by an origin
/// loses the key flag of its info byte) and with the delete set in yjs's order (clients
/// descending; yrs writes its hash map's order).
#[doc(hidden)]
pub fn reencode(update: &[u8], format: UpdateFormat) -> Result<Vec<u8>, EngineError> {
    let (refs, _) = decode::decode(update, format)?;
    if refs.foreign {
        return Err(EngineError::invalid_delta(
            "update holds content a row document cannot hold",
        ));
    }
    Ok(encode::encode_refs(&refs, format))
}

/// The structs and delete set of an update, one per line (for test failure messages).
#[doc(hidden)]
pub fn dump(update: &[u8], format: UpdateFormat) -> String {
    match decode::decode(update, format) {
        Ok((refs, _)) => {
            let mut out = String::new();
            for (client, structs) in &refs.sections {
                for s in structs {
                    let b = &s.block;
                    out.push_str(&format!(
                        "{client}@{} len {} {:?} origin {:?} right {:?} key {:?}{}\n",
                        b.id.clock,
                        b.len,
                        b.content,
                        b.origin.map(|i| (i.client, i.clock)),
                        b.right_origin.map(|i| (i.client, i.clock)),
                        s.named.then_some((b.root, b.key)),
                        if s.skip { " skip" } else { "" }
                    ));
                }
            }
            out.push_str(&format!("deletes {:?}\n", refs.deletes));
            out
        }
        Err(e) => format!("undecodable: {e}"),
    }
}

/// An update written with every struct cut into one-unit structs and its delete set merged
/// and sorted (GC ranges counted as deleted): two updates normalize to the same bytes exactly
/// when they hold the same clock units (ids, origins, places, values) and delete the same ones,
/// however their encoders cut runs into structs. yrs and yjs merge neighbouring structs in
/// different cases (yjs merges the two halves of a split item again when nothing was inserted
/// between them, yrs does not), so tests compare the row CRDT with yrs through this.
#[doc(hidden)]
pub fn normalized(update: &[u8], format: UpdateFormat) -> Result<Vec<u8>, EngineError> {
    let (structs, deletes) = normalized_parts(update, format)?;
    let mut refs = structs;
    refs.deletes = deletes;
    Ok(encode::encode_refs(&refs, format))
}

/// Deleted clocks: (client, first clock, length).
#[doc(hidden)]
pub type DeleteRange = (u64, u32, u32);

/// [`normalized`] in two parts: the structs alone (an update with an empty delete set), and
/// the deleted clock ranges, sorted and merged.
#[doc(hidden)]
pub fn normalized_split(
    update: &[u8],
    format: UpdateFormat,
) -> Result<(Vec<u8>, Vec<DeleteRange>), EngineError> {
    let (structs, deletes) = normalized_parts(update, format)?;
    Ok((encode::encode_refs(&structs, format), deletes))
}

fn normalized_parts(
    update: &[u8],
    format: UpdateFormat,
) -> Result<(decode::UpdateRefs<'_>, Vec<DeleteRange>), EngineError> {
    let (refs, _) = decode::decode(update, format)?;
    if refs.foreign {
        return Err(EngineError::invalid_delta(
            "update holds content a row document cannot hold",
        ));
    }
    let mut units = decode::unit_refs(&refs);
    let deletes = std::mem::take(&mut units.deletes);
    Ok((units, deletes))
}
