//! Reading lib0 `Any` bytes as Convex values, as `value::any_to_value` reads yrs' decoded
//! `Any` (same numbers, same handling of `undefined`, same refusals).

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
