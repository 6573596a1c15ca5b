//! Writing JSON text.

use std::fmt::Write as _;

use super::Json;

/// A number for messages and JSON: an integral value below 1e21 in full without a fraction
/// (`3`, `9007199254740992`, as JavaScript prints it), others as the shortest text that reads
/// back to the same float64 (`0.1`, `1e21`, `1.5e-7`, through ryu), and `NaN`, `Infinity`,
/// `-Infinity`; `-0` in messages. (core's float formatting would add two more algorithms and their tables to
/// the module.)
pub fn number_text(n: f64) -> String {
    if n == 0.0 && n.is_sign_negative() {
        // A message tells `-0` from `0` (Convex does); JSON text writes it as `0`.
        return "-0".to_string();
    }
    let mut out = String::new();
    write_number(n, &mut out);
    out
}

fn write_number(n: f64, out: &mut String) {
    if n.is_nan() {
        out.push_str("NaN");
    } else if n.is_infinite() {
        out.push_str(if n > 0.0 { "Infinity" } else { "-Infinity" });
    } else if n.trunc() == n && n.abs() < 1e21 {
        // Exact: an integral float64 below 1e21 (< 2^70) fits a u128.
        if n < 0.0 {
            out.push('-');
        }
        let _ = write!(out, "{}", n.abs() as u128);
    } else {
        out.push_str(ryu::Buffer::new().format_finite(n));
    }
}

/// A string literal, escaped as `JSON.stringify` escapes it.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// The compact text of `json`. A number that is not finite is written as `null`, as
/// `JSON.stringify` writes it.
pub(super) fn write_json(json: &Json, out: &mut String) {
    match json {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) if !n.is_finite() => out.push_str("null"),
        Json::Number(n) => write_number(*n, out),
        Json::String(s) => write_string(out, s),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            out.push('{');
            for (i, (key, value)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_json(value, out);
            }
            out.push('}');
        }
    }
}
