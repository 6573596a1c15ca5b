//! yrs `DecoderV2`: the v2 encoding, nine run-length encoded columns and a rest stream.

use super::any::ValueScanner;
use super::reader::Reader;
use super::update::{client_id, Id, Source};
use super::{Fail, Scan};

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
    /// Text bytes and length bytes no read has consumed.
    fn unread(&self) -> usize {
        self.text.len().saturating_sub(self.pos) + self.lens.r.remaining()
    }

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
pub(super) struct V2Source<'a> {
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
    pub(super) fn new(bytes: &'a [u8]) -> Scan<Self> {
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

    fn left_id(&mut self) -> Scan<Id> {
        let client = client_id(self.client.read()?)?;
        let clock = self.left_clock.read()?;
        Ok(Id { client, clock })
    }

    fn right_id(&mut self) -> Scan<Id> {
        let client = client_id(self.client.read()?)?;
        let clock = self.right_clock.read()?;
        Ok(Id { client, clock })
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

    fn unread_column_bytes(&self) -> usize {
        self.key_clock.r.remaining()
            + self.client.r.remaining()
            + self.left_clock.r.remaining()
            + self.right_clock.r.remaining()
            + self.info.r.remaining()
            + self.strings.unread()
            + self.parent_info.r.remaining()
            + self.type_ref.r.remaining()
            + self.len.r.remaining()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::error::ErrorCode;
    use std::time::{Duration, Instant};

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
}
