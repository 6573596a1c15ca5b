//! Convex's JSON encoding of values (`convexToJson` / `jsonToConvex`), the format values take
//! across the wasm boundary.
//!
//! * float64: a JSON number, or `{"$float": base64(8 bytes LE)}` for NaN, ±Infinity and -0;
//! * int64: `{"$integer": base64(8 bytes LE)}`;
//! * bytes: `{"$bytes": base64}`;
//! * other keys starting with `$` are reserved and rejected.

use std::collections::BTreeMap;

use crate::json::{parse, write_string, Json};

use super::base64;
use super::{within, Fields, Value};
use crate::error::EngineError;

fn bad(message: impl Into<String>) -> EngineError {
    EngineError::invalid_argument(message)
}

fn eight_bytes(text: &Json, what: &str) -> Result<[u8; 8], EngineError> {
    let decoded = text
        .as_str()
        .and_then(base64::decode)
        .ok_or_else(|| bad(format!("{what} must be a base64 string")))?;
    decoded
        .try_into()
        .map_err(|_| bad(format!("{what} must encode exactly 8 bytes")))
}

/// Parses one value from its Convex JSON form, taking ownership so strings and keys move
/// instead of being copied (this runs on every Convex-side write). An error's `field` is the
/// path inside the value.
pub fn value_from_convex_json(json: Json) -> Result<Value, EngineError> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(b),
        Json::Number(n) => Value::Float64(n),
        Json::String(s) => Value::String(s),
        Json::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| value_from_convex_json(item).map_err(within(format!("[{i}]"))))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => {
            if map.len() == 1 {
                if let Some((key, inner)) = map.iter().next() {
                    match key.as_str() {
                        "$integer" => {
                            return Ok(Value::Int64(i64::from_le_bytes(eight_bytes(
                                inner, "$integer",
                            )?)))
                        }
                        "$float" => {
                            return Ok(Value::Float64(f64::from_le_bytes(eight_bytes(
                                inner, "$float",
                            )?)))
                        }
                        "$bytes" => {
                            let bytes = inner
                                .as_str()
                                .and_then(base64::decode)
                                .ok_or_else(|| bad("$bytes must be a base64 string"))?;
                            return Ok(Value::Bytes(bytes));
                        }
                        _ => {}
                    }
                }
            }
            let mut out = BTreeMap::new();
            for (key, inner) in map {
                if key.starts_with('$') {
                    return Err(bad(format!(
                        "object key {key:?} starts with '$', which Convex reserves"
                    ))
                    .with_field(key));
                }
                let value = value_from_convex_json(inner).map_err(within(key.clone()))?;
                out.insert(key, value);
            }
            Value::Object(out)
        }
    })
}

/// Parses a row's fields from the text of a Convex JSON object.
pub fn fields_from_convex_json(text: &str) -> Result<Fields, EngineError> {
    let json = parse(text)
        .map_err(|e| EngineError::invalid_argument(format!("fields are not valid JSON: {e}")))?;
    match value_from_convex_json(json)? {
        Value::Object(map) => Ok(map),
        other => Err(EngineError::invalid_argument(format!(
            "fields must be an object, got {}",
            other.type_name()
        ))),
    }
}

fn write_tagged(out: &mut String, tag: &str, bytes: &[u8]) {
    out.push_str("{\"");
    out.push_str(tag);
    out.push_str("\":\"");
    out.push_str(&base64::encode(bytes));
    out.push_str("\"}");
}

/// Appends the Convex JSON form of `value` to `out`.
pub fn value_to_convex_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(true) => out.push_str("true"),
        Value::Boolean(false) => out.push_str("false"),
        Value::Float64(f) => {
            if f.is_finite() && !(*f == 0.0 && f.is_sign_negative()) {
                // ryu prints the shortest text that parses back to the same f64, valid JSON
                // for finite values (`1.0`, `1e21`, `1.5e-7`); core's float formatting would
                // add two more algorithms and their tables to the module.
                out.push_str(ryu::Buffer::new().format_finite(*f));
            } else {
                write_tagged(out, "$float", &f.to_le_bytes());
            }
        }
        Value::Int64(i) => write_tagged(out, "$integer", &i.to_le_bytes()),
        Value::String(s) => write_string(out, s),
        Value::Bytes(b) => write_tagged(out, "$bytes", b),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value_to_convex_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(map, out),
    }
}

fn write_object(map: &BTreeMap<String, Value>, out: &mut String) {
    out.push('{');
    for (i, (key, item)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        value_to_convex_json(item, out);
    }
    out.push('}');
}

/// Serializes a row's fields as the text of a Convex JSON object.
pub fn fields_to_convex_json(fields: &Fields) -> String {
    let mut out = String::with_capacity(64 * fields.len().max(1));
    write_object(fields, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: Value) {
        let mut text = String::new();
        value_to_convex_json(&value, &mut text);
        let json = parse(&text).expect("engine writes valid JSON");
        let back = value_from_convex_json(json).expect("engine reads its own JSON");
        assert_eq!(back, value, "round trip through {text}");
    }

    #[test]
    fn every_value_type_round_trips() {
        for f in [
            0.0,
            -0.0,
            1.5,
            -7.0,
            1e21,
            1.5e-7,
            f64::MAX,
            f64::MIN_POSITIVE,
            0.1,
        ] {
            round_trip(Value::Float64(f));
        }
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            round_trip(Value::Float64(f));
        }
        for i in [0i64, 1, -1, i64::MAX, i64::MIN] {
            round_trip(Value::Int64(i));
        }
        round_trip(Value::String(
            "quote \" slash \\ nl \n ctl \u{1} é 😀".into(),
        ));
        round_trip(Value::Bytes(vec![0, 255, 7]));
        round_trip(Value::Array(vec![Value::Null, Value::Boolean(true)]));
        let mut obj = BTreeMap::new();
        obj.insert("a".to_string(), Value::Int64(5));
        obj.insert("b".to_string(), Value::Array(vec![]));
        round_trip(Value::Object(obj));
    }

    #[test]
    fn matches_convex_encoding_of_special_values() {
        let mut text = String::new();
        value_to_convex_json(&Value::Int64(1), &mut text);
        assert_eq!(text, r#"{"$integer":"AQAAAAAAAAA="}"#);
        let json = parse(r#"{"$float":"AAAAAAAAAIA="}"#).unwrap();
        match value_from_convex_json(json).unwrap() {
            Value::Float64(f) => assert!(f == 0.0 && f.is_sign_negative()),
            other => panic!("expected -0, got {other:?}"),
        }
    }

    #[test]
    fn rejects_reserved_keys_and_bad_payloads() {
        let err = fields_from_convex_json(r#"{"a":{"$weird":1,"b":2}}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("a.$weird"));
        assert!(fields_from_convex_json(r#"{"a":{"$integer":"AQ=="}}"#).is_err());
        assert!(fields_from_convex_json("[1]").is_err());
        assert!(fields_from_convex_json("{").is_err());
    }
}
