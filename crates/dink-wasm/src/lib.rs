//! wasm-bindgen facade over dink-core.
//!
//! Coarse calls only: each takes bytes, strings and numbers and returns one result frame
//! (`frame.rs`, documented in docs/wasm-boundary.md). No Rust object is ever handed to
//! JavaScript, because Convex has no `FinalizationRegistry` to free it.

mod args;
mod frame;

use dink_core::value::{fields_from_convex_json, fields_to_convex_json};
use dink_core::{EngineError, Fields};
use frame::{respond, Frame};
use wasm_bindgen::prelude::*;

fn optional(bytes: &[u8], present: bool) -> Option<&[u8]> {
    present.then_some(bytes)
}

fn optional_fields(json: &str) -> Result<Option<Fields>, EngineError> {
    if json.is_empty() {
        Ok(None)
    } else {
        fields_from_convex_json(json).map(Some)
    }
}

/// Merges an edge update into a row's stored state. See `dink_core::ingest`.
///
/// `doc_id` (optional, last so older callers keep working): the document id the row is stored
/// under; `fields.id` must equal it. Omitted (`undefined`), the id must still be a string on a
/// live row and may not change once stored.
#[wasm_bindgen]
pub fn ingest(
    state: &[u8],
    has_state: bool,
    update: &[u8],
    format: u32,
    limits: &[f64],
    doc_id: Option<String>,
) -> Vec<u8> {
    let result = args::limits(limits).and_then(|limits| {
        dink_core::ingest(
            optional(state, has_state),
            update,
            args::format(format)?,
            doc_id.as_deref(),
            &limits,
        )
    });
    respond(result, |out| {
        let fields = fields_to_convex_json(&out.fields);
        Frame::ok(out.state.len() + out.delta.len() + fields.len() + 64)
            .section(frame::STATE, &out.state)
            .section(frame::STATE_VECTOR, &out.state_vector)
            .section(frame::DELTA, &out.delta)
            .section(frame::FIELDS, fields.as_bytes())
            .flags(out.deleted, out.changed, false)
    })
}

/// Turns a Convex-side write into a delta. `new_fields_json` empty means delete. `doc_id`
/// (optional, last) as for [`ingest`].
#[allow(clippy::too_many_arguments)] // The JS-facing signature: plain values only.
#[wasm_bindgen]
pub fn change(
    state: &[u8],
    has_state: bool,
    old_fields_json: &str,
    new_fields_json: &str,
    client_id: f64,
    now_ms: f64,
    limits: &[f64],
    doc_id: Option<String>,
) -> Vec<u8> {
    let result = (|| {
        let limits = args::limits(limits)?;
        let old = optional_fields(old_fields_json)?;
        let new = optional_fields(new_fields_json)?;
        dink_core::change(
            optional(state, has_state),
            old.as_ref(),
            new.as_ref(),
            doc_id.as_deref(),
            args::client_id(client_id)?,
            now_ms,
            &limits,
        )
    })();
    respond(result, |out| {
        let keys = serde_json_array(&out.changed_keys);
        let mut frame = Frame::ok(out.state.len() + 128)
            .section(frame::STATE, &out.state)
            .section(frame::STATE_VECTOR, &out.state_vector)
            .section(frame::KEYS, keys.as_bytes())
            .flags(out.deleted, out.delta.is_some(), out.drifted);
        if let Some(delta) = &out.delta {
            frame = frame.section(frame::DELTA, delta);
        }
        frame
    })
}

fn serde_json_array(items: &[String]) -> String {
    // Field names are plain strings; reuse the Convex JSON writer for correct escaping.
    let values = items
        .iter()
        .map(|s| dink_core::Value::String(s.clone()))
        .collect();
    let mut out = String::new();
    dink_core::value::value_to_convex_json(&dink_core::Value::Array(values), &mut out);
    out
}

/// A v2 update with everything in `state` a peer with `state_vector` lacks.
#[wasm_bindgen]
pub fn diff(state: &[u8], state_vector: &[u8]) -> Vec<u8> {
    respond(dink_core::diff(state, state_vector), |bytes| {
        Frame::ok(bytes.len() + 8).section(frame::BYTES, &bytes)
    })
}

/// Merges updates packed as `[len u32 LE][bytes]...` into one v2 update.
#[wasm_bindgen]
pub fn merge(packed_updates: &[u8], format: u32) -> Vec<u8> {
    let result = args::packed_updates(packed_updates)
        .and_then(|updates| dink_core::merge(&updates, args::format(format)?));
    respond(result, |bytes| {
        Frame::ok(bytes.len() + 8).section(frame::BYTES, &bytes)
    })
}

/// The row's fields and tombstone flag from stored state (v2).
#[wasm_bindgen]
pub fn materialize(state: &[u8], limits: &[f64]) -> Vec<u8> {
    let result = args::limits(limits).and_then(|limits| dink_core::materialize(state, &limits));
    respond(result, |row| {
        let fields = fields_to_convex_json(&row.fields);
        Frame::ok(fields.len() + 16)
            .section(frame::FIELDS, fields.as_bytes())
            .flags(row.deleted, false, false)
    })
}

/// The state vector (standard encoding) of an update.
#[wasm_bindgen]
pub fn state_vector(update: &[u8], format: u32) -> Vec<u8> {
    let result = args::format(format).and_then(|f| dink_core::state_vector(update, f));
    respond(result, |sv| {
        Frame::ok(sv.len() + 8).section(frame::STATE_VECTOR, &sv)
    })
}

/// Re-encodes an update in the other format (`from_format` 1 gives v2, 2 gives v1).
#[wasm_bindgen]
pub fn convert(update: &[u8], from_format: u32) -> Vec<u8> {
    let result = args::format(from_format).and_then(|f| match f {
        dink_core::UpdateFormat::V1 => dink_core::convert_v1_to_v2(update),
        dink_core::UpdateFormat::V2 => dink_core::convert_v2_to_v1(update),
    });
    respond(result, |bytes| {
        Frame::ok(bytes.len() + 8).section(frame::BYTES, &bytes)
    })
}

/// Validates Convex-JSON fields against a Convex validator's JSON form.
#[wasm_bindgen]
pub fn validate(fields_json: &str, validator_json: &str) -> Vec<u8> {
    respond(
        dink_core::schema::validate_json(fields_json, validator_json),
        |()| Frame::ok(0),
    )
}

/// One step of the outbox state machine, JSON in and out.
#[wasm_bindgen]
pub fn outbox_transition(item_json: &str, event_json: &str, policy_json: &str) -> Vec<u8> {
    respond(
        dink_core::outbox::transition_json(item_json, event_json, policy_json),
        |json| Frame::ok(json.len() + 8).section(frame::JSON, json.as_bytes()),
    )
}

/// The client id Convex-side writes use.
#[wasm_bindgen]
pub fn server_client_id() -> f64 {
    dink_core::SERVER_CLIENT_ID as f64
}

/// The engine's version (the crate version).
#[wasm_bindgen]
pub fn engine_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
