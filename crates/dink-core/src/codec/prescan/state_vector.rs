//! Untrusted state vectors (standard encoding).

use super::reader::Reader;
use super::update::client_id;
use super::Fail;
use crate::error::EngineError;

/// Decodes an untrusted state vector (standard encoding, as yjs `encodeStateVector` writes it).
///
/// yrs reserves room for the declared entry count before reading any entry, so five bytes could
/// make it reserve gigabytes (wasm memory never shrinks back); here the count must fit in the
/// bytes that follow (an entry takes at least two), client ids in 53 bits, clocks in 32, and
/// nothing may trail.
pub(crate) fn decode_state_vector(bytes: &[u8]) -> Result<yrs::StateVector, EngineError> {
    let mut sv = yrs::StateVector::default();
    for (client, clock) in decode_state_vector_entries(bytes)? {
        sv.set_max(yrs::ClientID::new(client), clock);
    }
    Ok(sv)
}

/// [`decode_state_vector`] as (client, clock) entries, ascending by client; a repeated client
/// keeps its highest clock.
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
