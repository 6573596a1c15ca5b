//! Untrusted state vectors (standard encoding).

use super::reader::Reader;
use super::update::client_id;
use super::Fail;
use crate::error::EngineError;

/// Decodes an untrusted state vector (standard encoding, as yjs `encodeStateVector` writes it)
/// as (client, clock) entries, ascending by client; a repeated client keeps its highest clock.
///
/// The declared entry count must fit in the bytes that follow (an entry takes at least two):
/// a decoder that reserves room for it first (yrs does) could be made to reserve gigabytes by
/// five bytes, and wasm memory never shrinks back. Client ids must fit in 53 bits, clocks in
/// 32, and nothing may trail.
pub(crate) fn decode_state_vector_entries(bytes: &[u8]) -> Result<Vec<(u64, u32)>, EngineError> {
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
    let mut entries: std::collections::BTreeMap<u64, u32> = std::collections::BTreeMap::new();
    for _ in 0..count {
        let client = reader.var_u64().and_then(client_id).map_err(explain)?;
        let clock = reader.var_u32().map_err(explain)?;
        let entry = entries.entry(client).or_insert(clock);
        *entry = (*entry).max(clock);
    }
    if reader.has_content() {
        return Err(malformed(&format!(
            "{} bytes follow its last entry",
            reader.remaining()
        )));
    }
    Ok(entries.into_iter().collect())
}
