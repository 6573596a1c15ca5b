//! A v2 update encoder that writes binary content correctly.
//!
//! yrs 0.27.4's `EncoderV2::write_all` length-prefixes the bytes it is given, so every caller
//! that writes a length itself and then the raw bytes (`write_buf`, used for `ContentBinary`,
//! which is how yjs stores a top-level `Uint8Array` map value) gets the length twice: the
//! resulting update cannot be decoded by yjs or yrs. This wrapper delegates everything to
//! yrs' encoder except the raw byte path, which it appends byte by byte to the same buffer.
//! Every v2 encoding in the engine goes through [`encode_v2`] / [`FixedEncoderV2`], which also
//! writes object values with sorted keys (codec/canonical.rs).

use yrs::encoding::write::Write;
use yrs::updates::encoder::{Encode, Encoder, EncoderV2};
use yrs::Any;

use super::canonical::delegate_encoder;

pub(crate) struct FixedEncoderV2(EncoderV2);

impl FixedEncoderV2 {
    pub(crate) fn new() -> Self {
        FixedEncoderV2(EncoderV2::new())
    }
}

impl Write for FixedEncoderV2 {
    fn write_all(&mut self, buf: &[u8]) {
        for &byte in buf {
            self.0.write_u8(byte);
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.0.write_u8(value)
    }

    fn write_string(&mut self, str: &str) {
        self.0.write_string(str)
    }
}

impl Encoder for FixedEncoderV2 {
    delegate_encoder!();
    fn write_any(&mut self, any: &Any) {
        // yrs' `write_any` encodes the value v1-style into the same buffer `write_u8` fills;
        // written here with sorted object keys (codec/canonical.rs) for deterministic bytes.
        // Its strings are length-prefixed in that buffer (not the v2 string column), so encode
        // to bytes first and append them raw.
        let mut bytes = Vec::new();
        super::canonical::write_any_sorted(any, &mut bytes);
        self.write_all(&bytes)
    }
    fn write_json(&mut self, any: &Any) {
        self.0.write_json(any)
    }
}

/// Encodes anything yrs can encode (an `Update`, a state) as a correct v2 update.
pub(crate) fn encode_v2<T: Encode>(value: &T) -> Vec<u8> {
    let mut encoder = FixedEncoderV2::new();
    value.encode(&mut encoder);
    encoder.to_vec()
}

/// The whole document as a v2 update (what the engine stores).
pub(crate) fn state_v2<T: yrs::ReadTxn>(txn: &T) -> Vec<u8> {
    diff_v2(txn, &yrs::StateVector::default())
}

/// Everything in the document a peer with `sv` lacks, as a v2 update.
pub(crate) fn diff_v2<T: yrs::ReadTxn>(txn: &T, sv: &yrs::StateVector) -> Vec<u8> {
    let mut encoder = FixedEncoderV2::new();
    txn.encode_state_as_update(sv, &mut encoder);
    encoder.to_vec()
}

/// What a transaction inserted and deleted, as a v2 update.
pub(crate) fn txn_update_v2(txn: &yrs::TransactionMut) -> Vec<u8> {
    let mut encoder = FixedEncoderV2::new();
    txn.encode_update(&mut encoder);
    encoder.to_vec()
}
