//! yrs `DecoderV1`: the v1 encoding, one lib0 stream.

use super::any::ValueScanner;
use super::reader::Reader;
use super::update::{client_id, Id, Source};
use super::Scan;

/// yrs `DecoderV1`: everything comes from one lib0 stream.
pub(super) struct V1Source<'a> {
    pub(super) rest: Reader<'a>,
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

    fn left_id(&mut self) -> Scan<Id> {
        let client = client_id(self.rest.var_u64()?)?;
        let clock = self.rest.var_u32()?;
        Ok(Id { client, clock })
    }

    fn right_id(&mut self) -> Scan<Id> {
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
