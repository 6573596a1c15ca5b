//! JSON, the engine's text format across the wasm boundary (rows in Convex's JSON encoding,
//! validators, outbox items): a tree, a strict reader (RFC 8259, as `JSON.stringify` writes
//! it) and a compact writer.
//!
//! The engine's own and not serde_json's: serde_json and its exact float parser were a tenth of
//! the WebAssembly module, for texts that are small, flat and written by `JSON.stringify`.
//! Tests check the reader against serde_json on random and mutated texts (`tests.rs`).

mod read;
#[cfg(test)]
mod tests;
mod write;

use std::collections::BTreeMap;
use std::fmt;

pub use read::{parse, JsonError, MAX_DEPTH};
pub use write::number_text;
pub(crate) use write::write_string;

/// An object's members, by key (a repeated key keeps its last value, as `JSON.parse` does).
pub type Object = BTreeMap<String, Json>;

/// A JSON value. Numbers are float64, as in JavaScript.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Object),
}

impl Json {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Json>> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Json::Object(map) => Some(map),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::String(s.to_string())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::String(s)
    }
}

impl From<f64> for Json {
    fn from(n: f64) -> Self {
        Json::Number(n)
    }
}

impl From<u32> for Json {
    fn from(n: u32) -> Self {
        Json::Number(f64::from(n))
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}

impl fmt::Display for Json {
    /// The compact text (no spaces), as `JSON.stringify(value)` writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write::write_json(self, &mut out);
        f.write_str(&out)
    }
}
