//! The form a value takes once stored in the CRDT.

use super::Value;

/// The value the CRDT will actually hold for `value`: a float64 `-0` is written as the
/// integer varint `0` (as yrs writes it; lib0's varint has no negative zero), which reads back
/// as `0`. `change` compares and writes this form, so
/// writing `-0` twice is not a change each time.
pub fn stored_form(value: &Value) -> Value {
    match value {
        Value::Float64(f) if *f == 0.0 => Value::Float64(0.0),
        Value::Array(items) => Value::Array(items.iter().map(stored_form).collect()),
        Value::Object(map) => {
            // Inserted one by one: collecting into a map would add a stable sort to the module.
            let mut out = std::collections::BTreeMap::new();
            for (k, v) in map {
                out.insert(k.clone(), stored_form(v));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}
