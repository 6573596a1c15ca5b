//! Loading a row document into a yrs `Doc` and reading its fields back out.

use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::{Any, Doc, GetString, Map, Options, Out, ReadTxn, Transact, Update};

use super::any::any_to_value;
use crate::codec::layout::DELETED_KEY;
use crate::codec::prescan::{check_update_shape_bounded, ShapeSummary};
use crate::codec::row_doc::check_size;
use crate::codec::row_doc::{
    check_field_name, check_framing, field_error, version, Materialized, FIELDS_ROOT, META_ROOT,
    SCAN_MAX_ANY_DEPTH, SCAN_MAX_STRUCTS,
};
use crate::codec::UpdateFormat;
use crate::error::{EngineError, ErrorCode};
use crate::limits::Limits;
use crate::value::{check_fields, within, Fields, Value};

/// A fresh document for one row. The guid is fixed because it never reaches the bytes and a
/// random one would make the engine depend on a random source.
pub(crate) fn new_doc(client_id: u64) -> Doc {
    Doc::with_options(Options::with_guid_and_client_id(
        "dink-row".into(),
        yrs::ClientID::new(client_id),
    ))
}

/// Skims untrusted bytes before yrs decodes them: yrs' decoder recurses on nested values and
/// panics on some malformed inputs (see prescan/); the iterative skim refuses those first.
pub(crate) fn prescan(bytes: &[u8], format: UpdateFormat) -> Result<ShapeSummary, EngineError> {
    check_update_shape_bounded(bytes, format, SCAN_MAX_ANY_DEPTH, SCAN_MAX_STRUCTS)
}

/// Decodes update bytes of the given format, mapping decoder failures to INVALID_DELTA.
/// Checks the framing (nothing unread, see `check_framing`); the summary carries the first
/// item the row layout refuses, for the callers that enforce it.
pub(crate) fn decode_update_scanned(
    bytes: &[u8],
    format: UpdateFormat,
) -> Result<(Update, ShapeSummary), EngineError> {
    if bytes.is_empty() {
        return Err(EngineError::invalid_delta("update is empty"));
    }
    // yrs' decoder recurses on nested values and panics on some malformed inputs (see
    // prescan/); an iterative skim of the whole update refuses those before yrs sees them.
    let summary = prescan(bytes, format)?;
    check_framing(bytes, format, &summary)?;
    let decoded = match format {
        UpdateFormat::V1 => Update::decode_v1(bytes),
        UpdateFormat::V2 => Update::decode_v2(bytes),
    };
    let update = decoded.map_err(|e| {
        EngineError::invalid_delta(format!(
            "bytes are not a Yjs update v{}: {e}",
            version(format)
        ))
    })?;
    Ok((update, summary))
}

/// [`decode_update_scanned`] without the summary.
pub(crate) fn decode_update(bytes: &[u8], format: UpdateFormat) -> Result<Update, EngineError> {
    decode_update_scanned(bytes, format).map(|(update, _)| update)
}

/// Decodes an update that will become part of a row: framing and every item's own layout
/// (see `layout::item_issue`) are checked.
pub(crate) fn decode_row_update(bytes: &[u8], format: UpdateFormat) -> Result<Update, EngineError> {
    let (update, summary) = decode_update_scanned(bytes, format)?;
    match summary.layout_issue {
        Some(issue) => Err(EngineError::invalid_delta(issue)),
        None => Ok(update),
    }
}

/// Loads stored state (always v2) into a new document with the given client id.
pub(crate) fn load_state(
    state: Option<&[u8]>,
    client_id: u64,
    limits: &Limits,
) -> Result<Doc, EngineError> {
    let doc = new_doc(client_id);
    if let Some(bytes) = state {
        check_size("stored state is", bytes.len(), limits.max_state_bytes)?;
        let update = decode_update(bytes, UpdateFormat::V2).map_err(|e| {
            EngineError::invalid_argument(format!("stored state is corrupt: {}", e.message))
        })?;
        let mut txn = doc.transact_mut();
        txn.apply_update(update).map_err(|e| {
            EngineError::invalid_argument(format!("stored state cannot be applied: {e}"))
        })?;
        if txn.has_missing_updates() {
            return Err(EngineError::invalid_argument(
                "stored state has unintegrated structs",
            ));
        }
    }
    Ok(doc)
}

