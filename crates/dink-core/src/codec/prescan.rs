//! Shape check of untrusted Yjs updates, run before yrs decodes them.
//!
//! yrs decodes `Any` values recursively (`Any::decode` calls itself for every array and object
//! level), so a few hundred kilobytes of `[117, 1, 117, 1, ...]` overflow the stack and abort the
//! process. This module skims the update format once, iteratively, and refuses nesting deeper
//! than a limit before yrs sees the bytes. It also refuses the inputs on which yrs 0.27.4 would
//! panic, misbehave or reserve memory out of proportion to the input: lengths that run past the
//! end, integer overflows of clocks and run counters, invalid UTF-8 (yrs reads strings with
//! `from_utf8_unchecked`) and string lengths that split a character.
//!
//! The walk mirrors yrs's decoder (`updates/decoder.rs`, `update.rs`, `block.rs`, `any.rs`,
//! `id_set.rs`) rather than yjs where the two differ, because the point is to see exactly the
//! bytes yrs will turn into values. Every input this accepts is parsed by yrs the same way; it
//! accepts every update yjs or yrs encode (yrs still does the real decode afterwards). Where yrs
//! would accept something no encoder produces (an 11-byte varint, a struct info byte with the
//! unused bit 4 set, an `i32` run counter that wraps), this refuses it.
//!
//! Nothing here recurses or allocates in proportion to a length read from the input: the only
//! allocation is the stack of open `Any` containers, bounded by the depth limit and by the input
//! (each level costs at least two bytes).

use super::UpdateFormat;
use crate::error::EngineError;

/// Most structs one scan walks before refusing the update. In v2 a
/// run-length encoded column can describe billions of structs in a few bytes, and yrs reserves
/// memory for the declared count before decoding, so the count needs a ceiling independent of
/// the input size; this one keeps the scan in the tens of milliseconds. Callers with a tighter
/// budget pass it to [`check_update_shape_bounded`] or check [`ShapeSummary::structs`].
#[cfg(test)]
pub(crate) const MAX_SCANNED_STRUCTS: u64 = 1 << 22;

/// What a successful scan saw.
#[allow(dead_code)] // Diagnostics: each caller reads the counts it limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ShapeSummary {
    /// Client sections in the struct part.
    pub clients: u64,
    /// Structs walked: items, GC ranges and skips (v2 can declare many per byte).
    pub structs: u64,
    /// Items among the structs.
    pub items: u64,
    /// Top-level values checked for depth: `ContentAny` elements, embed and format values,
    /// sub-document options.
    pub any_values: u64,
    /// Ranges in the delete set.
    pub delete_ranges: u64,
    /// Items with binary content (`ContentBinary`, how yjs stores a top-level `Uint8Array`).
    pub binary_items: u64,
    /// Deepest nesting of arrays and objects seen in any value (scalars 0, each level +1).
    pub max_any_depth: usize,
    /// Bytes after the delete set. yrs ignores them; yjs and yrs never write any.
    pub trailing_bytes: usize,
}

/// Checks that `bytes` is a well-formed Yjs update of `format` whose values nest at most
/// `max_any_depth` levels, without recursion. Errors: TOO_LARGE when a value nests deeper (or
/// the update declares more than [`MAX_SCANNED_STRUCTS`] structs), INVALID_DELTA when the bytes
/// are truncated or malformed. (The engine itself calls [`check_update_shape_bounded`].)
#[cfg(test)]
pub(crate) fn check_update_shape(
    bytes: &[u8],
    format: UpdateFormat,
    max_any_depth: usize,
) -> Result<ShapeSummary, EngineError> {
    check_update_shape_bounded(bytes, format, max_any_depth, MAX_SCANNED_STRUCTS)
}

/// Checks the update's shape (see `check_update_shape`) with an explicit ceiling on structs.
pub(crate) fn check_update_shape_bounded(
    bytes: &[u8],
    format: UpdateFormat,
    max_any_depth: usize,
    max_structs: u64,
) -> Result<ShapeSummary, EngineError> {
    let mut values = ValueScanner::new(max_any_depth);
    let mut summary = ShapeSummary::default();
    let result = match format {
        UpdateFormat::V1 => scan(
            &mut V1Source {
                rest: Reader::new(bytes),
            },
            &mut values,
            max_structs,
            &mut summary,
        ),
        UpdateFormat::V2 => V2Source::new(bytes)
            .and_then(|mut source| scan(&mut source, &mut values, max_structs, &mut summary)),
    };
    summary.max_any_depth = values.deepest;
    summary.any_values = values.values;
    match result {
        Ok(()) => Ok(summary),
        Err(fail) => Err(fail.into_error(format, max_any_depth, max_structs)),
    }
}

/// Why a scan stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    /// A read ran past the end of its buffer.
    Truncated,
    Malformed(&'static str),
    TooDeep,
    TooManyStructs,
}

impl Fail {
    fn into_error(self, format: UpdateFormat, max_depth: usize, max_structs: u64) -> EngineError {
        let version = match format {
            UpdateFormat::V1 => 1,
            UpdateFormat::V2 => 2,
        };
        match self {
            Fail::Truncated => EngineError::invalid_delta(format!(
                "bytes are not a Yjs update v{version}: unexpected end of input"
            )),
            Fail::Malformed(what) => {
                EngineError::invalid_delta(format!("bytes are not a Yjs update v{version}: {what}"))
            }
            Fail::TooDeep => EngineError::too_large(format!(
                "update nests a value deeper than the depth limit of {max_depth} levels"
            )),
            Fail::TooManyStructs => EngineError::too_large(format!(
                "update declares more structs than the limit of {max_structs}"
            )),
        }
    }
}

type Scan<T> = Result<T, Fail>;

/// A bounds-checked cursor. Every length it is asked for is compared with what is left before
/// anything is sliced.
#[derive(Debug, Clone)]
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn has_content(&self) -> bool {
        self.remaining() > 0
    }

    fn u8(&mut self) -> Scan<u8> {
        let byte = *self.buf.get(self.pos).ok_or(Fail::Truncated)?;
        self.pos += 1;
        Ok(byte)
    }

    fn take(&mut self, len: u64) -> Scan<&'a [u8]> {
        let len = usize::try_from(len).map_err(|_| Fail::Truncated)?;
        if len > self.remaining() {
            return Err(Fail::Truncated);
        }
        let end = self.pos + len;
        let slice = self.buf.get(self.pos..end).ok_or(Fail::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    /// lib0 `readVarUint`. At most 10 bytes and a value that fits in 64 bits, so yrs's
    /// wrapping shifts (it accepts 11 bytes) can never make it see a different number.
    fn var_u64(&mut self) -> Scan<u64> {
        let mut value = 0u64;
        for i in 0..10u32 {
            let byte = self.u8()?;
            let payload = u64::from(byte & 0x7f);
            if i == 9 && payload > 1 {
                return Err(Fail::Malformed("variable-length integer exceeds 64 bits"));
            }
            value |= payload << (7 * i);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(Fail::Malformed(
            "variable-length integer is longer than 10 bytes",
        ))
    }

    /// A varuint yrs reads as `u32` (it would silently wrap larger values).
    fn var_u32(&mut self) -> Scan<u32> {
        u32::try_from(self.var_u64()?)
            .map_err(|_| Fail::Malformed("variable-length integer exceeds 32 bits"))
    }

    /// lib0 `readVarInt` (sign and magnitude; `-0` is distinct from `0`). Returns the
    /// magnitude, at most `i64::MAX` (yrs negates it as an `i64` and shifts it at most 62 bits),
    /// and the sign.
    fn var_signed(&mut self) -> Scan<(u64, bool)> {
        let first = self.u8()?;
        let negative = first & 0x40 != 0;
        let mut magnitude = u64::from(first & 0x3f);
        if first & 0x80 == 0 {
            return Ok((magnitude, negative));
        }
        for i in 0..9u32 {
            let byte = self.u8()?;
            let shift = 6 + 7 * i;
            let payload = u64::from(byte & 0x7f);
            if shift == 62 && payload > 1 {
                return Err(Fail::Malformed(
                    "signed variable-length integer exceeds 63 bits",
                ));
            }
            magnitude |= payload << shift;
            if byte < 0x80 {
                return Ok((magnitude, negative));
            }
        }
        Err(Fail::Malformed(
            "signed variable-length integer is longer than 10 bytes",
        ))
    }

    /// lib0 `readVarUint8Array` as yrs reads it (`u32` length).
    fn var_buf(&mut self) -> Scan<&'a [u8]> {
        let len = self.var_u32()?;
        self.take(u64::from(len))
    }

    /// lib0 `readVarString`; yrs does not check UTF-8, so this does.
    fn var_str(&mut self) -> Scan<&'a str> {
        std::str::from_utf8(self.var_buf()?).map_err(|_| Fail::Malformed("string is not UTF-8"))
    }
}

