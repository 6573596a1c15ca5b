//! The engine on yrs: every operation loads a yrs `Doc` (or decodes a yrs `Update`).
//!
//! The engine the row CRDT (`codec/row_crdt`) replaced, kept as its differential oracle: the
//! property tests (`row_crdt/differential.rs`) and the fuzzer run both on the same inputs and
//! compare every output. It is compiled only for tests and with the `yrs-oracle` feature
//! (`yrs-engine` also makes it the engine behind the crate's API, the switch back), so the
//! shipped WebAssembly module holds no yrs.

mod any;
mod canonical;
mod change;
mod doc;
mod encoder_v2;
mod ingest;
mod layout;
mod ops;

pub use any::{any_to_value, value_to_any};
#[cfg(test)]
pub(crate) use canonical::{delegate_encoder, write_any_sorted};
pub use change::change;
pub use doc::materialize;
pub use ingest::ingest;
pub use ops::{convert_v1_to_v2, convert_v2_to_v1, diff, merge, state_vector};