/// Converts one entry of the `fields` map. Plain values are the layout; nested shared types
/// (written by other Yjs apps, e.g. rich text) are read as their JSON view.
fn out_to_value<T: ReadTxn>(txn: &T, out: Out, key: &str) -> Result<Option<Value>, EngineError> {
    match out {
        Out::Any(any) => any_to_value(&any).map_err(within(key.to_string())),
        Out::YText(text) => Ok(Some(Value::String(text.get_string(txn)))),
        Out::YXmlText(text) => Ok(Some(Value::String(text.get_string(txn)))),
        Out::YXmlFragment(xml) => Ok(Some(Value::String(xml.get_string(txn)))),
        Out::YXmlElement(xml) => Ok(Some(Value::String(xml.get_string(txn)))),
        Out::YMap(map) => any_to_value(&map.to_json(txn)).map_err(within(key.to_string())),
        Out::YArray(array) => any_to_value(&array.to_json(txn)).map_err(within(key.to_string())),
        Out::UndefinedRef(_) => Ok(None),
        // Subdocuments (and anything newer) have no Convex counterpart. Naming the type via
        // Debug would pull yrs' whole Display machinery into the wasm module.
        _ => Err(field_error(
            ErrorCode::InvalidDelta,
            "field holds an unsupported shared type (a subdocument)".to_string(),
            key,
        )),
    }
}

/// Reads the row out of a loaded document, enforcing the layout and the limits.
pub(crate) fn read_row<T: ReadTxn>(txn: &T, limits: &Limits) -> Result<Materialized, EngineError> {
    for (name, _) in txn.root_refs() {
        if name != FIELDS_ROOT && name != META_ROOT {
            return Err(EngineError::invalid_delta(
                crate::codec::layout::foreign_root(name),
            ));
        }
    }
    let mut fields = Fields::new();
    if let Some(map) = txn.get_map(FIELDS_ROOT) {
        if map.len(txn) as usize > limits.max_fields {
            return Err(EngineError::too_large(format!(
                "row has {} fields, the limit is {}",
                map.len(txn),
                limits.max_fields
            )));
        }
        for (key, out) in map.iter(txn) {
            check_field_name(key)?;
            if let Some(value) = out_to_value(txn, out, key)? {
                fields.insert(key.to_string(), value);
            }
        }
    }
    let deleted = match txn.get_map(META_ROOT) {
        Some(meta) => matches!(meta.get(txn, DELETED_KEY), Some(Out::Any(Any::Bool(true)))),
        None => false,
    };
    check_fields(&fields, limits)?;
    Ok(Materialized { fields, deleted })
}

/// Encodes the document as the state to store (v2), refusing one over the state limit.
pub(crate) fn stored_state<T: ReadTxn>(txn: &T, limits: &Limits) -> Result<Vec<u8>, EngineError> {
    let state = super::encoder_v2::state_v2(txn);
    check_size("state would grow to", state.len(), limits.max_state_bytes)?;
    Ok(state)
}

/// [`crate::codec::row_crdt::materialize`] on yrs (the row CRDT's oracle, and the `yrs-engine` switch).
pub fn materialize(state: &[u8], limits: &Limits) -> Result<Materialized, EngineError> {
    check_size("state is", state.len(), limits.max_state_bytes)?;
    let doc = new_doc(0);
    {
        let update = decode_update(state, UpdateFormat::V2)?;
        let mut txn = doc.transact_mut();
        txn.apply_update(update)
            .map_err(|e| EngineError::invalid_delta(format!("state cannot be applied: {e}")))?;
    }
    let txn = doc.transact();
    read_row(&txn, limits)
}
