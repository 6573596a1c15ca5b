//! Deterministic bytes: values written with their map keys sorted.
//!
//! yrs keeps a nested object value (`Any::Map`) in a `HashMap` and writes its entries in the
//! map's iteration order, which depends on the hasher's random keys: the same row ingested twice
//! could be stored as two different byte strings (equal content). Every value the engine writes
//! goes through [`write_any_sorted`], which writes exactly what yrs' `Any::encode` writes except
//! that object keys come in byte order. Decoders (yjs, yrs) read object keys in any order.

use yrs::encoding::write::Write;
use yrs::updates::encoder::{Encode, Encoder, EncoderV1};
use yrs::Any;

/// lib0's type tags for the two containers (the rest are written by yrs itself).
const TAG_ARRAY: u8 = 117;
const TAG_MAP: u8 = 118;

/// Writes `any` as lib0 `Any` (the v1 value encoding, which v2 also uses for values), with the
/// keys of every object sorted.
pub(crate) fn write_any_sorted<W: Write>(any: &Any, out: &mut W) {
    match any {
        Any::Array(items) => {
            out.write_u8(TAG_ARRAY);
            out.write_var(items.len() as u64);
            for item in items.iter() {
                write_any_sorted(item, out);
            }
        }
        Any::Map(map) => {
            out.write_u8(TAG_MAP);
            out.write_var(map.len() as u64);
            let mut entries: Vec<(&String, &Any)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (key, value) in entries {
                out.write_string(key);
                write_any_sorted(value, out);
            }
        }
        leaf => leaf.encode(out),
    }
}

/// The methods of yrs' `Encoder` that a wrapper `struct W(Inner)` passes straight to `Inner`
/// (everything but the value writers it exists to change: `write_any`, `write_json`).
macro_rules! delegate_encoder {
    () => {
        fn to_vec(self) -> Vec<u8> {
            self.0.to_vec()
        }
        fn reset_ds_cur_val(&mut self) {
            self.0.reset_ds_cur_val()
        }
        fn write_ds_clock(&mut self, clock: u32) {
            self.0.write_ds_clock(clock)
        }
        fn write_ds_len(&mut self, len: u32) {
            self.0.write_ds_len(len)
        }
        fn write_left_id(&mut self, id: &yrs::ID) {
            self.0.write_left_id(id)
        }
        fn write_right_id(&mut self, id: &yrs::ID) {
            self.0.write_right_id(id)
        }
        fn write_client(&mut self, client: yrs::block::ClientID) {
            self.0.write_client(client)
        }
        fn write_info(&mut self, info: u8) {
            self.0.write_info(info)
        }
        fn write_parent_info(&mut self, is_y_key: bool) {
            self.0.write_parent_info(is_y_key)
        }
        fn write_type_ref(&mut self, info: u8) {
            self.0.write_type_ref(info)
        }
        fn write_len(&mut self, len: u32) {
            self.0.write_len(len)
        }
        fn write_key(&mut self, string: &str) {
            self.0.write_key(string)
        }
    };
}
pub(crate) use delegate_encoder;

/// yrs' v1 encoder with object keys sorted (see the module comment).
pub(crate) struct CanonicalEncoderV1(EncoderV1);

impl Write for CanonicalEncoderV1 {
    fn write_all(&mut self, buf: &[u8]) {
        self.0.write_all(buf)
    }
    fn write_u8(&mut self, value: u8) {
        self.0.write_u8(value)
    }
    fn write_string(&mut self, str: &str) {
        self.0.write_string(str)
    }
}

impl Encoder for CanonicalEncoderV1 {
    delegate_encoder!();
    fn write_any(&mut self, any: &Any) {
        write_any_sorted(any, self)
    }
    fn write_json(&mut self, any: &Any) {
        // Embeds and formats (Y.Text content) never occur in a row document: the layout check
        // refuses them, so yrs' own writer is kept here.
        self.0.write_json(any)
    }
}

/// Encodes anything yrs can encode as a v1 update with sorted object keys.
pub(crate) fn encode_v1_canonical<T: Encode>(value: &T) -> Vec<u8> {
    let mut encoder = CanonicalEncoderV1(EncoderV1::new());
    value.encode(&mut encoder);
    encoder.to_vec()
}
