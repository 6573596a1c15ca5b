//! The row document codec: one Yjs document per row, byte-compatible with `yjs` and with
//! @trestleinc/replicate >= 2.0.
//!
//! Layout: root `Y.Map("fields")` holds every user field (and `id`) as a plain atomic value
//! (last writer wins per field); root `Y.Map("_meta")` holds the tombstone (`_deleted`,
//! `_deletedAt`). Stored state and forwarded deltas are Yjs update v2; ingest also accepts v1.
//! State vectors always use the standard (v1) encoding, which yjs uses for both formats.

mod layout;
mod outcome;
mod prescan;
#[doc(hidden)]
pub mod row_crdt;
mod row_doc;
#[cfg(any(test, feature = "yrs-oracle"))]
#[doc(hidden)]
pub mod yrs_engine;

pub use outcome::{ChangeOutcome, IngestOutcome};
pub use row_doc::{Materialized, FIELDS_ROOT, META_ROOT};

// The engine's operations: on the row CRDT (`row_crdt/`), or on yrs with the `yrs-engine`
// feature (the switch back; `yrs_engine/` is otherwise only the row CRDT's test oracle).
#[cfg(not(feature = "yrs-engine"))]
pub use row_crdt::{
    change, convert_v1_to_v2, convert_v2_to_v1, diff, ingest, materialize, merge, state_vector,
};
#[cfg(feature = "yrs-engine")]
pub use yrs_engine::{
    change, convert_v1_to_v2, convert_v2_to_v1, diff, ingest, materialize, merge, state_vector,
};

use crate::error::EngineError;

/// The client id every Convex-side write uses. Convex serialises transactions on a row, so a
/// single id never produces two structs with the same clock. The value is a fixed 32-bit number
/// (yjs client ids are uint32) chosen to be recognisable in dumps: "dink" in ASCII.
pub const SERVER_CLIENT_ID: u64 = 0x6469_6e6b;

/// Yjs update encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateFormat {
    V1,
    V2,
}

impl UpdateFormat {
    /// Reads the wire form (`1` or `2`).
    pub fn from_number(n: u32) -> Result<Self, EngineError> {
        match n {
            1 => Ok(UpdateFormat::V1),
            2 => Ok(UpdateFormat::V2),
            other => Err(EngineError::invalid_argument(format!(
                "update format must be 1 or 2, got {other}"
            ))),
        }
    }
}
