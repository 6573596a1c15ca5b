//! lib0 `Any` bytes: read as Convex values (as the yrs engine's `any_to_value` reads yrs'
//! decoded `Any`: same numbers, same handling of `undefined`, same refusals), written from
//! them, and rewritten in the engine's form.

use std::collections::BTreeMap;

use super::encode::{var_bytes, var_int, var_uint};
use crate::codec::prescan::any_values_len;
use crate::error::EngineError;
use crate::value::{within, Value};

fn truncated() -> EngineError {
    EngineError::invalid_delta("a stored value is truncated")
}

struct Bytes<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    fn u8(&mut self) -> Result<u8, EngineError> {
        let b = *self.buf.get(self.pos).ok_or_else(truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], EngineError> {
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let s = self.buf.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EngineError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn var_u64(&mut self) -> Result<u64, EngineError> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.u8()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(truncated())
    }

    /// lib0 `readVarInt` as yrs reads it into an `i64`.
    fn var_i64(&mut self) -> Result<i64, EngineError> {
        let first = self.u8()?;
        let negative = first & 0x40 != 0;
        let mut magnitude = u64::from(first & 0x3f);
        let mut shift = 6u32;
        let mut more = first & 0x80 != 0;
        while more {
            let b = self.u8()?;
            magnitude |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            shift += 7;
            more = b & 0x80 != 0;
        }
        let value = magnitude as i64;
        Ok(if negative {
            value.wrapping_neg()
        } else {
            value
        })
    }

    fn string(&mut self) -> Result<&'a str, EngineError> {
        let len = usize::try_from(self.var_u64()?).map_err(|_| truncated())?;
        std::str::from_utf8(self.take(len)?).map_err(|_| truncated())
    }

    fn buf(&mut self) -> Result<&'a [u8], EngineError> {
        let len = usize::try_from(self.var_u64()?).map_err(|_| truncated())?;
        self.take(len)
    }
}

/// Reads the value at the start of `bytes` (skipping `index` values first). `None` is
/// `undefined`, which a row leaves out.
pub(crate) fn read_value(bytes: &[u8], index: u32) -> Result<Option<Value>, EngineError> {
    let mut r = Bytes { buf: bytes, pos: 0 };
    for _ in 0..index {
        read(&mut r)?;
    }
    read(&mut r)
}

/// One value. Depth is bounded by the scan that accepted the bytes (`codec/prescan`).
fn read(r: &mut Bytes<'_>) -> Result<Option<Value>, EngineError> {
    Ok(Some(match r.u8()? {
        127 => return Ok(None),
        126 => Value::Null,
        125 => Value::Float64(r.var_i64()? as f64),
        124 => Value::Float64(f64::from(f32::from_be_bytes(r.array()?))),
        123 => Value::Float64(f64::from_be_bytes(r.array()?)),
        122 => Value::Int64(i64::from_be_bytes(r.array()?)),
        121 => Value::Boolean(false),
        120 => Value::Boolean(true),
        119 => Value::String(r.string()?.to_string()),
        118 => {
            let len = r.var_u64()?;
            // yrs collects the entries into a map first (a repeated key: the last one wins) and
            // converts only the survivors, so each value is located first and read after.
            let mut spans: BTreeMap<&str, &[u8]> = BTreeMap::new();
            for _ in 0..len {
                let key = r.string()?;
                let rest = r.buf.get(r.pos..).ok_or_else(truncated)?;
                let len = any_values_len(rest, 1).ok_or_else(truncated)?;
                spans.insert(key, r.take(len)?);
            }
            let mut map = BTreeMap::new();
            for (key, bytes) in spans {
                if key.starts_with('$') {
                    return Err(EngineError::invalid_delta(format!(
                        "object key {key:?} starts with '$', which Convex reserves"
                    ))
                    .with_field(key.to_string()));
                }
                let value =
                    read(&mut Bytes { buf: bytes, pos: 0 }).map_err(within(key.to_string()))?;
                if let Some(value) = value {
                    map.insert(key.to_string(), value);
                }
            }
            Value::Object(map)
        }
        117 => {
            let len = r.var_u64()?;
            let mut items = Vec::new();
            for i in 0..len {
                let item = read(r).map_err(within(format!("[{i}]")))?;
                items.push(item.unwrap_or(Value::Null));
            }
            Value::Array(items)
        }
        116 => Value::Bytes(r.buf()?.to_vec()),
        _ => {
            return Err(EngineError::invalid_delta(
                "a stored value has an unknown type tag",
            ))
        }
    }))
}

/// `bytes` (whole lib0 `Any` values, as an item's content holds them) written again in the
/// engine's form, exactly as yrs decodes and writes them back: every number in the width
/// [`write_value`] picks (a varint read as an i64, then as a float64; `-0` as `0`), object keys
/// in byte order with a repeated key's last value kept, everything else as it was. Depth is
/// bounded by the scan that accepted the bytes.
pub(crate) fn canonical_values(bytes: &[u8]) -> Result<Vec<u8>, EngineError> {
    let mut r = Bytes { buf: bytes, pos: 0 };
    let mut out = Vec::with_capacity(bytes.len());
    while r.pos < bytes.len() {
        canonical(&mut r, &mut out)?;
    }
    Ok(out)
}

