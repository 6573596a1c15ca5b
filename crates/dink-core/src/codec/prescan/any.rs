//! lib0 `Any` values (and v1 JSON text), skimmed with an explicit stack.

use super::reader::Reader;
use super::{Fail, Scan};

/// The largest integer a float64 holds exactly (yrs writes integral numbers up to it as
/// varints).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The bytes yrs' `Any::encode` spends on a number that is not a varint: 4 (float32) or 8
/// (float64); 0 for a number it writes as a varint (integral and safe, `-0` included).
fn float_width(value: f64) -> u8 {
    if value.trunc() == value && value.abs() <= MAX_SAFE_INTEGER as f64 {
        0
    } else if f64::from(value as f32) == value {
        4
    } else {
        8
    }
}

/// One open array or object in a value being skimmed.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Elements (or entries) still to read.
    remaining: u64,
    is_object: bool,
    /// Where the object's previous key lies in the reader's buffer.
    last_key: Option<(usize, usize)>,
}

/// Skims lib0 `Any` values (and, for v1, JSON text) with an explicit stack.
#[derive(Debug)]
pub(super) struct ValueScanner {
    pub(super) max_depth: usize,
    stack: Vec<Frame>,
    pub(super) deepest: usize,
    pub(super) values: u64,
    /// Values yrs would write back differently (see [`ValueScanner::skip_any`]).
    pub(super) noncanonical: u64,
}

impl ValueScanner {
    pub(super) fn new(max_depth: usize) -> Self {
        ValueScanner {
            max_depth,
            stack: Vec::new(),
            deepest: 0,
            values: 0,
            noncanonical: 0,
        }
    }

    fn open(&mut self, depth: usize) -> Scan<()> {
        if depth > self.max_depth {
            return Err(Fail::TooDeep);
        }
        self.deepest = self.deepest.max(depth);
        Ok(())
    }

    /// Skips one lib0 `Any` value (yrs `Any::decode`).
    ///
    /// Also counts, in `noncanonical`, values whose bytes differ from what yrs' `Any::encode`
    /// writes for the decoded value (with object keys in byte order, as the engine writes
    /// them): a number in another width than yrs picks (yjs writes integers past 31 bits as
    /// float64, yrs as a varint; a varint `-0` reads as `0`), or an object whose keys are out
    /// of order or repeated. The row CRDT keeps values as bytes, and rewrites only these.
    pub(super) fn skip_any(&mut self, r: &mut Reader<'_>) -> Scan<()> {
        self.values += 1;
        self.stack.clear();
        let mut canonical = true;
        loop {
            match r.u8()? {
                // undefined, null, false, true
                127 | 126 | 121 | 120 => {}
                // integer (yrs reads it as an i64 varint)
                125 => {
                    let (magnitude, negative) = r.var_signed()?;
                    canonical &= magnitude <= MAX_SAFE_INTEGER && !(negative && magnitude == 0);
                }
                // float32
                124 => {
                    let bytes = r.take(4)?;
                    let value = f32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                    canonical &= float_width(f64::from(value)) == 4;
                }
                // float64
                123 => {
                    let bytes = r.take(8)?;
                    let mut raw = [0u8; 8];
                    raw.copy_from_slice(bytes);
                    canonical &= float_width(f64::from_be_bytes(raw)) == 8;
                }
                // bigint
                122 => {
                    r.take(8)?;
                }
                // string
                119 => {
                    r.var_str()?;
                }
                // Uint8Array
                116 => {
                    r.var_buf()?;
                }
                tag @ (117 | 118) => {
                    let is_object = tag == 118;
                    let len = r.var_u64()?;
                    // An element takes at least one byte (its tag), an entry at least two (key
                    // length and value tag). This also keeps yrs's `try_reserve(len)` bounded.
                    let min_bytes = if is_object { 2 } else { 1 };
                    if len > (r.remaining() / min_bytes) as u64 {
                        return Err(Fail::Malformed(
                            "value declares more elements than the update holds",
                        ));
                    }
                    self.open(self.stack.len() + 1)?;
                    self.stack.push(Frame {
                        remaining: len,
                        is_object,
                        last_key: None,
                    });
                }
                _ => return Err(Fail::Malformed("unknown value type tag")),
            }
            // Find the next value to read: close finished containers, read the next key.
            loop {
                let Some(top) = self.stack.last_mut() else {
                    if !canonical {
                        self.noncanonical += 1;
                    }
                    return Ok(());
                };
                if top.remaining == 0 {
                    self.stack.pop();
                    continue;
                }
                top.remaining -= 1;
                if top.is_object {
                    r.var_str()?;
                    let key = (r.mark() - r.last_len(), r.mark());
                    if let Some(previous) = top.last_key {
                        canonical &= r.slice(previous) < r.slice(key);
                    }
                    top.last_key = Some(key);
                }
                break;
            }
        }
    }