/// One open array or object in a value being skimmed.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Elements (or entries) still to read.
    remaining: u64,
    is_object: bool,
}

/// Skims lib0 `Any` values (and, for v1, JSON text) with an explicit stack.
#[derive(Debug)]
struct ValueScanner {
    max_depth: usize,
    stack: Vec<Frame>,
    deepest: usize,
    values: u64,
}

impl ValueScanner {
    fn new(max_depth: usize) -> Self {
        ValueScanner {
            max_depth,
            stack: Vec::new(),
            deepest: 0,
            values: 0,
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
    fn skip_any(&mut self, r: &mut Reader<'_>) -> Scan<()> {
        self.values += 1;
        self.stack.clear();
        loop {
            match r.u8()? {
                // undefined, null, false, true
                127 | 126 | 121 | 120 => {}
                // integer (yrs reads it as an i64 varint)
                125 => {
                    r.var_signed()?;
                }
                // float32
                124 => {
                    r.take(4)?;
                }
                // float64, bigint
                123 | 122 => {
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
                    });
                }
                _ => return Err(Fail::Malformed("unknown value type tag")),
            }
            // Find the next value to read: close finished containers, read the next key.
            loop {
                let Some(top) = self.stack.last_mut() else {
                    return Ok(());
                };
                if top.remaining == 0 {
                    self.stack.pop();
                    continue;
                }
                top.remaining -= 1;
                if top.is_object {
                    r.var_str()?;
                }
                break;
            }
        }
    }

    /// Measures the bracket nesting of a v1 JSON payload (yrs parses it with serde_json). It
    /// does not validate the JSON; serde_json does that afterwards.
    fn json_text(&mut self, text: &str) -> Scan<()> {
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

/// The reads of a yrs `Decoder` the struct walk needs, for one encoding version.
trait Source<'a> {
    /// Whether every struct and every string costs at least one byte of `rest` (v1), which
    /// bounds declared counts by the input size.
    const COUNTS_COST_BYTES: bool;

    /// The plain lib0 stream: counts, clocks, skip lengths, values, buffers, the delete set.
    fn rest(&mut self) -> &mut Reader<'a>;
    fn client(&mut self) -> Scan<u64>;
    fn info(&mut self) -> Scan<u8>;
    fn left_id(&mut self) -> Scan<()>;
    fn right_id(&mut self) -> Scan<()>;
    fn parent_info(&mut self) -> Scan<bool>;
    fn string(&mut self) -> Scan<&'a str>;
    fn type_ref(&mut self) -> Scan<u8>;
    fn len(&mut self) -> Scan<u32>;
    fn json(&mut self, values: &mut ValueScanner) -> Scan<()>;
    fn key(&mut self) -> Scan<()>;
    fn reset_ds(&mut self);
    fn ds_clock(&mut self) -> Scan<u32>;
    fn ds_len(&mut self) -> Scan<u32>;
}

/// yrs `DecoderV1`: everything comes from one lib0 stream.
struct V1Source<'a> {
    rest: Reader<'a>,
}

impl<'a> Source<'a> for V1Source<'a> {
    const COUNTS_COST_BYTES: bool = true;

    fn rest(&mut self) -> &mut Reader<'a> {
        &mut self.rest
    }

    fn client(&mut self) -> Scan<u64> {
        client_id(self.rest.var_u64()?)
    }

    fn info(&mut self) -> Scan<u8> {
        self.rest.u8()
    }

    fn left_id(&mut self) -> Scan<()> {
        client_id(self.rest.var_u64()?)?;
        self.rest.var_u32()?;
        Ok(())
    }

    fn right_id(&mut self) -> Scan<()> {
        self.left_id()
    }

    fn parent_info(&mut self) -> Scan<bool> {
        Ok(self.rest.var_u32()? == 1)
    }

    fn string(&mut self) -> Scan<&'a str> {
        self.rest.var_str()
    }

    /// yrs reads the v1 type ref as one raw byte (yjs writes a varuint; equal below 128).
    fn type_ref(&mut self) -> Scan<u8> {
        self.rest.u8()
    }

    fn len(&mut self) -> Scan<u32> {
        self.rest.var_u32()
    }

    /// v1 embeds and format values are JSON text.
    fn json(&mut self, values: &mut ValueScanner) -> Scan<()> {
        let text = self.rest.var_str()?;
        values.json_text(text)
    }

    fn key(&mut self) -> Scan<()> {
        self.rest.var_str().map(|_| ())
    }

    fn reset_ds(&mut self) {}

    fn ds_clock(&mut self) -> Scan<u32> {
        self.rest.var_u32()
    }

    fn ds_len(&mut self) -> Scan<u32> {
        self.rest.var_u32()
    }
}

/// lib0 `RleDecoder` of bytes (yrs `RleDecoder`).
struct Rle<'a> {
    r: Reader<'a>,
    last: u8,
    /// Values left in the current run; `None` repeats `last` forever (a value with no count
    /// after it ends the column).
    count: Option<u64>,
}

impl<'a> Rle<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Rle {
            r: Reader::new(buf),
            last: 0,
            count: Some(0),
        }
    }

    fn read(&mut self) -> Scan<u8> {
        if self.count == Some(0) {
            self.last = self.r.u8()?;
            self.count = if self.r.has_content() {
                // yrs computes `count as i32 + 1`: refuse counts where that overflows or wraps.
                let count = self.r.var_u32()?;
                if count >= i32::MAX as u32 {
                    return Err(Fail::Malformed("run length overflows"));
                }
                Some(u64::from(count) + 1)
            } else {
                None
            };
        }
        if let Some(count) = &mut self.count {
            *count -= 1;
        }
        Ok(self.last)
    }
}

/// yrs adds 2 to a `u32` run count: refuse counts where that overflows.
fn run_count(r: &mut Reader<'_>) -> Scan<u64> {
    let count = r.var_u32()?;
    count
        .checked_add(2)
        .map(u64::from)
        .ok_or(Fail::Malformed("run length overflows"))
}

/// lib0 `UintOptRleDecoder` (yrs `UIntOptRleDecoder`).
struct UintOptRle<'a> {
    r: Reader<'a>,
    last: u64,
    count: u64,
}

impl<'a> UintOptRle<'a> {
    fn new(r: Reader<'a>) -> Self {
        UintOptRle {
            r,
            last: 0,
            count: 0,
        }
    }

    fn read(&mut self) -> Scan<u64> {
        if self.count == 0 {
            let (magnitude, negative) = self.r.var_signed()?;
            self.last = magnitude;
            self.count = if negative { run_count(&mut self.r)? } else { 1 };
        }
        self.count -= 1;
        Ok(self.last)
    }
}

/// lib0 `IntDiffOptRleDecoder` (yrs `IntDiffOptRleDecoder`, `u32` values).
struct IntDiffOptRle<'a> {
    r: Reader<'a>,
    last: u32,
    count: u64,
    diff: i32,
}

impl<'a> IntDiffOptRle<'a> {
    fn new(buf: &'a [u8]) -> Self {
        IntDiffOptRle {
            r: Reader::new(buf),
            last: 0,
            count: 0,
            diff: 0,
        }
    }

    fn read(&mut self) -> Scan<u32> {
        if self.count == 0 {
            let (magnitude, negative) = self.r.var_signed()?;
            // yrs reads an i32 (`-0` becomes 0).
            let magnitude = i64::try_from(magnitude)
                .map_err(|_| Fail::Malformed("clock difference exceeds 32 bits"))?;
            let value = if negative { -magnitude } else { magnitude };
            let value = i32::try_from(value)
                .map_err(|_| Fail::Malformed("clock difference exceeds 32 bits"))?;
            self.diff = value >> 1;
            self.count = if value & 1 != 0 {
                run_count(&mut self.r)?
            } else {
                1
            };
        }
        // yrs adds as i32 (and panics on overflow in debug builds).
        let next = (self.last as i32)
            .checked_add(self.diff)
            .ok_or(Fail::Malformed("clock overflows"))?;
        self.last = next as u32;
        self.count -= 1;
        Ok(self.last)
    }
}

