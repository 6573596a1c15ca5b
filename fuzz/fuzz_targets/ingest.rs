//! Fuzz target: ingest decoding of untrusted update bytes, v1 and v2.
//!
//! The first input byte picks the mode; the rest is the payload:
//! * bit 0: declared format (v1 or v2), so mislabelled inputs (v1 sent as v2) are covered;
//! * bit 1: ingest into an existing row state instead of an empty one;
//! * bit 2: "mutate a valid update": the payload is XORed over a real update and the
//!   length is cut, which reaches deep into the decoder faster than random bytes.
//! * bit 4: the payload is also an untrusted state vector for `diff` against the seed state
//!   (what an edge sends to getSnapshot); its answer must ingest into that state as a no-op.
//!
//! Oracle: ingest returns Ok or a typed error, never panics; an accepted update's state
//! materializes again, and re-ingesting its own normalized delta changes nothing.
#![no_main]

use std::sync::OnceLock;

use dink_core::{diff, ingest, materialize, Limits, UpdateFormat, Value, SERVER_CLIENT_ID};
use libfuzzer_sys::fuzz_target;

struct Seeds {
    state: Vec<u8>,
    v1: Vec<u8>,
    v2: Vec<u8>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut row = dink_core::Fields::new();
        row.insert("id".into(), Value::String("row-1".into()));
        row.insert("n".into(), Value::Float64(1.5));
        row.insert("big".into(), Value::Int64(-7));
        row.insert("tags".into(), Value::Array(vec![Value::Bytes(vec![1, 2]), Value::Null]));
        let created = dink_core::change(None, None, Some(&row), SERVER_CLIENT_ID, 1.0, &Limits::default())
            .expect("seed row");
        row.insert("n".into(), Value::Boolean(true));
        let edited = dink_core::change(Some(&created.state), None, Some(&row), 77, 2.0, &Limits::default())
            .expect("seed edit");
        let v2 = edited.delta.expect("seed delta");
        let v1 = dink_core::convert_v2_to_v1(&v2).expect("seed v1");
        Seeds { state: created.state, v1, v2 }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, payload)) = data.split_first() else { return };
    let format = if mode & 1 == 0 { UpdateFormat::V1 } else { UpdateFormat::V2 };
    let seeds = seeds();
    let mutated;
    let update: &[u8] = if mode & 4 != 0 {
        let base = if mode & 8 == 0 { &seeds.v1 } else { &seeds.v2 };
        let cut = payload.first().map_or(base.len(), |&c| (c as usize) % (base.len() + 1));
        mutated = base[..cut]
            .iter()
            .zip(payload.iter().skip(1).chain(std::iter::repeat(&0)))
            .map(|(a, b)| a ^ b)
            .collect::<Vec<u8>>();
        &mutated
    } else {
        payload
    };
    let state = (mode & 2 != 0).then_some(seeds.state.as_slice());
    let limits = Limits { max_update_bytes: 64 * 1024, ..Limits::default() };
    if mode & 0x10 != 0 {
        if let Ok(missing) = diff(&seeds.state, update) {
            // The answer is a part of the state: the state takes it back as a no-op.
            let back = ingest(Some(&seeds.state), &missing, UpdateFormat::V2, &limits)
                .expect("a diff must ingest into its own state");
            assert!(!back.changed, "a diff of the state changed the state");
        }
    }
    if let Ok(out) = ingest(state, update, format, &limits) {
        let row = materialize(&out.state, &limits).expect("accepted state must materialize");
        assert_eq!(row.fields, out.fields);
        if out.changed {
            let again = ingest(Some(&out.state), &out.delta, UpdateFormat::V2, &limits)
                .expect("own delta must re-ingest");
            assert!(!again.changed, "re-ingesting the normalized delta changed the row");
        }
    }
});