fn canonical(r: &mut Bytes<'_>, out: &mut Vec<u8>) -> Result<(), EngineError> {
    let start = r.pos;
    match r.u8()? {
        tag @ (127 | 126 | 121 | 120) => out.push(tag),
        125 => write_value(&Value::Float64(r.var_i64()? as f64), out),
        124 => write_value(
            &Value::Float64(f64::from(f32::from_be_bytes(r.array()?))),
            out,
        ),
        123 => write_value(&Value::Float64(f64::from_be_bytes(r.array()?)), out),
        // bigint, string, Uint8Array: one way to write each.
        tag @ (122 | 119 | 116) => {
            match tag {
                122 => r.take(8).map(drop)?,
                119 => r.string().map(drop)?,
                _ => r.buf().map(drop)?,
            }
            out.extend_from_slice(&r.buf[start..r.pos]);
        }
        117 => {
            let len = r.var_u64()?;
            out.push(117);
            var_uint(out, len);
            for _ in 0..len {
                canonical(r, out)?;
            }
        }
        118 => {
            let len = r.var_u64()?;
            let mut entries: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
            for _ in 0..len {
                let key = r.string()?;
                let mut value = Vec::new();
                canonical(r, &mut value)?;
                entries.insert(key, value);
            }
            out.push(118);
            var_uint(out, entries.len() as u64);
            for (key, value) in entries {
                var_bytes(out, key.as_bytes());
                out.extend_from_slice(&value);
            }
        }
        _ => {
            return Err(EngineError::invalid_delta(
                "a stored value has an unknown type tag",
            ))
        }
    }
    Ok(())
}

/// The largest integer a float64 holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Writes `value` as lib0 `Any`, exactly as the yrs-backed engine writes it (`value_to_any`,
/// then yrs' `Any::encode` with object keys in byte order, `codec/canonical.rs`): an integral
/// number within 2^53 as a varint, one a float32 holds exactly as float32, else float64.
pub(crate) fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(126),
        Value::Boolean(b) => out.push(if *b { 120 } else { 121 }),
        Value::Float64(f) => {
            let f = *f;
            if f.trunc() == f && f.abs() <= MAX_SAFE_INTEGER {
                out.push(125);
                let n = f as i64;
                var_int(out, n.unsigned_abs(), n < 0);
            } else if f64::from(f as f32) == f {
                out.push(124);
                out.extend_from_slice(&(f as f32).to_be_bytes());
            } else {
                out.push(123);
                out.extend_from_slice(&f.to_be_bytes());
            }
        }
        Value::Int64(i) => {
            out.push(122);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Value::String(s) => {
            out.push(119);
            var_bytes(out, s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(116);
            var_bytes(out, b);
        }
        Value::Array(items) => {
            out.push(117);
            var_uint(out, items.len() as u64);
            for item in items {
                write_value(item, out);
            }
        }
        Value::Object(map) => {
            out.push(118);
            var_uint(out, map.len() as u64);
            for (key, item) in map {
                var_bytes(out, key.as_bytes());
                write_value(item, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::canonical_values;
    use crate::codec::yrs_engine::write_any_sorted;
    use yrs::encoding::read::Cursor;
    use yrs::Any;

    /// What the yrs engine stored for the same bytes: yrs decodes the values, then writes them
    /// with object keys sorted.
    fn through_yrs(bytes: &[u8]) -> Vec<u8> {
        let mut cursor = Cursor::new(bytes);
        let mut out = Vec::new();
        while cursor.has_content() {
            let any = Any::decode(&mut cursor).expect("yrs decodes the value");
            write_any_sorted(&any, &mut out);
        }
        out
    }

    #[test]
    fn values_are_rewritten_as_yrs_rewrites_them() {
        let float64 = |f: f64| [&[123u8][..], &f.to_be_bytes()].concat();
        let float32 = |f: f32| [&[124u8][..], &f.to_be_bytes()].concat();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("integral float64", float64(42.0)),
            ("float64 a float32 holds", float64(0.5)),
            ("float64 past 2^53", float64(2f64.powi(60))),
            ("float64 -0", float64(-0.0)),
            ("float64 NaN", float64(f64::NAN)),
            ("integral float32", float32(7.0)),
            ("float32 fraction", float32(0.25)),
            ("varint -0", vec![125, 0x40]),
            (
                "varint past 2^53",
                vec![125, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
            ),
            ("bigint", [&[122u8][..], &(-5i64).to_be_bytes()].concat()),
            (
                "keys out of order",
                vec![118, 2, 1, b'b', 125, 1, 1, b'a', 125, 2],
            ),
            (
                "repeated key",
                vec![118, 2, 1, b'a', 125, 1, 1, b'a', 125, 2],
            ),
            (
                "nested",
                [
                    &[117u8, 3, 127, 126, 118, 2, 1, b'z'][..],
                    &float64(1.0),
                    &[1, b'y', 119, 2, b'h', b'i'],
                ]
                .concat(),
            ),
            (
                "several values",
                [&float64(3.0)[..], &[120, 116, 2, 9, 9]].concat(),
            ),
        ];
        for (name, bytes) in cases {
            let ours = canonical_values(&bytes).expect(name);
            assert_eq!(ours, through_yrs(&bytes), "{name}");
            // The engine's form is a fixed point.
            assert_eq!(canonical_values(&ours).expect(name), ours, "{name}: again");
        }
    }
}