    /// Measures the bracket nesting of a v1 JSON payload (yrs parses it with serde_json). It
    /// does not validate the JSON; serde_json does that afterwards.
    pub(super) fn json_text(&mut self, text: &str) -> Scan<()> {
        self.values += 1;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        for byte in text.bytes() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_string = false;
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    self.open(depth)?;
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::error::ErrorCode;
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use yrs::types::Attrs;
    use yrs::{Any, Map, Text, Transact};

    #[test]
    fn prescan_reports_the_nesting_depth_in_both_encodings() {
        for depth in [0usize, 1, 2, 7, 16] {
            let doc = new_doc(5);
            let fields = doc.get_or_insert_map("fields");
            let text = doc.get_or_insert_text("text");
            let mut txn = doc.transact_mut();
            fields.insert(&mut txn, "v", nested(depth, Any::Null));
            text.insert(&mut txn, 0, "abc");
            text.insert_embed(&mut txn, 1, nested(depth, Any::Bool(true)));
            let mut format = Attrs::new();
            format.insert("f".into(), nested(depth, Any::Number(1.0)));
            text.format(&mut txn, 0, 1, format);
            let v1 = txn.encode_update_v1();
            let v2 = txn.encode_update_v2();
            drop(txn);
            for (format, bytes) in [(UpdateFormat::V1, &v1), (UpdateFormat::V2, &v2)] {
                let summary = check_update_shape(bytes, format, depth).expect("at the limit");
                assert_eq!(summary.max_any_depth, depth, "{format:?}");
                if depth > 0 {
                    let err =
                        check_update_shape(bytes, format, depth - 1).expect_err("over the limit");
                    assert_eq!(err.code, ErrorCode::TooLarge, "{format:?}");
                    assert!(
                        err.message.contains(&format!("{}", depth - 1)),
                        "{}",
                        err.message
                    );
                }
            }
        }
    }

    #[test]
    fn prescan_measures_v1_json_embeds_and_formats() {
        // In v1, embeds and format values travel as JSON text; brackets inside strings do not
        // count.
        let doc = new_doc(9);
        let text = doc.get_or_insert_text("text");
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, "abc");
        let tricky = Any::Map(Arc::new(HashMap::from([(
            "[[[\"{".to_string(),
            nested(2, Any::String("]]]\\\"[[[{{{".into())),
        )])));
        text.insert_embed(&mut txn, 1, tricky);
        let v1 = txn.encode_update_v1();
        drop(txn);
        let summary = check_update_shape(&v1, UpdateFormat::V1, DEPTH).expect("valid");
        assert_eq!(summary.max_any_depth, 3);
        assert_eq!(
            code(&check_update_shape(&v1, UpdateFormat::V1, 2)),
            Some(ErrorCode::TooLarge)
        );
    }

