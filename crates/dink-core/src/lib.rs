//! dink-core: the sync engine behind dink-convex.
//!
//! Pure Rust with no IO, no clock and no randomness: time, client ids and seeds are arguments,
//! so the same inputs always give the same outputs natively, in wasm, in tests and in the fuzzer.
//!
//! * [`codec`]: one Yjs document per row (root maps `fields` and `_meta`, byte-compatible with
//!   `yjs` and @trestleinc/replicate >= 2.0): ingest, change, diff, merge, materialize, convert.
//! * [`value`]: the Convex value model and its lossless JSON encoding (the wasm boundary format).
//! * [`outbox`]: the pure outbox delivery state machine (lease, retry with backoff, dead letter).
//! * [`schema`]: validation of materialized fields against a Convex validator's JSON form.

pub mod codec;
pub mod error;
pub mod json;
pub mod limits;
pub mod outbox;
pub mod schema;
pub mod value;

pub use codec::{
    change, convert_v1_to_v2, convert_v2_to_v1, diff, ingest, materialize, merge, state_vector,
    ChangeOutcome, IngestOutcome, Materialized, UpdateFormat, SERVER_CLIENT_ID,
};
pub use error::{EngineError, ErrorCode};
pub use limits::Limits;
pub use value::{Fields, Value};
