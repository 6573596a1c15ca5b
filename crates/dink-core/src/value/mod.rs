//! The Convex value model as the engine sees it, and its conversions.
//!
//! Values cross the wasm boundary in Convex's own JSON encoding (`convexToJson` /
//! `jsonToConvex` in `convex/values`), which is lossless for every type a synced field can
//! hold: int64 travels as `{"$integer": base64}`, bytes as `{"$bytes": base64}` and the special
//! floats (NaN, ±Infinity, -0) as `{"$float": base64}`.

mod base64;
mod convex_json;
mod size;
mod stored;

pub use self::base64::{decode as base64_decode, encode as base64_encode};
pub use convex_json::{
    fields_from_convex_json, fields_to_convex_json, value_from_convex_json, value_to_convex_json,
};
pub use size::{check_fields, value_depth, value_size};
pub use stored::stored_form;

use std::collections::BTreeMap;

use crate::error::EngineError;

/// Prefixes an error's field path with the step taken into a child (`key` or `[i]`). Paths
/// are built only when an error bubbles up, so converting values allocates nothing for them.
pub(crate) fn within(step: String) -> impl FnOnce(EngineError) -> EngineError {
    move |mut err| {
        err.field = Some(match err.field.take() {
            None => step,
            Some(rest) if rest.starts_with('[') => format!("{step}{rest}"),
            Some(rest) => format!("{step}.{rest}"),
        });
        err
    }
}

/// A row's user fields (everything in the CRDT's `fields` map), ordered by name.
pub type Fields = BTreeMap<String, Value>;

/// One Convex value.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Boolean(bool),
    Float64(f64),
    Int64(i64),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

impl PartialEq for Value {
    /// Convex semantics: floats are equal when their bits are equal, so `-0 != 0` and
    /// `NaN == NaN`. A change from 0 to -0 is a real change that must be synced.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Boolean(a), Value::Boolean(b)) => a == b,
            (Value::Float64(a), Value::Float64(b)) => a.to_bits() == b.to_bits(),
            (Value::Int64(a), Value::Int64(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// The Convex type name, used in validation messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "boolean",
            Value::Float64(_) => "number",
            Value::Int64(_) => "bigint",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}
