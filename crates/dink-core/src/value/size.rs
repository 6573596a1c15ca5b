//! Depth, size and field-count checks for materialized rows, mirroring Convex's limits so a
//! row the engine accepts can be written by Convex.

use super::{Fields, Value};
use crate::error::EngineError;
use crate::limits::Limits;

/// Nesting depth of a value: scalars are 0, each array or object level adds one.
pub fn value_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(value_depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// An estimate of the value's size in a Convex document, in bytes (a type tag plus payload,
/// keys counted with their length).
pub fn value_size(value: &Value) -> usize {
    1 + match value {
        Value::Null | Value::Boolean(_) => 0,
        Value::Float64(_) | Value::Int64(_) => 8,
        Value::String(s) => s.len() + 1,
        Value::Bytes(b) => b.len() + 4,
        Value::Array(items) => 4 + items.iter().map(value_size).sum::<usize>(),
        Value::Object(map) => {
            4 + map
                .iter()
                .map(|(k, v)| k.len() + 1 + value_size(v))
                .sum::<usize>()
        }
    }
}

/// Checks a row against the field-count, depth and size limits. The row object itself is
/// one level of nesting, so a field value may nest `max_depth - 1` levels.
pub fn check_fields(fields: &Fields, limits: &Limits) -> Result<(), EngineError> {
    if fields.len() > limits.max_fields {
        return Err(EngineError::too_large(format!(
            "row has {} fields, the limit is {}",
            fields.len(),
            limits.max_fields
        )));
    }
    let mut total = 4usize;
    for (name, value) in fields {
        let depth = value_depth(value) + 1;
        if depth > limits.max_depth {
            return Err(EngineError::too_large(format!(
                "field nests {depth} levels deep, the limit is {}",
                limits.max_depth
            ))
            .with_field(name.clone()));
        }
        total += name.len() + 1 + value_size(value);
    }
    if total > limits.max_row_bytes {
        return Err(EngineError::too_large(format!(
            "materialized row is about {total} bytes, the limit is {}",
            limits.max_row_bytes
        )));
    }
    Ok(())
}
