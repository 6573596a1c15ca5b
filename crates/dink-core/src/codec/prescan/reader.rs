//! lib0 primitives: a bounds-checked cursor over varints, buffers and UTF-8 strings.

use super::{Fail, Scan};

/// A bounds-checked cursor. Every length it is asked for is compared with what is left before
/// anything is sliced.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    last_len: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            last_len: 0,
        }
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The read position, for [`Reader::since`].
    pub(super) fn mark(&self) -> usize {
        self.pos
    }

    /// The bytes read since `mark` (a position this reader returned).
    pub(super) fn since(&self, mark: usize) -> &'a [u8] {
        self.buf.get(mark..self.pos).unwrap_or(&[])
    }

    /// The bytes between two positions this reader returned.
    pub(super) fn slice(&self, (start, end): (usize, usize)) -> &'a [u8] {
        self.buf.get(start..end).unwrap_or(&[])
    }

    /// The byte length of the last string or buffer read (its bytes end at `mark`).
    pub(super) fn last_len(&self) -> usize {
        self.last_len
    }

    pub(super) fn has_content(&self) -> bool {
        self.remaining() > 0
    }

    pub(super) fn u8(&mut self) -> Scan<u8> {
        let byte = *self.buf.get(self.pos).ok_or(Fail::Truncated)?;
        self.pos += 1;
        Ok(byte)
    }

    pub(super) fn take(&mut self, len: u64) -> Scan<&'a [u8]> {
        let len = usize::try_from(len).map_err(|_| Fail::Truncated)?;
        if len > self.remaining() {
            return Err(Fail::Truncated);
        }
        let end = self.pos + len;
        let slice = self.buf.get(self.pos..end).ok_or(Fail::Truncated)?;
        self.pos = end;
        self.last_len = len;
        Ok(slice)
    }

    /// lib0 `readVarUint`. At most 10 bytes and a value that fits in 64 bits, so yrs's
    /// wrapping shifts (it accepts 11 bytes) can never make it see a different number.
    pub(super) fn var_u64(&mut self) -> Scan<u64> {
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
    pub(super) fn var_u32(&mut self) -> Scan<u32> {
        u32::try_from(self.var_u64()?)
            .map_err(|_| Fail::Malformed("variable-length integer exceeds 32 bits"))
    }

    /// lib0 `readVarInt` (sign and magnitude; `-0` is distinct from `0`). Returns the
    /// magnitude, at most `i64::MAX` (yrs negates it as an `i64` and shifts it at most 62 bits),
    /// and the sign.
    pub(super) fn var_signed(&mut self) -> Scan<(u64, bool)> {
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
    pub(super) fn var_buf(&mut self) -> Scan<&'a [u8]> {
        let len = self.var_u32()?;
        self.take(u64::from(len))
    }

    /// lib0 `readVarString`; yrs does not check UTF-8, so this does.
    pub(super) fn var_str(&mut self) -> Scan<&'a str> {
        std::str::from_utf8(self.var_buf()?).map_err(|_| Fail::Malformed("string is not UTF-8"))
    }
}
