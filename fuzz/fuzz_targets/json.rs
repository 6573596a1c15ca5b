//! The engine's JSON reader (`dink_core::json`) against serde_json, the reference, on arbitrary
//! text: both accept or both refuse, what both accept is the same value (float64s by bits), the
//! writer's text of it reads back, and the readers built on it (a row's Convex JSON, a
//! validator) never panic.

#![no_main]

use dink_core::json::{parse, Json};
use libfuzzer_sys::fuzz_target;

/// serde_json's value as the engine's tree.
fn convert(value: serde_json::Value) -> Json {
    match value {
        serde_json::Value::Null => Json::Null,
        serde_json::Value::Bool(b) => Json::Bool(b),
        serde_json::Value::Number(n) => Json::Number(n.as_f64().expect("a float64")),
        serde_json::Value::String(s) => Json::String(s),
        serde_json::Value::Array(items) => Json::Array(items.into_iter().map(convert).collect()),
        serde_json::Value::Object(map) => {
            let mut out = dink_core::json::Object::new();
            for (k, v) in map {
                out.insert(k, convert(v));
            }
            Json::Object(out)
        }
    }
}

/// Same value, float64s compared by bits.
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.to_bits() == y.to_bits(),
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, a), (kb, b))| ka == kb && same(a, b))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let ours = parse(text);
    let reference = serde_json::from_str::<serde_json::Value>(text).map(convert);
    match (&ours, &reference) {
        (Ok(a), Ok(b)) => assert!(same(a, b), "{text:?}: {a:?} vs serde_json {b:?}"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("{text:?}: ours {a:?}, serde_json {b:?}"),
    }
    if let Ok(value) = ours {
        let written = value.to_string();
        parse(&written).unwrap_or_else(|e| panic!("{written:?} does not read back: {e}"));
    }
    let _ = dink_core::value::fields_from_convex_json(text);
    let _ = dink_core::schema::Validator::from_json_str(text);
});