/// lib0 `StringDecoder`: one varString holding every string, then a `UintOptRle` of their
/// lengths in UTF-16 code units (JavaScript string lengths).
struct StringColumn<'a> {
    text: &'a str,
    pos: usize,
    lens: UintOptRle<'a>,
}

impl<'a> StringColumn<'a> {
    fn new(buf: &'a [u8]) -> Scan<Self> {
        let mut r = Reader::new(buf);
        let len = r.var_u64()?;
        let text = std::str::from_utf8(r.take(len)?)
            .map_err(|_| Fail::Malformed("string column is not UTF-8"))?;
        Ok(StringColumn {
            text,
            pos: 0,
            lens: UintOptRle::new(r),
        })
    }

    fn read(&mut self) -> Scan<&'a str> {
        let mut units = self.lens.read()?;
        let rest = self.text.get(self.pos..).ok_or(Fail::Truncated)?;
        let mut bytes = 0usize;
        for c in rest.chars() {
            if units == 0 {
                break;
            }
            let width = c.len_utf16() as u64;
            if width > units {
                // yrs would underflow here (a debug panic, or swallowing the column).
                return Err(Fail::Malformed("string length splits a character"));
            }
            units -= width;
            bytes += c.len_utf8();
        }
        if units > 0 {
            return Err(Fail::Malformed("string column is shorter than its lengths"));
        }
        let s = rest.get(..bytes).ok_or(Fail::Truncated)?;
        self.pos += bytes;
        Ok(s)
    }
}

/// yrs `DecoderV2`: struct fields come from nine column buffers, everything else from `rest`.
struct V2Source<'a> {
    rest: Reader<'a>,
    key_clock: IntDiffOptRle<'a>,
    client: UintOptRle<'a>,
    left_clock: IntDiffOptRle<'a>,
    right_clock: IntDiffOptRle<'a>,
    info: Rle<'a>,
    strings: StringColumn<'a>,
    parent_info: Rle<'a>,
    type_ref: UintOptRle<'a>,
    len: UintOptRle<'a>,
    /// Keys cached so far (yjs and yrs keep the strings; only the count matters here).
    keys: u64,
    ds_current: u32,
}

impl<'a> V2Source<'a> {
    fn new(bytes: &'a [u8]) -> Scan<Self> {
        let mut r = Reader::new(bytes);
        // Feature flag: yrs skips one byte when there is one (yjs reads a varuint, always 0).
        if r.has_content() {
            r.u8()?;
        }
        let mut column = || -> Scan<&'a [u8]> {
            let len = r.var_u64()?;
            r.take(len)
        };
        let key_clock = IntDiffOptRle::new(column()?);
        let client = UintOptRle::new(Reader::new(column()?));
        let left_clock = IntDiffOptRle::new(column()?);
        let right_clock = IntDiffOptRle::new(column()?);
        let info = Rle::new(column()?);
        let strings = StringColumn::new(column()?)?;
        let parent_info = Rle::new(column()?);
        let type_ref = UintOptRle::new(Reader::new(column()?));
        let len = UintOptRle::new(Reader::new(column()?));
        Ok(V2Source {
            rest: r,
            key_clock,
            client,
            left_clock,
            right_clock,
            info,
            strings,
            parent_info,
            type_ref,
            len,
            keys: 0,
            ds_current: 0,
        })
    }
}

impl<'a> Source<'a> for V2Source<'a> {
    const COUNTS_COST_BYTES: bool = false;

    fn rest(&mut self) -> &mut Reader<'a> {
        &mut self.rest
    }

    fn client(&mut self) -> Scan<u64> {
        client_id(self.client.read()?)
    }

    fn info(&mut self) -> Scan<u8> {
        self.info.read()
    }

    fn left_id(&mut self) -> Scan<()> {
        client_id(self.client.read()?)?;
        self.left_clock.read()?;
        Ok(())
    }

    fn right_id(&mut self) -> Scan<()> {
        client_id(self.client.read()?)?;
        self.right_clock.read()?;
        Ok(())
    }

    fn parent_info(&mut self) -> Scan<bool> {
        Ok(self.parent_info.read()? == 1)
    }

    fn string(&mut self) -> Scan<&'a str> {
        self.strings.read()
    }

    /// yrs truncates the column value to `u8`; refuse anything that would truncate.
    fn type_ref(&mut self) -> Scan<u8> {
        u8::try_from(self.type_ref.read()?).map_err(|_| Fail::Malformed("unknown shared type"))
    }

    /// yrs truncates the column value to `u32`; refuse anything that would truncate.
    fn len(&mut self) -> Scan<u32> {
        u32::try_from(self.len.read()?).map_err(|_| Fail::Malformed("length exceeds 32 bits"))
    }

    /// v2 embeds and format values are lib0 `Any` values in `rest`.
    fn json(&mut self, values: &mut ValueScanner) -> Scan<()> {
        values.skip_any(&mut self.rest)
    }

    fn key(&mut self) -> Scan<()> {
        let clock = self.key_clock.read()?;
        if u64::from(clock) >= self.keys {
            self.strings.read()?;
            self.keys += 1;
        }
        Ok(())
    }

    fn reset_ds(&mut self) {
        self.ds_current = 0;
    }

    fn ds_clock(&mut self) -> Scan<u32> {
        let diff = self.rest.var_u32()?;
        self.ds_current = self
            .ds_current
            .checked_add(diff)
            .ok_or(Fail::Malformed("delete set clock overflows"))?;
        Ok(self.ds_current)
    }

    fn ds_len(&mut self) -> Scan<u32> {
        let len = self
            .rest
            .var_u32()?
            .checked_add(1)
            .ok_or(Fail::Malformed("delete set length overflows"))?;
        self.ds_current = self
            .ds_current
            .checked_add(len)
            .ok_or(Fail::Malformed("delete set clock overflows"))?;
        Ok(len)
    }
}

fn charge(summary: &ShapeSummary, extra: u64, max_structs: u64) -> Scan<()> {
    let total = summary
        .structs
        .checked_add(extra)
        .ok_or(Fail::TooManyStructs)?;
    if total > max_structs {
        return Err(Fail::TooManyStructs);
    }
    Ok(())
}

/// Decodes an untrusted state vector (standard encoding, as yjs `encodeStateVector` writes it).
///
/// yrs reserves room for the declared entry count before reading any entry, so five bytes could
/// make it reserve gigabytes (wasm memory never shrinks back); here the count must fit in the
/// bytes that follow (an entry takes at least two), client ids in 53 bits, clocks in 32, and
/// nothing may trail.
pub(crate) fn decode_state_vector(bytes: &[u8]) -> Result<yrs::StateVector, EngineError> {
    let malformed =
        |what: &str| EngineError::invalid_argument(format!("state vector is malformed: {what}"));
    let explain = |fail: Fail| match fail {
        Fail::Truncated => malformed("unexpected end of input"),
        Fail::Malformed(what) => malformed(what),
        Fail::TooDeep | Fail::TooManyStructs => malformed("unexpected shape"),
    };
    let mut reader = Reader::new(bytes);
    let count = reader.var_u32().map_err(explain)?;
    if count as usize > reader.remaining() / 2 {
        return Err(malformed(&format!(
            "it declares {count} entries in {} bytes",
            bytes.len()
        )));
    }
    let mut sv = yrs::StateVector::default();
    for _ in 0..count {
        let client = reader.var_u64().and_then(client_id).map_err(explain)?;
        let clock = reader.var_u32().map_err(explain)?;
        sv.set_max(yrs::ClientID::new(client), clock);
    }
    if reader.has_content() {
        return Err(malformed(&format!(
            "{} bytes follow its last entry",
            reader.remaining()
        )));
    }
    Ok(sv)
}