    fn bomb_v1(levels: usize) -> Vec<u8> {
        let mut bytes = vec![1, 1, 5, 0, 0x28, 1, 6];
        bytes.extend_from_slice(b"fields");
        bytes.extend_from_slice(&[1, b'v', 1]);
        for _ in 0..levels {
            bytes.extend_from_slice(&[117, 1]);
        }
        bytes.push(126);
        bytes.push(0);
        bytes
    }

    /// Replaces the first occurrence of `needle` in `haystack`.
    fn splice(haystack: &[u8], needle: &[u8], replacement: &[u8]) -> Vec<u8> {
        let at = haystack
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("needle present");
        let mut out = haystack[..at].to_vec();
        out.extend_from_slice(replacement);
        out.extend_from_slice(&haystack[at + needle.len()..]);
        out
    }

    /// An update whose map value `[["MARK"]]` is rewritten to `levels` nested arrays.
    fn bomb_by_splicing(v2: bool, levels: usize) -> Vec<u8> {
        let doc = new_doc(5);
        let fields = doc.get_or_insert_map("fields");
        let mut txn = doc.transact_mut();
        fields.insert(&mut txn, "v", nested(2, Any::String("MARK".into())));
        let bytes = if v2 {
            txn.encode_update_v2()
        } else {
            txn.encode_update_v1()
        };
        let mut deep = Vec::new();
        for _ in 0..levels {
            deep.extend_from_slice(&[117, 1]);
        }
        deep.push(126);
        splice(
            &bytes,
            &[117, 1, 117, 1, 119, 4, b'M', b'A', b'R', b'K'],
            &deep,
        )
    }

    #[test]
    fn prescan_refuses_nesting_bombs_quickly_in_both_encodings() {
        // Shallow versions of the same bytes are valid updates yrs decodes.
        for (format, shallow) in [
            (UpdateFormat::V1, bomb_v1(3)),
            (UpdateFormat::V1, bomb_by_splicing(false, 3)),
            (UpdateFormat::V2, bomb_by_splicing(true, 3)),
        ] {
            decode_yrs(&shallow, format).expect("shallow update decodes");
            let summary = check_update_shape(&shallow, format, DEPTH).expect("shallow passes");
            assert_eq!(summary.max_any_depth, 3);
        }
        for (format, bomb) in [
            (UpdateFormat::V1, bomb_v1(300_000)),
            (UpdateFormat::V1, bomb_by_splicing(false, 300_000)),
            (UpdateFormat::V2, bomb_by_splicing(true, 300_000)),
        ] {
            let started = Instant::now();
            let err = check_update_shape(&bomb, format, DEPTH).expect_err("bomb");
            assert_eq!(err.code, ErrorCode::TooLarge, "{format:?}: {err}");
            assert!(err.message.contains("64"), "{}", err.message);
            assert!(started.elapsed() < Duration::from_secs(1));
            // Even an unlimited depth does not recurse: the scan just walks the levels.
            let summary = check_update_shape(&bomb, format, usize::MAX).expect("no depth limit");
            assert_eq!(summary.max_any_depth, 300_000);
        }
    }

    #[test]
    fn prescan_refuses_deep_v1_json_text() {
        // A v1 embed whose JSON text nests 100k levels.
        let doc = new_doc(9);
        let text = doc.get_or_insert_text("text");
        let mut txn = doc.transact_mut();
        text.insert_embed(&mut txn, 0, Any::String("MARK".into()));
        let v1 = txn.encode_update_v1();
        drop(txn);
        let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let mut replacement = Vec::new();
        let mut n = json.len() as u64;
        while n >= 0x80 {
            replacement.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        replacement.push(n as u8);
        replacement.extend_from_slice(json.as_bytes());
        let bomb = splice(&v1, &[6, b'"', b'M', b'A', b'R', b'K', b'"'], &replacement);
        assert_eq!(
            code(&check_update_shape(&bomb, UpdateFormat::V1, DEPTH)),
            Some(ErrorCode::TooLarge)
        );
    }
}
