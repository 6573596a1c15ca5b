//! Conversion between Convex values and yrs `Any`, the payload of a plain Yjs map entry.
//!
//! Mapping (matches what `yjs`/lib0 writes and reads):
//! float64 <-> `Any::Number`, int64 <-> `Any::BigInt`, bytes <-> `Any::Buffer` (Uint8Array),
//! arrays and objects <-> `Any::Array` / `Any::Map`. A number written by a `yjs` edge is always
//! a float64, whether lib0 encoded it as a varint, float32 or float64.
//!
//! Known limit: yrs encodes an integral `f64` as a varint, which has no negative zero, so a
//! float64 `-0` is stored (and read back) as `0`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use yrs::Any;

use crate::error::EngineError;
use crate::value::{within, Value};

pub fn value_to_any(value: &Value) -> Any {
    match value {
        Value::Null => Any::Null,
        Value::Boolean(b) => Any::Bool(*b),
        Value::Float64(f) => Any::Number(*f),
        Value::Int64(i) => Any::BigInt(*i),
        Value::String(s) => Any::String(Arc::from(s.as_str())),
        Value::Bytes(b) => Any::Buffer(Arc::from(b.as_slice())),
        Value::Array(items) => Any::Array(items.iter().map(value_to_any).collect()),
        Value::Object(map) => {
            let mut out = HashMap::with_capacity(map.len());
            for (k, v) in map {
                out.insert(k.clone(), value_to_any(v));
            }
            Any::Map(Arc::new(out))
        }
    }
}

/// Converts a CRDT value to a Convex value. An error's `field` is the path inside the value.
///
/// `undefined` has no Convex counterpart: inside an object the key is dropped (Convex's
/// optional field), inside an array it becomes `null` (what `JSON.stringify` does), and as a
/// whole field it is reported as `None` so the caller omits the field.
pub fn any_to_value(any: &Any) -> Result<Option<Value>, EngineError> {
    Ok(Some(match any {
        Any::Undefined => return Ok(None),
        Any::Null => Value::Null,
        Any::Bool(b) => Value::Boolean(*b),
        Any::Number(f) => Value::Float64(*f),
        Any::BigInt(i) => Value::Int64(*i),
        Any::String(s) => Value::String(s.to_string()),
        Any::Buffer(b) => Value::Bytes(b.to_vec()),
        Any::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let child = any_to_value(item).map_err(within(format!("[{i}]")))?;
                out.push(child.unwrap_or(Value::Null));
            }
            Value::Array(out)
        }
        Any::Map(map) => {
            let mut out = BTreeMap::new();
            for (k, v) in map.iter() {
                if k.starts_with('$') {
                    return Err(EngineError::invalid_delta(format!(
                        "object key {k:?} starts with '$', which Convex reserves"
                    ))
                    .with_field(k.clone()));
                }
                if let Some(child) = any_to_value(v).map_err(within(k.clone()))? {
                    out.insert(k.clone(), child);
                }
            }
            Value::Object(out)
        }
    }))
}