/// yrs `Update::decode`: the struct store, then the delete set.
fn scan<'a, S: Source<'a>>(
    source: &mut S,
    values: &mut ValueScanner,
    max_structs: u64,
    summary: &mut ShapeSummary,
) -> Scan<()> {
    let clients = source.rest().var_u32()?;
    // A client section takes at least two bytes of `rest` (struct count and first clock).
    if clients as usize > source.rest().remaining() / 2 {
        return Err(Fail::Malformed(
            "update declares more clients than it holds",
        ));
    }
    summary.clients = u64::from(clients);
    // yrs keys client sections by id, so a repeated id would splice two runs of clocks into
    // one list (overlapping or out of order), which its block store cannot integrate.
    let mut seen_clients = std::collections::BTreeSet::new();
    for _ in 0..clients {
        let structs = source.rest().var_u32()?;
        if !seen_clients.insert(source.client()?) {
            return Err(Fail::Malformed("update repeats a client section"));
        }
        // No encoder writes an empty client section (yjs and yrs skip clients with nothing to
        // send), and yrs panics trimming an update that holds one for a client the document
        // knows (`Update::exclude` takes the first struct).
        if structs == 0 {
            return Err(Fail::Malformed("client section holds no structs"));
        }
        let mut clock = source.rest().var_u32()?;
        if S::COUNTS_COST_BYTES && structs as usize > source.rest().remaining() {
            return Err(Fail::Malformed(
                "update declares more structs than it holds",
            ));
        }
        // yrs reserves room for the declared count before reading any struct.
        charge(summary, u64::from(structs), max_structs)?;
        summary.structs += u64::from(structs);
        for _ in 0..structs {
            let len = match source.info()? {
                // GC
                0 => source.len()?,
                // Skip
                10 => source.rest().var_u32()?,
                info => {
                    summary.items += 1;
                    if info & 0x0f == BINARY_CONTENT {
                        summary.binary_items += 1;
                    }
                    item(source, info, values)?
                }
            };
            // No encoder writes an empty struct, and yrs integrates one at a clock it never
            // advances past, leaving a state it cannot decode again.
            if len == 0 {
                return Err(Fail::Malformed("struct has zero length"));
            }
            // yrs adds struct lengths to a u32 clock.
            clock = clock
                .checked_add(len)
                .ok_or(Fail::Malformed("struct clock overflows"))?;
        }
    }

    // Delete set (yrs `IdSet::decode`).
    let clients = source.rest().var_u32()?;
    if clients as usize > source.rest().remaining() / 2 {
        return Err(Fail::Malformed(
            "delete set declares more clients than it holds",
        ));
    }
    for _ in 0..clients {
        source.reset_ds();
        client_id(source.rest().var_u64()?)?;
        let ranges = source.rest().var_u32()?;
        if ranges as usize > source.rest().remaining() / 2 {
            return Err(Fail::Malformed(
                "delete set declares more ranges than it holds",
            ));
        }
        for _ in 0..ranges {
            let clock = source.ds_clock()?;
            let len = source.ds_len()?;
            clock
                .checked_add(len)
                .ok_or(Fail::Malformed("delete set range overflows"))?;
        }
        summary.delete_ranges += u64::from(ranges);
    }
    summary.trailing_bytes = source.rest().remaining();
    Ok(())
}

/// Content ref of `ContentBinary`.
const BINARY_CONTENT: u8 = 3;

/// Yjs client ids are at most 53 bits (a JavaScript number); yrs asserts this when it builds
/// an id and silently truncates in release builds.
fn client_id(id: u64) -> Scan<u64> {
    if id >= 1 << 53 {
        return Err(Fail::Malformed("client id exceeds 53 bits"));
    }
    Ok(id)
}

