//! Decoding of the facade's plain arguments (limits array, packed update list, client id).

use dink_core::json::number_text;
use dink_core::{EngineError, Limits, UpdateFormat};

/// `[max_update_bytes, max_state_bytes, max_row_bytes, max_depth, max_fields,
/// max_pending_structs]`, or empty for the defaults.
pub fn limits(values: &[f64]) -> Result<Limits, EngineError> {
    if values.is_empty() {
        return Ok(Limits::default());
    }
    if values.len() != 6 {
        return Err(EngineError::invalid_argument(format!(
            "limits must have 6 entries, got {}",
            values.len()
        )));
    }
    let mut parsed = [0usize; 6];
    for (slot, &v) in parsed.iter_mut().zip(values) {
        if !(v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64) {
            return Err(EngineError::invalid_argument(format!(
                "limit {} is not a non-negative integer",
                number_text(v)
            )));
        }
        *slot = v as usize;
    }
    Ok(Limits {
        max_update_bytes: parsed[0],
        max_state_bytes: parsed[1],
        max_row_bytes: parsed[2],
        max_depth: parsed[3],
        max_fields: parsed[4],
        max_pending_structs: parsed[5],
    })
}

pub fn format(n: u32) -> Result<UpdateFormat, EngineError> {
    UpdateFormat::from_number(n)
}

/// Splits `[len u32 LE][bytes]...` into slices.
pub fn packed_updates(packed: &[u8]) -> Result<Vec<&[u8]>, EngineError> {
    let mut out = Vec::new();
    let mut rest = packed;
    while !rest.is_empty() {
        let (len_bytes, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| EngineError::invalid_argument("packed update list is truncated"))?;
        let len = u32::from_le_bytes(*len_bytes) as usize;
        if len > tail.len() {
            return Err(EngineError::invalid_argument(
                "packed update list is truncated",
            ));
        }
        let (update, tail) = tail.split_at(len);
        out.push(update);
        rest = tail;
    }
    Ok(out)
}

/// A client id from a JavaScript number: an integer in 1..=2^53-1.
pub fn client_id(n: f64) -> Result<u64, EngineError> {
    if n.fract() == 0.0 && (1.0..=9_007_199_254_740_991.0).contains(&n) {
        Ok(n as u64)
    } else {
        Err(EngineError::invalid_argument(format!(
            "client id must be an integer between 1 and 2^53-1, got {}",
            number_text(n)
        )))
    }
}
