//! What every engine shares about a row document: its roots, the framing check on update
//! bytes, field names, and the row as read back out.

use super::layout::{EMPTY_UPDATE_V1_BYTES, EMPTY_UPDATE_V2_BYTES};
use super::prescan::ShapeSummary;
use super::UpdateFormat;
use crate::error::{EngineError, ErrorCode};
use crate::value::Fields;

/// Root map holding the user fields.
pub const FIELDS_ROOT: &str = "fields";
/// Root map holding the tombstone.
pub const META_ROOT: &str = "_meta";

/// Deepest value nesting the pre-scan lets through to yrs: deep enough for every row Convex
/// accepts (16 levels), shallow enough that yrs' recursive decoder cannot exhaust the stack.
pub(crate) const SCAN_MAX_ANY_DEPTH: usize = 64;
/// Most structs one update or state may declare. yrs reserves memory for the declared count
/// before decoding; a 1 MiB state of heavily interleaved edits holds about 200k structs.
pub(crate) const SCAN_MAX_STRUCTS: u64 = 1 << 18;

/// A row as the CRDT sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Materialized {
    pub fields: Fields,
    pub deleted: bool,
}

pub(crate) fn version(format: UpdateFormat) -> u8 {
    match format {
        UpdateFormat::V1 => 1,
        UpdateFormat::V2 => 2,
    }
}

/// Refuses bytes the update's own decoder would silently ignore: bytes after the delete set,
/// bytes of v2 columns no struct reads, and an update that decodes as empty while being longer
/// than the canonical empty update of its format (typically an update of the other format:
/// yrs reads a v2 update as an empty v1 one). Either would let an edge be told "no-op" for a
/// change it made.
pub(crate) fn check_framing(
    bytes: &[u8],
    format: UpdateFormat,
    summary: &ShapeSummary,
) -> Result<(), EngineError> {
    if summary.trailing_bytes > 0 {
        return Err(EngineError::invalid_delta(format!(
            "{} bytes follow the end of the update (read as a Yjs update v{})",
            summary.trailing_bytes,
            version(format)
        )));
    }
    if summary.unread_column_bytes > 0 {
        return Err(EngineError::invalid_delta(format!(
            "{} bytes of the update's v2 struct columns are unread by its structs",
            summary.unread_column_bytes
        )));
    }
    let empty = match format {
        UpdateFormat::V1 => EMPTY_UPDATE_V1_BYTES,
        UpdateFormat::V2 => EMPTY_UPDATE_V2_BYTES,
    };
    if summary.structs == 0 && summary.delete_ranges == 0 && bytes.len() > empty {
        return Err(EngineError::invalid_delta(format!(
            "the update decodes as empty in format {} but carries {} bytes (an empty update \
             is at most {empty}); is it labelled with the wrong format?",
            version(format),
            bytes.len()
        )));
    }
    Ok(())
}

pub(crate) fn field_error(code: ErrorCode, message: String, field: &str) -> EngineError {
    EngineError::new(code, message).with_field(field.to_string())
}

/// TOO_LARGE when `len` bytes exceed `limit`: `"{what} {len} bytes, the limit is {limit}"`
/// (`what`: "update is", "stored state is", "state would grow to", ...).
pub(crate) fn check_size(what: &str, len: usize, limit: usize) -> Result<(), EngineError> {
    if len > limit {
        return Err(EngineError::too_large(format!(
            "{what} {len} bytes, the limit is {limit}"
        )));
    }
    Ok(())
}

pub(crate) fn check_field_name(key: &str) -> Result<(), EngineError> {
    if key.is_empty() || key.starts_with('$') || key.starts_with('_') {
        return Err(field_error(
            ErrorCode::InvalidDelta,
            format!(
                "field name {key:?} is not allowed in a Convex table (empty, '$' or '_' prefix)"
            ),
            key,
        ));
    }
    Ok(())
}
