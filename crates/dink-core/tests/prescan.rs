//! Updates that would crash yrs's decoder are refused before it runs (codec/prescan.rs).
//!
//! yrs decodes nested `Any` values recursively: 300,000 nested arrays in a few hundred
//! kilobytes overflow the stack and abort the process. Every public entry point that decodes
//! untrusted or stored bytes must answer with an error instead.

use dink_core::{
    convert_v1_to_v2, convert_v2_to_v1, diff, ingest, materialize, merge, state_vector, ErrorCode,
    Limits, UpdateFormat,
};
use yrs::{Any, Doc, Map, Transact};

/// An update setting `fields.v` to `levels` nested arrays around `null`: encoded by yrs with a
/// marker value, then the marker is rewritten (values sit in the plain part of both encodings,
/// which carries no length prefix).
fn nested_update(format: UpdateFormat, levels: usize) -> Vec<u8> {
    let doc = Doc::with_client_id(5);
    let fields = doc.get_or_insert_map("fields");
    let mut txn = doc.transact_mut();
    let marker = Any::Array(vec![Any::Array(vec![Any::String("MARK".into())].into())].into());
    fields.insert(&mut txn, "v", marker);
    let bytes = match format {
        UpdateFormat::V1 => txn.encode_update_v1(),
        UpdateFormat::V2 => txn.encode_update_v2(),
    };
    let needle = [117, 1, 117, 1, 119, 4, b'M', b'A', b'R', b'K'];
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("marker present");
    let mut out = bytes[..at].to_vec();
    for _ in 0..levels {
        out.extend_from_slice(&[117, 1]);
    }
    out.push(126);
    out.extend_from_slice(&bytes[at + needle.len()..]);
    out
}

#[test]
fn nesting_bombs_are_refused_by_every_entry_point() {
    let limits = Limits::default();
    for format in [UpdateFormat::V1, UpdateFormat::V2] {
        let bomb = nested_update(format, 300_000);
        assert!(bomb.len() < limits.max_update_bytes);

        let err = ingest(None, &bomb, format, None, &limits).expect_err("ingest");
        assert_eq!(err.code, ErrorCode::TooLarge, "{format:?}: {err}");
        let err = state_vector(&bomb, format).expect_err("state_vector");
        assert_eq!(err.code, ErrorCode::TooLarge, "{format:?}: {err}");
        let converted = match format {
            UpdateFormat::V1 => convert_v1_to_v2(&bomb),
            UpdateFormat::V2 => convert_v2_to_v1(&bomb),
        };
        assert_eq!(converted.expect_err("convert").code, ErrorCode::TooLarge);
        assert!(merge(&[&bomb], format).is_err());
    }
    // Stored state goes through the same decoder.
    let state = nested_update(UpdateFormat::V2, 300_000);
    assert!(materialize(&state, &limits).is_err());
    assert!(diff(&state, &[]).is_err());
}

#[test]
fn shallow_nesting_still_decodes() {
    for format in [UpdateFormat::V1, UpdateFormat::V2] {
        let update = nested_update(format, 3);
        state_vector(&update, format).expect("state vector");
        match format {
            UpdateFormat::V1 => convert_v1_to_v2(&update).map(|_| ()),
            UpdateFormat::V2 => convert_v2_to_v1(&update).map(|_| ()),
        }
        .expect("convert");
    }
}

#[test]
fn truncated_updates_are_invalid_not_a_crash() {
    // A v2 column length cut short makes yrs index past the end of the input (a panic, so an
    // abort in the wasm build); the prescan answers INVALID_DELTA.
    let err = state_vector(&[0, 0x80], UpdateFormat::V2).expect_err("truncated");
    assert_eq!(err.code, ErrorCode::InvalidDelta);
    for format in [UpdateFormat::V1, UpdateFormat::V2] {
        let update = nested_update(format, 3);
        for len in 1..update.len() {
            if let Err(err) = state_vector(&update[..len], format) {
                assert_eq!(err.code, ErrorCode::InvalidDelta, "{format:?} {len}: {err}");
            }
        }
    }
}

/// Fuzzer finds (structure-aware mode): a v1 delete set whose ranges for one client overlap,
/// run backwards or are empty. yrs decodes it, but its v2 encoder subtracts each range's clock from the
/// previous range's end (a `u32` underflow: a panic in debug builds, a garbage update in
/// release ones), so converting, merging or ingesting it must refuse it first.
#[test]
fn delete_sets_out_of_order_are_refused() {
    // Client 76: ranges [7, 223) twice, then [0, 1) after [7, 223).
    let overlapping = [0u8, 1, 76, 2, 7, 216, 1, 7, 216, 1];
    let backwards = [0u8, 1, 76, 2, 7, 216, 1, 0, 1];
    // The same client twice in the delete set.
    let repeated = [0u8, 2, 76, 1, 0, 1, 76, 1, 5, 1];
    // A zero-length range (v2 writes `len - 1`: yrs's encoder underflows).
    let empty = [0u8, 1, 76, 1, 5, 0];
    for bytes in [&overlapping[..], &backwards, &repeated, &empty] {
        let err = convert_v1_to_v2(bytes).expect_err("refused");
        assert_eq!(err.code, ErrorCode::InvalidDelta, "{err}");
        assert!(err.message.contains("delete set"), "{err}");
        assert!(merge(&[bytes], UpdateFormat::V1).is_err());
        assert!(ingest(None, bytes, UpdateFormat::V1, None, &Limits::default()).is_err());
    }
    // Sorted, disjoint (touching) ranges are what encoders write, and stay accepted.
    let sorted = [0u8, 1, 76, 2, 0, 1, 1, 2];
    convert_v1_to_v2(&sorted).expect("sorted delete set");
}