/// One item (yrs `Update::decode_block` and `ItemContent::decode`). Returns its clock length.
fn item<'a, S: Source<'a>>(source: &mut S, info: u8, values: &mut ValueScanner) -> Scan<u32> {
    // yrs matches GC and Skip on the whole byte and content on the low four bits; yjs uses the
    // low five. Accept only content refs 1..=9 with bit 4 clear, where all readers agree (yrs
    // alone would read bit 4 as unset; no encoder sets it).
    if info & 0x10 != 0 {
        return Err(Fail::Malformed("struct info sets the unused bit 4"));
    }
    let content = info & 0x0f;
    if !(1..=9).contains(&content) {
        return Err(Fail::Malformed("unknown struct type"));
    }
    let has_origin = info & 0x80 != 0;
    let has_right_origin = info & 0x40 != 0;
    if has_origin {
        source.left_id()?;
    }
    if has_right_origin {
        source.right_id()?;
    }
    if !has_origin && !has_right_origin {
        if source.parent_info()? {
            source.string()?;
        } else {
            source.left_id()?;
        }
        if info & 0x20 != 0 {
            source.string()?;
        }
    }
    let len = match content {
        // Deleted
        1 => source.len()?,
        // JSON (legacy, content ref 2): yjs has not written it since v13, and yrs decodes one
        // more string than it encodes, so a state holding it cannot be read back. Refused.
        2 => {
            return Err(Fail::Malformed(
                "legacy JSON content (ref 2) is not supported",
            ))
        }
        // Binary
        3 => {
            source.rest().var_buf()?;
            1
        }
        // String: its length in UTF-16 code units
        4 => {
            let text = source.string()?;
            u32::try_from(text.encode_utf16().count())
                .map_err(|_| Fail::Malformed("string exceeds 32 bits of length"))?
        }
        // Embed
        5 => {
            source.json(values)?;
            1
        }
        // Format
        6 => {
            source.key()?;
            source.json(values)?;
            1
        }
        // Type: yrs 0.27.4 without the `weak` feature knows array, map, text, xml element (with
        // a key), xml fragment, xml hook (no key, unlike yjs), xml text, sub-doc, undefined.
        7 => {
            match source.type_ref()? {
                3 => source.key()?,
                0 | 1 | 2 | 4 | 5 | 6 | 9 | 15 => {}
                _ => return Err(Fail::Malformed("unknown shared type")),
            }
            1
        }
        // Any
        8 => {
            let count = source.len()?;
            if count as usize > source.rest().remaining() {
                return Err(Fail::Malformed(
                    "value list declares more values than it holds",
                ));
            }
            for _ in 0..count {
                values.skip_any(source.rest())?;
            }
            count
        }
        // Doc (content ref 9): a row is one document and never holds sub-documents; yrs also
        // leaks a decoded sub-document (its store and the parent item reference each other),
        // so refusing it here keeps untrusted bytes from leaking engine memory.
        _ => {
            return Err(Fail::Malformed(
                "sub-documents (content ref 9) are not supported: a row is one document",
            ))
        }
    };
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use std::collections::HashMap;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use yrs::types::Attrs;
    use yrs::updates::decoder::Decode;
    use yrs::updates::encoder::Encode;
    use yrs::{
        Any, Array, ArrayPrelim, Doc, Map, MapPrelim, OffsetKind, Options, ReadTxn, StateVector,
        Text, TextPrelim, Transact, Update, Xml, XmlElementPrelim, XmlFragment, XmlTextPrelim,
    };

    const DEPTH: usize = 64;

    /// xorshift64*: deterministic test data without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }

        fn below32(&mut self, n: u32) -> u32 {
            self.below(u64::from(n)) as u32
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    fn format_of(v2: bool) -> UpdateFormat {
        if v2 {
            UpdateFormat::V2
        } else {
            UpdateFormat::V1
        }
    }

    fn decode_yrs(
        bytes: &[u8],
        format: UpdateFormat,
    ) -> Result<Update, yrs::encoding::read::Error> {
        match format {
            UpdateFormat::V1 => Update::decode_v1(bytes),
            UpdateFormat::V2 => Update::decode_v2(bytes),
        }
    }

    fn random_string(rng: &mut Rng, bmp_only: bool) -> String {
        const PIECES: [&str; 8] = ["a", "bc", "é", "中文", " ", "\"\\{[", "ß", "x"];
        const WIDE: [&str; 2] = ["😀", "𝄞"];
        let n = rng.below(6);
        let mut s = String::new();
        for _ in 0..n {
            if !bmp_only && rng.chance(15) {
                s.push_str(WIDE[rng.below(2) as usize]);
            } else {
                s.push_str(PIECES[rng.below(PIECES.len() as u64) as usize]);
            }
        }
        s
    }

    /// A random value nesting at most `depth` levels.
    fn random_any(rng: &mut Rng, depth: usize) -> Any {
        let kinds = if depth == 0 { 9 } else { 11 };
        match rng.below(kinds) {
            0 => Any::Null,
            1 => Any::Undefined,
            2 => Any::Bool(rng.chance(50)),
            3 => Any::Number(rng.below(1 << 40) as f64 - (1u64 << 39) as f64),
            4 => Any::Number(f64::from(rng.below32(1000)) / 8.0),
            5 => Any::Number(rng.next() as f64 / 3.0e7),
            6 => Any::BigInt(rng.next() as i64),
            7 => Any::String(random_string(rng, false).into()),
            8 => Any::Buffer(
                (0..rng.below(5))
                    .map(|i| i as u8)
                    .collect::<Vec<_>>()
                    .into(),
            ),
            9 => Any::Array(
                (0..rng.below(4))
                    .map(|_| random_any(rng, depth - 1))
                    .collect::<Vec<_>>()
                    .into(),
            ),
            _ => Any::Map(Arc::new(
                (0..rng.below(4))
                    .map(|_| (random_string(rng, false), random_any(rng, depth - 1)))
                    .collect::<HashMap<_, _>>(),
            )),
        }
    }

    /// An array nested exactly `depth` levels around `inner`.
    fn nested(depth: usize, inner: Any) -> Any {
        (0..depth).fold(inner, |acc, _| Any::Array(vec![acc].into()))
    }

    fn attrs(rng: &mut Rng) -> Attrs {
        let mut attrs = Attrs::new();
        let key: Arc<str> = ["bold", "italic", "link", "color"][rng.below(4) as usize].into();
        attrs.insert(key, random_any(rng, 3));
        attrs
    }

    fn new_doc(client: u64) -> Doc {
        let mut options = Options::with_client_id(yrs::ClientID::new(client));
        options.offset_kind = OffsetKind::Utf16;
        Doc::with_options(options)
    }

    /// One random transaction on `doc`; returns its update in both encodings.
    fn random_edit(doc: &Doc, rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
        let fields = doc.get_or_insert_map("fields");
        let list = doc.get_or_insert_array("list");
        let text = doc.get_or_insert_text("text");
        let wide = doc.get_or_insert_text("wide");
        let xml = doc.get_or_insert_xml_fragment("xml");
        let mut txn = doc.transact_mut();
        for _ in 0..1 + rng.below(4) {
            match rng.below(14) {
                0..=2 => {
                    let key = format!("k{}", rng.below(6));
                    let levels = rng.below(6) as usize;
                    fields.insert(&mut txn, key, nested(levels, random_any(rng, 5)));
                }
                3 => {
                    let key = format!("k{}", rng.below(6));
                    fields.remove(&mut txn, &key);
                }
                4 => {
                    let sub = fields.insert(&mut txn, "sub", MapPrelim::default());
                    sub.insert(&mut txn, "x", random_any(rng, 2));
                    let arr = sub.insert(&mut txn, "arr", ArrayPrelim::default());
                    arr.insert_range(&mut txn, 0, (0..3).map(|_| random_any(rng, 2)));
                    sub.insert(&mut txn, "t", TextPrelim::new("nested text"));
                }
                5 => {
                    let len = list.len(&txn);
                    let at = rng.below32(len + 1);
                    let n = 1 + rng.below(4);
                    list.insert_range(&mut txn, at, (0..n).map(|_| random_any(rng, 4)));
                }
                6 => {
                    let len = list.len(&txn);
                    if len > 0 {
                        let at = rng.below32(len);
                        let n = 1 + rng.below32(len - at);
                        list.remove_range(&mut txn, at, n);
                    }
                }
                7 => {
                    let len = text.len(&txn);
                    let at = rng.below32(len + 1);
                    let s = random_string(rng, true);
                    if rng.chance(50) {
                        text.insert(&mut txn, at, &s);
                    } else {
                        let a = attrs(rng);
                        text.insert_with_attributes(&mut txn, at, &s, a);
                    }
                }
                8 => {
                    let len = text.len(&txn);
                    if len > 0 {
                        let at = rng.below32(len);
                        let n = 1 + rng.below32(len - at);
                        if rng.chance(50) {
                            text.remove_range(&mut txn, at, n);
                        } else {
                            let a = attrs(rng);
                            text.format(&mut txn, at, n, a);
                        }
                    }
                }
                9 => {
                    let len = text.len(&txn);
                    let at = rng.below32(len + 1);
                    text.insert_embed(&mut txn, at, random_any(rng, 4));
                }
                10 => {
                    let len = wide.len(&txn);
                    wide.insert(&mut txn, len, &random_string(rng, false));
                }
                11 => {
                    let len = xml.len(&txn);
                    let at = rng.below32(len + 1);
                    let el = xml.insert(&mut txn, at, XmlElementPrelim::empty("p"));
                    el.insert_attribute(&mut txn, "class", "c");
                    let t = el.insert(&mut txn, 0, XmlTextPrelim::new("para"));
                    let a = attrs(rng);
                    t.format(&mut txn, 0, 2, a);
                }
                12 => {
                    let len = xml.len(&txn);
                    if len > 0 {
                        xml.remove_range(&mut txn, rng.below32(len), 1);
                    }
                }
                _ => {
                    // Sub-documents are refused by policy (see `subdocuments_are_refused`);
                    // a nested map of nested maps stands in for that shape here.
                    let outer = fields.insert(&mut txn, "doc", MapPrelim::default());
                    let inner = outer.insert(&mut txn, "inner", MapPrelim::default());
                    inner.insert(&mut txn, "leaf", random_any(rng, 1));
                }
            }
        }
        (txn.encode_update_v1(), txn.encode_update_v2())
    }

    /// Valid updates of every kind yrs produces: per-transaction updates, full states, diffs,
    /// merges with gaps (skips), in v1 and v2.
    fn corpus() -> Vec<(String, UpdateFormat, Vec<u8>)> {
        let mut out = Vec::new();
        for seed in 1..=24u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let clients = 1 + rng.below(4) as usize;
            let docs: Vec<Doc> = (0..clients)
                .map(|i| new_doc(100 + i as u64 * 7919))
                .collect();
            let mut per_txn: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for step in 0..12 {
                let i = rng.below(clients as u64) as usize;
                let update = random_edit(&docs[i], &mut rng);
                out.push((
                    format!("seed {seed} step {step} txn"),
                    UpdateFormat::V1,
                    update.0.clone(),
                ));
                out.push((
                    format!("seed {seed} step {step} txn"),
                    UpdateFormat::V2,
                    update.1.clone(),
                ));
                per_txn.push(update);
                if rng.chance(40) {
                    // sync a random pair through a diff
                    let a = rng.below(clients as u64) as usize;
                    let b = rng.below(clients as u64) as usize;
                    let sv = docs[b].transact().state_vector();
                    let v2 = rng.chance(50);
                    let diff = if v2 {
                        docs[a].transact().encode_state_as_update_v2(&sv)
                    } else {
                        docs[a].transact().encode_state_as_update_v1(&sv)
                    };
                    out.push((
                        format!("seed {seed} step {step} diff"),
                        format_of(v2),
                        diff.clone(),
                    ));
                    let update =
                        decode_yrs(&diff, format_of(v2)).expect("yrs decodes its own diff");
                    docs[b].transact_mut().apply_update(update).expect("apply");
                }
            }
            for (i, doc) in docs.iter().enumerate() {
                let txn = doc.transact();
                let empty = StateVector::default();
                out.push((
                    format!("seed {seed} state {i}"),
                    UpdateFormat::V1,
                    txn.encode_state_as_update_v1(&empty),
                ));
                out.push((
                    format!("seed {seed} state {i}"),
                    UpdateFormat::V2,
                    txn.encode_state_as_update_v2(&empty),
                ));
            }
            // merges with gaps produce skips; diffs of merged updates too
            let every_other_v1: Vec<&[u8]> =
                per_txn.iter().step_by(2).map(|u| u.0.as_slice()).collect();
            let every_other_v2: Vec<&[u8]> =
                per_txn.iter().step_by(2).map(|u| u.1.as_slice()).collect();
            let merged_v1 = yrs::merge_updates_v1(every_other_v1).expect("merge v1");
            let merged_v2 = yrs::merge_updates_v2(every_other_v2).expect("merge v2");
            let sv = docs[0].transact().state_vector().encode_v1();
            out.push((
                format!("seed {seed} diff of merged v1"),
                UpdateFormat::V1,
                yrs::diff_updates_v1(&merged_v1, &sv).expect("diff v1"),
            ));
            out.push((
                format!("seed {seed} merged v1"),
                UpdateFormat::V1,
                merged_v1,
            ));
            out.push((
                format!("seed {seed} merged v2"),
                UpdateFormat::V2,
                merged_v2,
            ));
            let all_v2: Vec<&[u8]> = per_txn.iter().map(|u| u.1.as_slice()).collect();
            out.push((
                format!("seed {seed} merged all v2"),
                UpdateFormat::V2,
                yrs::merge_updates_v2(all_v2).expect("merge all"),
            ));
        }
        out
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn code(result: &Result<ShapeSummary, EngineError>) -> Option<ErrorCode> {
        result.as_ref().err().map(|e| e.code)
    }

    /// Feeds `bytes` to the scan; when it passes, yrs must decode the same bytes without
    /// panicking (the scan is the guard in front of yrs).
    fn scan_then_yrs(bytes: &[u8], format: UpdateFormat) -> Result<ShapeSummary, EngineError> {
        let result = check_update_shape(bytes, format, DEPTH);
        if result.is_ok() {
            let decoded = catch_unwind(AssertUnwindSafe(|| decode_yrs(bytes, format).is_ok()));
            assert!(
                decoded.is_ok(),
                "yrs panicked on bytes the scan accepted: {bytes:?}"
            );
        }
        result
    }

    #[test]
    fn prescan_accepts_every_update_yrs_produces() {
        let corpus = corpus();
        assert!(corpus.len() > 500, "corpus has {} updates", corpus.len());
        let mut deepest = 0;
        let mut structs = 0;
        for (name, format, bytes) in &corpus {
            decode_yrs(bytes, *format)
                .unwrap_or_else(|e| panic!("{name}: yrs rejects its own update: {e}"));
            let summary = check_update_shape(bytes, *format, DEPTH)
                .unwrap_or_else(|e| panic!("{name} ({format:?}): {e}"));
            assert_eq!(
                summary.trailing_bytes, 0,
                "{name} ({format:?}) left bytes unread"
            );
            deepest = deepest.max(summary.max_any_depth);
            structs += summary.structs;
        }
        assert!(deepest >= 4, "corpus nests only {deepest} levels");
        assert!(structs > 1000);
    }

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

    /// Updates encoded by yjs 13.6 (node), hex. Made with yjs's own API: a rich document
    /// (map values of every Any type, formatted text with an embed, xml, arrays, deletes), merged
    /// updates with gaps (skips), a sub-document, GC'd deletes, four clients overwriting one key,
    /// lone surrogates, and an `XmlHook` (yjs writes a hook name yrs does not read).
    const YJS_FIXTURES: &[(&str, UpdateFormat, &str)] = &[
        (
            "rich_a",
            UpdateFormat::V1,
            concat!(
                "013501002101066669656c64730173012101066669656c6473016e012801066669656c6473016601",
                "7c3fc000002801066669656c64730164017b3fb999999999999a2801066669656c6473036e656701",
                "7dd5b4de752801066669656c647303626967017a10000000000000002801066669656c6473017401",
                "782801066669656c647302666101792801066669656c6473036e756c017e2801066669656c647301",
                "75017f2301066669656c64730362696e030102032801066669656c6473036f626a01760301617502",
                "7d0176010162750175017500016376010164770165007709656d707479206b65792801066669656c",
                "6473036172720175037501750175017d01770178760101797e2701066669656c647304796d617001",
                "2800010d016b0175027d017d022701066669656c64730479617272000800010f017d018801100277",
                "0374776f76010574687265657d03c8011001110177036d696404010474657874024865840115016c",
                "840116026c6f8101180384011b0f726c6420f09f98802068c3a96c6c6f46011404626f6c64047472",
                "7565c601280114046c696e6b1d7b2268726566223a2278222c226e6573746564223a5b312c5b325d",
                "5d7dc60118011904626f6c64046e756c6cc6012a0119046c696e6b046e756c6cc60116011704626f",
                "6c64046e756c6cc6012c0117046c696e6b046e756c6cc5012d0117287b22696d616765223a22612e",
                "706e67222c226d657461223a7b2277223a312c2268223a5b325d7d7dc6012e011704626f6c640474",
                "727565c6012f0117046c696e6b1d7b2268726566223a2278222c226e6573746564223a5b312c5b32",
                "5d5d7dc601150116066974616c69630474727565c60131011604626f6c64046e756c6cc601320116",
                "046c696e6b046e756c6cc401330116025a5ac601350116066974616c6963046e756c6cc601360116",
                "04626f6c640474727565c601370116046c696e6b1d7b2268726566223a2278222c226e6573746564",
                "223a5b312c5b325d5d7d070103786d6c0301702800013905636c6173730177016328000139046461",
                "74610177017607000139060400013c03786d6c84013f05207465787446013d0162027b7dc6013f01",
                "400162046e756c6c8701390301710801046c697374017d018101480288014a037d047d057601016b",
                "770176a801000177076368616e676564010103000219034902",
            ),
        ),
        (
            "rich_a",
            UpdateFormat::V2,
            concat!(
                "000300030f024133211a0402000a0204061a6024682c0301743803000403000401000700004c1e04",
                "d4020e2206000a004401024201048e01063f210128072300280127002800270008008800c8000400",
                "8401810084004600c604c500c604c400c602070028010700040084004600c6008700080081008800",
                "a8a702ef016669656c6473736669656c64736e6669656c6473666669656c6473646669656c64736e",
                "65676669656c64736269676669656c6473746669656c647366616669656c64736e756c6669656c64",
                "73756669656c647362696e6669656c64736f626a6669656c64736172726669656c6473796d61706b",
                "6669656c6473796172727465787448656c6c6f726c6420f09f98802068c3a96c6c6f626f6c646c69",
                "6e6b626f6c646c696e6b626f6c646c696e6b626f6c646c696e6b6974616c6963626f6c646c696e6b",
                "5a5a6974616c6963626f6c646c696e6b786d6c70636c61737364617461786d6c2074657874626271",
                "6c69737406010601060106010603060306010602060306010603060306030604010644000201020c",
                "4406064400020644000301050403054101040d010d00000100000001010003010501000306030a41",
                "0c02010341010203010135007c3fc000007b3fb999999999999a7dd5b4de757a1000000000000000",
                "78797e7f030102037603016175027d0176010162750175017500016376010164770165007709656d",
                "707479206b657975037501750175017d01770178760101797e75027d017d027d01770374776f7601",
                "0574687265657d0377036d69647876020468726566770178066e657374656475027d0175017d027e",
                "7e7e7e760205696d6167657705612e706e67046d657461760201777d01016875017d027876020468",
                "726566770178066e657374656475027d0175017d02787e7e7e7876020468726566770178066e6573",
                "74656475027d0175017d0277016377017676007e7d017d047d057601016b77017677076368616e67",
                "6564010103000117022d01",
            ),
        ),
        (
            "merged_gaps",
            UpdateFormat::V1,
            concat!(
                "010707002801066669656c6473026b3001760201697d00017675017d000a012801066669656c6473",
                "026b3201760201697d02017675017d020a022801066669656c6473026b3501760201697d05017675",
                "017d050a0944070c0361623300",
            ),
        ),
        (
            "merged_gaps",
            UpdateFormat::V2,
            concat!(
                "00000247000001180d28000a0028000a0028000a0044231b6669656c64736b306669656c64736b32",
                "6669656c64736b3561623306020602060203010100024101010700760201697d00017675017d0001",
                "760201697d02017675017d0202760201697d05017675017d050900",
            ),
        ),
        (
            "subdoc",
            UpdateFormat::V1,
            concat!(
                "010109002901066669656c647303737562087375622d677569647601046d6574617601017875017d",
                "0100",
            ),
        ),
        (
            "subdoc",
            UpdateFormat::V2,
            concat!(
                "000001090000012915116669656c64737375627375622d6775696406030801010000010100760104",
                "6d6574617601017875017d0100",
            ),
        ),
        (
            "xmlhook",
            UpdateFormat::V1,
            "01010b00070103786d6c0508686f6f6b6e616d6500",
        ),
        (
            "xmlhook",
            UpdateFormat::V2,
            "000100010b000001070e0b786d6c686f6f6b6e616d650308010101050001010000",
        ),
        (
            "gc_deletes",
            UpdateFormat::V1,
            "01040c000101046c69737403040101740161810c0303840c06026566010c0200030403",
        ),
        (
            "gc_deletes",
            UpdateFormat::V2,
            concat!(
                "0000024c010207000007010004008100840d086c6973747461656604410002010100024300010400",
                "010c0200020102",
            ),
        ),
        (
            "alternating",
            UpdateFormat::V1,
            concat!(
                "04076800a1670001a1670101a1670201a1670301a1670401a1670501a1670601076700a1660001a1",
                "660101a1660201a1660301a1660401a1660501a1660601086600a1650001a1650101a1650201a165",
                "0301a1650401a1650501a1650601a86507017d1d0865002101066669656c647307636f756e746572",
                "01a1680001a1680101a1680201a1680301a1680401a1680501a16806010468010007670100076601",
                "000765010008",
            ),
        ),
        (
            "alternating",
            UpdateFormat::V2,
            concat!(
                "00000ea801e70106e60106e50107e801050c0003044c03044c03054e03040007a114a8002100a110",
                "0d6669656c6473636f756e746572060701010002411c040700070008007d1d080004680100066701",
                "00066601000665010007",
            ),
        ),
        (
            "lone_surrogates",
            UpdateFormat::V1,
            "01020d002801066669656c647303efbfbd01770478efbfbd040101740461efbfbd00",
        ),
        (
            "lone_surrogates",
            UpdateFormat::V2,
            concat!(
                "0000010d000003280004130e6669656c6473efbfbd7461efbfbd0641000201010001010102007704",
                "78efbfbd00",
            ),
        ),
    ];

    #[test]
    fn prescan_agrees_with_yrs_on_updates_made_by_yjs() {
        for (name, format, text) in YJS_FIXTURES {
            let bytes = hex(text);
            let scanned = check_update_shape(&bytes, *format, DEPTH);
            let decoded = decode_yrs(&bytes, *format);
            // Sub-documents decode in yrs but are refused by policy.
            let accepted_by_policy = decoded.is_ok() && *name != "subdoc";
            assert_eq!(
                scanned.is_ok(),
                accepted_by_policy,
                "{name} {format:?}: {scanned:?}"
            );
            if let Ok(summary) = scanned {
                assert_eq!(summary.trailing_bytes, 0, "{name} {format:?}");
                let expected_depth = match *name {
                    "rich_a" => 6,
                    "merged_gaps" => 2,
                    _ => summary.max_any_depth,
                };
                assert_eq!(summary.max_any_depth, expected_depth, "{name} {format:?}");
            }
        }
        // yjs writes an XmlHook's name, yrs does not read it: in v1 that misaligns the stream
        // (both refuse), in v2 the name sits unread in the string column (both accept).
        let hook = |f| {
            YJS_FIXTURES
                .iter()
                .find(|(n, ff, _)| *n == "xmlhook" && *ff == f)
                .map(|x| hex(x.2))
        };
        let v1 = hook(UpdateFormat::V1).expect("fixture");
        let v2 = hook(UpdateFormat::V2).expect("fixture");
        assert_eq!(
            code(&check_update_shape(&v1, UpdateFormat::V1, DEPTH)),
            Some(ErrorCode::InvalidDelta)
        );
        assert!(check_update_shape(&v2, UpdateFormat::V2, DEPTH).is_ok());
    }

    fn var(out: &mut Vec<u8>, mut n: u64) {
        while n >= 0x80 {
            out.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    /// lib0 `writeVarInt` of a magnitude and sign (so `-0` is expressible).
    fn signed(out: &mut Vec<u8>, mut magnitude: u64, negative: bool) {
        let more = if magnitude > 0x3f { 0x80 } else { 0 };
        let sign = if negative { 0x40 } else { 0 };
        out.push(more | sign | (magnitude & 0x3f) as u8);
        magnitude >>= 6;
        while magnitude > 0 {
            let more = if magnitude > 0x7f { 0x80 } else { 0 };
            out.push(more | (magnitude & 0x7f) as u8);
            magnitude >>= 7;
        }
    }

    /// A lib0 `UintOptRle` column of `(value, run)` pairs.
    fn uint_rle(runs: &[(u64, u64)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(value, run) in runs {
            if run == 1 {
                signed(&mut out, value, false);
            } else {
                signed(&mut out, value, true);
                var(&mut out, run - 2);
            }
        }
        out
    }

    /// A lib0 `StringEncoder` column: the concatenation, then the UTF-16 lengths.
    fn string_column(text: &str, lens: &[(u64, u64)]) -> Vec<u8> {
        let mut out = Vec::new();
        var(&mut out, text.len() as u64);
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(&uint_rle(lens));
        out
    }

    /// A v2 update from its columns (key clock, client, left clock, right clock, info, strings,
    /// parent info, type ref, len) and the rest stream.
    fn v2_update(columns: [&[u8]; 9], rest: &[u8]) -> Vec<u8> {
        let mut out = vec![0];
        for column in columns {
            var(&mut out, column.len() as u64);
            out.extend_from_slice(column);
        }
        out.extend_from_slice(rest);
        out
    }

    /// `structs` GC structs of client 5, each `gc_len` long, from one run in each column.
    fn gc_run(structs: u64, gc_len: u64) -> Vec<u8> {
        let mut rest = Vec::new();
        var(&mut rest, 1);
        var(&mut rest, structs);
        var(&mut rest, 0);
        var(&mut rest, 0);
        let lens = uint_rle(&[(gc_len, structs.max(2))]);
        v2_update(
            [
                &[],
                &uint_rle(&[(5, 1)]),
                &[],
                &[],
                &[0],
                &string_column("", &[]),
                &[],
                &[],
                &lens,
            ],
            &rest,
        )
    }

    fn clock_of(update: &Update, client: u64) -> u32 {
        update.state_vector().get(&yrs::ClientID::new(client))
    }

    #[test]
    fn run_length_columns_decode_like_yrs() {
        let bytes = gc_run(1000, 1);
        let summary = check_update_shape(&bytes, UpdateFormat::V2, DEPTH).expect("valid");
        assert_eq!(summary.structs, 1000);
        let update = decode_yrs(&bytes, UpdateFormat::V2).expect("yrs decodes the same bytes");
        assert_eq!(clock_of(&update, 5), 1000);
    }

    #[test]
    fn prescan_bounds_structs_declared_by_a_run() {
        // Four billion GC structs in 20 bytes: refused before walking them.
        let started = Instant::now();
        let bomb = gc_run(u64::from(u32::MAX), 1);
        assert!(bomb.len() < 32);
        let err = check_update_shape(&bomb, UpdateFormat::V2, DEPTH).expect_err("too many");
        assert_eq!(err.code, ErrorCode::TooLarge);
        assert!(started.elapsed() < Duration::from_secs(1));
        // An explicit ceiling applies to the declared count.
        let bytes = gc_run(1000, 1);
        assert!(check_update_shape_bounded(&bytes, UpdateFormat::V2, DEPTH, 1000).is_ok());
        let err =
            check_update_shape_bounded(&bytes, UpdateFormat::V2, DEPTH, 999).expect_err("over");
        assert_eq!(err.code, ErrorCode::TooLarge);
        assert!(err.message.contains("999"), "{}", err.message);
    }

    #[test]
    fn prescan_refuses_clock_overflow() {
        // yrs adds struct lengths to a u32 clock (a debug-build panic).
        let bytes = gc_run(2, u64::from(u32::MAX));
        let err = check_update_shape(&bytes, UpdateFormat::V2, DEPTH).expect_err("overflow");
        assert_eq!(err.code, ErrorCode::InvalidDelta);
        assert!(err.message.contains("overflow"), "{}", err.message);
        // Delete set: clock + len past u32 in v1.
        let ds = [0, 1, 5, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1];
        let err = check_update_shape(&ds, UpdateFormat::V1, DEPTH).expect_err("overflow");
        assert!(err.message.contains("delete set range overflows"), "{err}");
    }

    /// One item of client 5 under root "fields" with content `info` (no origins), whose
    /// strings and lengths come from the given columns.
    fn v2_item(info: u8, strings: &[u8], lens: &[u8], rest_tail: &[u8]) -> Vec<u8> {
        let mut rest = vec![1, 1, 0];
        rest.extend_from_slice(rest_tail);
        rest.push(0);
        v2_update(
            [&[], &[5], &[], &[], &[info], strings, &[1], &[], lens],
            &rest,
        )
    }

    #[test]
    fn string_lengths_are_utf16_units() {
        // "😀" is two UTF-16 units.
        let ok = v2_item(4, &string_column("fields😀", &[(6, 1), (2, 1)]), &[], &[]);
        check_update_shape(&ok, UpdateFormat::V2, DEPTH).expect("valid");
        let update = decode_yrs(&ok, UpdateFormat::V2).expect("yrs agrees");
        assert_eq!(clock_of(&update, 5), 2);
        // One unit would split the surrogate pair (yrs underflows); three run past the column.
        for len in [1, 3] {
            let bad = v2_item(4, &string_column("fields😀", &[(6, 1), (len, 1)]), &[], &[]);
            assert_eq!(
                code(&check_update_shape(&bad, UpdateFormat::V2, DEPTH)),
                Some(ErrorCode::InvalidDelta),
                "{len}"
            );
        }
        // Invalid UTF-8 in the column (yrs would read it unchecked).
        let mut column = string_column("fieldsxx", &[(6, 1), (2, 1)]);
        column[7] = 0xff;
        let bad = v2_item(4, &column, &[], &[]);
        assert_eq!(
            code(&check_update_shape(&bad, UpdateFormat::V2, DEPTH)),
            Some(ErrorCode::InvalidDelta)
        );
    }

    #[test]
    fn legacy_json_content_is_refused() {
        // ContentJSON declaring 2 elements: yrs would read 3 strings but write 2, so a state
        // holding it could never be decoded again.
        let strings = string_column("fields", &[(6, 1), (0, 3)]);
        let bytes = v2_item(2, &strings, &uint_rle(&[(2, 1)]), &[]);
        assert_eq!(
            code(&check_update_shape(&bytes, UpdateFormat::V2, DEPTH)),
            Some(ErrorCode::InvalidDelta)
        );
    }

    #[test]
    fn subdocuments_are_refused() {
        // A row is one document. yrs would decode a sub-document, but the decoded sub-document
        // and its parent item keep each other alive (found by the fuzzer's leak sanitizer).
        let made_by_yjs = YJS_FIXTURES.iter().filter(|(n, _, _)| *n == "subdoc");
        let made_by_yrs = {
            let doc = new_doc(9);
            let fields = doc.get_or_insert_map("fields");
            let mut txn = doc.transact_mut();
            fields.insert(&mut txn, "doc", Doc::new());
            [
                (UpdateFormat::V1, txn.encode_update_v1()),
                (UpdateFormat::V2, txn.encode_update_v2()),
            ]
        };
        let mut cases: Vec<(UpdateFormat, Vec<u8>)> =
            made_by_yjs.map(|(_, f, text)| (*f, hex(text))).collect();
        cases.extend(made_by_yrs);
        assert_eq!(cases.len(), 4);
        for (format, bytes) in cases {
            let err = check_update_shape(&bytes, format, DEPTH).expect_err("sub-document");
            assert_eq!(err.code, ErrorCode::InvalidDelta, "{format:?}");
            assert!(err.message.contains("sub-documents"), "{}", err.message);
        }
    }

    fn v1_any_item(value: &[u8]) -> Vec<u8> {
        let mut bytes = vec![1, 1, 5, 0, 0x28, 1, 6];
        bytes.extend_from_slice(b"fields");
        bytes.extend_from_slice(&[1, b'v', 1]);
        bytes.extend_from_slice(value);
        bytes.push(0);
        bytes
    }

    #[test]
    fn huge_declared_lengths_are_refused_without_allocating() {
        let mut cases: Vec<(UpdateFormat, Vec<u8>)> = Vec::new();
        // Any array / object / string / buffer lengths far beyond the input.
        for (tag, len) in [
            (117u8, 1u64 << 62),
            (118, 1 << 40),
            (119, u64::from(u32::MAX)),
            (116, u64::from(u32::MAX)),
            (119, 1 << 40),
        ] {
            let mut value = vec![tag];
            var(&mut value, len);
            cases.push((UpdateFormat::V1, v1_any_item(&value)));
        }
        // Item value count.
        let mut bytes = vec![1, 1, 5, 0, 0x28, 1, 6];
        bytes.extend_from_slice(b"fields");
        bytes.extend_from_slice(&[1, b'v']);
        var(&mut bytes, u64::from(u32::MAX));
        bytes.extend_from_slice(&[126, 0]);
        cases.push((UpdateFormat::V1, bytes));
        // Client, struct and delete-set counts.
        cases.push((UpdateFormat::V1, vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0]));
        cases.push((
            UpdateFormat::V1,
            vec![1, 0xff, 0xff, 0xff, 0xff, 0x0f, 5, 0, 0],
        ));
        cases.push((UpdateFormat::V1, vec![0, 0xff, 0xff, 0xff, 0xff, 0x0f]));
        cases.push((
            UpdateFormat::V1,
            vec![0, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ));
        // Root name length.
        cases.push((
            UpdateFormat::V1,
            vec![1, 1, 5, 0, 0x08, 1, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ));
        // Varints longer than 10 bytes or wider than 64 bits.
        cases.push((
            UpdateFormat::V1,
            vec![
                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
            ],
        ));
        cases.push((
            UpdateFormat::V1,
            vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        ));
        // v2 column lengths; a column length cut short (yrs indexes past the end and panics).
        cases.push((
            UpdateFormat::V2,
            vec![0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        ));
        cases.push((UpdateFormat::V2, vec![0, 0x80]));
        cases.push((UpdateFormat::V2, vec![]));
        cases.push((UpdateFormat::V1, vec![]));
        for (format, bytes) in cases {
            let started = Instant::now();
            let err = check_update_shape(&bytes, format, DEPTH).expect_err("refused");
            assert_eq!(err.code, ErrorCode::InvalidDelta, "{bytes:?}: {err}");
            assert!(started.elapsed() < Duration::from_millis(100));
        }
    }

    #[test]
    fn struct_info_bits_no_encoder_sets_are_refused() {
        // GC with an origin flag (yjs: GC, yrs: an item with content 0), and bit 4 (yjs: unknown
        // content, yrs: ignored).
        for (info, reason) in [
            (0x80u8, "unknown struct type"),
            (0x4a, "unknown struct type"),
            (0x18, "bit 4"),
            (0x1b, "bit 4"),
        ] {
            let mut bytes = vec![1, 1, 5, 0, info, 5, 0, 1];
            bytes.extend_from_slice(&[1, b'x', 0]);
            let err = check_update_shape(&bytes, UpdateFormat::V1, DEPTH).expect_err("refused");
            assert_eq!(err.code, ErrorCode::InvalidDelta);
            assert!(err.message.contains(reason), "{info:#x}: {err}");
        }
    }

    #[test]
    fn empty_updates_and_trailing_bytes() {
        let summary = check_update_shape(&[0, 0], UpdateFormat::V1, DEPTH).expect("empty v1");
        assert_eq!(summary, ShapeSummary::default());
        let empty_v2 = Doc::new()
            .transact()
            .encode_state_as_update_v2(&StateVector::default());
        check_update_shape(&empty_v2, UpdateFormat::V2, DEPTH).expect("empty v2");
        // yrs ignores bytes after the delete set, so the scan reports and accepts them.
        let summary = check_update_shape(&[0, 0, 9, 9], UpdateFormat::V1, DEPTH).expect("trailing");
        assert_eq!(summary.trailing_bytes, 2);
        decode_yrs(&[0, 0, 9, 9], UpdateFormat::V1).expect("yrs agrees");
    }

    #[test]
    fn prescan_never_panics_on_truncations_and_flips() {
        let corpus = corpus();
        let mut rng = Rng(0xdead_beef);
        let mut accepted_mutants = 0u32;
        for (name, format, bytes) in corpus.iter().step_by(7).take(60) {
            for len in 0..bytes.len() {
                let result = scan_then_yrs(&bytes[..len], *format);
                if let Err(e) = &result {
                    assert!(
                        matches!(e.code, ErrorCode::InvalidDelta | ErrorCode::TooLarge),
                        "{name}: {e}"
                    );
                } else {
                    accepted_mutants += 1;
                }
            }
            for _ in 0..200 {
                let mut mutant = bytes.clone();
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(mutant.len() as u64) as usize;
                    mutant[at] = match rng.below(4) {
                        0 => mutant[at] ^ (1 << rng.below(8)),
                        1 => 0xff,
                        2 => 0x80,
                        _ => rng.next() as u8,
                    };
                }
                if scan_then_yrs(&mutant, *format).is_ok() {
                    accepted_mutants += 1;
                }
            }
        }
        assert!(accepted_mutants > 0);
    }
}
