//! Fuzz target: ingest decoding of untrusted update bytes, v1 and v2.
//!
//! The first input byte picks the mode; the rest is the payload:
//! * bit 0: declared format (v1 or v2), so mislabelled inputs (v1 sent as v2) are covered;
//! * bit 1: ingest into an existing row state instead of an empty one;
//! * bit 2: "mutate a valid update": the payload is XORed over a real update and the
//!   length is cut, which reaches deep into the decoder faster than random bytes.
//! * bit 4: the payload is also an untrusted state vector for `diff` against the seed state
//!   (what an edge sends to getSnapshot); its answer must ingest into that state as a no-op.
//! * bits 5, 6 and 7 all set: "recipe": the payload is a recipe that BUILDS an update with yrs (see `recipe`):
//!   plain values, binary, every shared type, text characters, embeds and formats as map
//!   values, foreign roots, sequence content under a root map, tombstone and id writes, and
//!   hand-encoded GC and skip ranges and delete sets, in v1 or v2, optionally mislabelled and
//!   followed by junk. Random bytes rarely get past the decoder; this mode reaches the row
//!   layout check (crates/dink-core/src/codec/layout.rs) with well-formed updates.
//!
//! Oracle: ingest returns Ok or a typed error, never panics; an accepted update's state
//! materializes again, has the row layout (`assert_row_layout`), and re-ingesting its own
//! normalized delta changes nothing. Differential oracle: the engine (the row CRDT,
//! `codec::row_crdt`) and the yrs engine (`codec::yrs_engine`) agree on every input: accepted
//! or refused with the same error code, the same row, and the same state and delta up to how
//! their encoders cut runs of clock units into structs (`row_crdt::normalized`); the same for
//! `diff`.
#![no_main]

use std::sync::{Arc, OnceLock};

use dink_core::codec::{row_crdt, yrs_engine};
use dink_core::{
    diff, ingest, materialize, EngineError, IngestOutcome, Limits, UpdateFormat, Value,
    SERVER_CLIENT_ID,
};
use libfuzzer_sys::fuzz_target;
use yrs::block::{ItemContent, Prelim, SplittableString, Unused};
use yrs::branch::BranchPtr;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Array, ArrayPrelim, Doc, Map, MapPrelim, Options, Out, ReadTxn, StateVector, Text,
    TextPrelim, Transact, TransactionMut, WriteTxn, XmlElementPrelim, XmlFragmentPrelim,
    XmlTextPrelim,
};

const DOC_ID: &str = "row-1";

struct Seeds {
    state: Vec<u8>,
    v1: Vec<u8>,
    v2: Vec<u8>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut row = dink_core::Fields::new();
        row.insert("id".into(), Value::String(DOC_ID.into()));
        row.insert("n".into(), Value::Float64(1.5));
        row.insert("big".into(), Value::Int64(-7));
        row.insert("tags".into(), Value::Array(vec![Value::Bytes(vec![1, 2]), Value::Null]));
        let created = dink_core::change(None, None, Some(&row), Some(DOC_ID), SERVER_CLIENT_ID, 1.0, &Limits::default())
            .expect("seed row");
        row.insert("n".into(), Value::Boolean(true));
        let edited = dink_core::change(Some(&created.state), None, Some(&row), Some(DOC_ID), 77, 2.0, &Limits::default())
            .expect("seed edit");
        let v2 = edited.delta.expect("seed delta");
        let v1 = dink_core::convert_v2_to_v1(&v2).expect("seed v1");
        Seeds { state: created.state, v1, v2 }
    })
}

/// Raw item content as a map value: what a foreign or hand-made encoder can put under a key.
struct Raw(ItemContent);

impl Prelim for Raw {
    type Return = Unused;

    fn into_content(self, _txn: &mut TransactionMut) -> (ItemContent, Option<Self>) {
        (self.0, None)
    }

    fn integrate(self, _txn: &mut TransactionMut, _inner_ref: BranchPtr) {}
}

/// Reads recipe bytes; runs out as zeros.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn key(&mut self) -> &'static str {
        const KEYS: [&str; 8] = ["title", "n", "tags", "id", "_deleted", "_deletedAt", "$x", ""];
        KEYS[(self.u8() % 8) as usize]
    }

    fn any(&mut self, depth: u8) -> Any {
        match self.u8() % if depth == 0 { 8 } else { 10 } {
            0 => Any::Null,
            1 => Any::Undefined,
            2 => Any::Bool(self.u8() & 1 == 1),
            3 => Any::Number(f64::from(self.u32() as i32) / 4.0),
            4 => Any::BigInt(i64::from(self.u32() as i32)),
            5 => Any::from(["", "row-1", "yes", "x\u{1F600}"][(self.u8() % 4) as usize]),
            6 => Any::from(vec![self.u8(); (self.u8() % 4) as usize]),
            7 => Any::Number(f64::from(self.u8())),
            8 => Any::from((0..self.u8() % 3).map(|_| self.any(depth - 1)).collect::<Vec<_>>()),
            _ => Any::from(
                (0..self.u8() % 3)
                    .map(|i| (format!("k{i}"), self.any(depth - 1)))
                    .collect::<std::collections::HashMap<_, _>>(),
            ),
        }
    }
}

fn lib0_var(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A hand-encoded v1 update: one GC (info 0) or skip (info 10) range, or a delete set.
fn hand_v1(r: &mut Bytes) -> Vec<u8> {
    let client = u64::from(r.u8() % 4) + 76;
    let clock = u64::from(r.u8() % 8);
    // Lengths around the interesting edges: tiny, the clock-jump limit, and u32's end.
    let len = match r.u8() % 5 {
        0 => u64::from(r.u8()) + 1,
        1 => u64::from(dink_core::limits::MAX_CLOCK_ADVANCE),
        2 => u64::from(dink_core::limits::MAX_CLOCK_ADVANCE) + 1,
        3 => u64::from(u32::MAX) - 1,
        _ => u64::from(r.u32()),
    };
    let mut out = Vec::new();
    match r.u8() % 3 {
        0 | 1 => {
            out.extend_from_slice(&[1, 1]);
            lib0_var(&mut out, client);
            lib0_var(&mut out, clock);
            out.push(if r.u8() & 1 == 0 { 0 } else { 10 });
            lib0_var(&mut out, len);
            out.push(0);
        }
        _ => {
            out.extend_from_slice(&[0, 1]);
            lib0_var(&mut out, client);
            let ranges = 1 + r.u8() % 3;
            lib0_var(&mut out, u64::from(ranges));
            for _ in 0..ranges {
                lib0_var(&mut out, clock);
                lib0_var(&mut out, len);
            }
        }
    }
    out
}

/// Builds an update from recipe bytes with yrs: `(bytes, format it is labelled with)`.
fn recipe(payload: &[u8], existing: Option<&[u8]>) -> (Vec<u8>, UpdateFormat) {
    let mut r = Bytes(payload);
    let flags = r.u8();
    let v2 = flags & 1 != 0;
    let update_v1 = if flags & 2 != 0 {
        hand_v1(&mut r)
    } else {
        let doc = Doc::with_options(Options::with_guid_and_client_id(
            "fuzz".into(),
            yrs::ClientID::new(u64::from(r.u8() % 4) + 76),
        ));
        // Building on the stored row (so that writes carry origins into it) costs as much as an
        // ingest; one recipe in four does it. The others still place items by origin when the
        // recipe writes a key twice.
        if flags & 0x60 == 0x60 {
            if let Some(state) = existing {
                if let Ok(update) = yrs::Update::decode_v2(state) {
                    let _ = doc.transact_mut().apply_update(update);
                }
            }
        }
        let before = doc.transact().state_vector();
        let side = flags & 4 != 0;
        {
            let mut txn = doc.transact_mut();
            let fields = txn.get_or_insert_map("fields");
            let meta = txn.get_or_insert_map("_meta");
            for _ in 0..1 + r.u8() % 6 {
                let op = r.u8();
                let key = r.key();
                let target = if op & 0x80 != 0 { &meta } else { &fields };
                match op % 18 {
                    0 | 1 => {
                        let v = r.any(2);
                        target.insert(&mut txn, key, v);
                    }
                    2 => {
                        target.remove(&mut txn, key);
                    }
                    3 => {
                        target.insert(&mut txn, key, Raw(ItemContent::Binary(vec![r.u8(); 3])));
                    }
                    4 => {
                        let text = target.insert(&mut txn, key, TextPrelim::new("ab"));
                        text.insert_embed(&mut txn, 1, r.any(1));
                        let mut attrs = yrs::types::Attrs::new();
                        attrs.insert(Arc::from("bold"), r.any(0));
                        text.format(&mut txn, 0, 1, attrs);
                    }
                    5 => {
                        target.insert(&mut txn, key, XmlTextPrelim::new("x"));
                    }
                    6 => {
                        target.insert(&mut txn, key, XmlElementPrelim::empty("p"));
                    }
                    7 => {
                        target.insert(&mut txn, key, XmlFragmentPrelim::default());
                    }
                    8 => {
                        let arr = target.insert(&mut txn, key, ArrayPrelim::default());
                        arr.insert(&mut txn, 0, r.any(1));
                    }
                    9 => {
                        let map = target.insert(&mut txn, key, MapPrelim::default());
                        map.insert(&mut txn, "k", r.any(1));
                    }
                    10 => {
                        let s = ["abc", "\u{1F600}", "é"][(r.u8() % 3) as usize];
                        target.insert(&mut txn, key, Raw(ItemContent::String(SplittableString::from(s))));
                    }
                    11 => {
                        target.insert(&mut txn, key, Raw(ItemContent::Embed(r.any(1))));
                    }
                    12 => {
                        target.insert(
                            &mut txn,
                            key,
                            Raw(ItemContent::Format(Arc::from("bold"), Box::new(r.any(0)))),
                        );
                    }
                    13 => {
                        let v = r.any(0);
                        meta.insert(&mut txn, "_deleted", v);
                    }
                    14 => {
                        let v = r.any(0);
                        meta.insert(&mut txn, "_deletedAt", v);
                    }
                    15 => {
                        let other = txn.get_or_insert_map(["notes", "x", "fields2"][(r.u8() % 3) as usize]);
                        other.insert(&mut txn, key, r.any(0));
                    }
                    16 => {
                        let v = [Any::from(DOC_ID), Any::from("other"), Any::Number(1.0)][(r.u8() % 3) as usize].clone();
                        fields.insert(&mut txn, "id", v);
                    }
                    _ => {
                        fields.remove(&mut txn, "id");
                    }
                }
            }
        }
        let mut update = doc.transact().encode_state_as_update_v1(&before);
        if side {
            // Sequence content straight under a root map, from a document typed differently.
            let other = Doc::with_options(Options::with_client_id(yrs::ClientID::new(90)));
            {
                let mut txn = other.transact_mut();
                let list = txn.get_or_insert_array(if r.u8() & 1 == 0 { "fields" } else { "_meta" });
                list.insert(&mut txn, 0, r.any(0));
            }
            let extra = other.transact().encode_state_as_update_v1(&StateVector::default());
            if let Ok(merged) = yrs::merge_updates_v1([update.as_slice(), extra.as_slice()]) {
                update = merged;
            }
        }
        update
    };
    let mut bytes = if v2 {
        dink_core::convert_v1_to_v2(&update_v1).unwrap_or(update_v1)
    } else {
        update_v1
    };
    let mut format = if v2 { UpdateFormat::V2 } else { UpdateFormat::V1 };
    if flags & 8 != 0 {
        // Mislabelled: the other format.
        format = if v2 { UpdateFormat::V1 } else { UpdateFormat::V2 };
    }
    if flags & 0x10 != 0 {
        // Junk after the update.
        bytes.extend_from_slice(&r.0[..r.0.len().min(8)]);
        bytes.push(r.u8());
    }
    (bytes, format)
}

/// The oracle for accepted updates: the stored state has the row layout.
fn assert_row_layout(state: &[u8]) {
    let doc = Doc::new();
    let update = yrs::Update::decode_v2(state).expect("accepted state decodes");
    doc.transact_mut().apply_update(update).expect("accepted state applies");
    let txn = doc.transact();
    for (name, _) in txn.root_refs() {
        assert!(name == "fields" || name == "_meta", "accepted state has root {name:?}");
    }
    let mut deleted = false;
    let mut id = None;
    for root in ["fields", "_meta"] {
        let Some(map) = txn.get_map(root) else { continue };
        let branch: &yrs::branch::Branch = map.as_ref();
        assert_eq!(branch.len(), 0, "accepted state has sequence content under {root}");
        for (key, out) in map.iter(&txn) {
            let Out::Any(any) = out else {
                panic!("accepted state holds a shared type at {root}.{key}");
            };
            match (root, key) {
                ("fields", "id") => id = Some(any),
                ("_meta", "_deleted") => {
                    let Any::Bool(flag) = any else { panic!("accepted _deleted is {any:?}") };
                    deleted = flag;
                }
                ("_meta", "_deletedAt") => {
                    assert!(matches!(any, Any::Number(_)), "accepted _deletedAt is {any:?}");
                }
                _ => {}
            }
        }
    }
    if let Some(id) = &id {
        assert_eq!(id, &Any::from(DOC_ID), "accepted state has another id");
    }
    assert!(deleted || id.is_some(), "accepted live row without its id");
}

/// Bytes compared up to how an encoder cuts runs into structs.
fn normalized(update: &[u8]) -> Vec<u8> {
    row_crdt::normalized(update, UpdateFormat::V2).expect("engine output decodes")
}

/// The row CRDT and the yrs engine gave the same answer to the same ingest.
fn assert_same_ingest(
    crdt: &Result<IngestOutcome, EngineError>,
    reference: &Result<IngestOutcome, EngineError>,
) {
    match (crdt, reference) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.fields, b.fields, "row differs from the yrs engine's");
            assert_eq!(a.deleted, b.deleted, "tombstone differs from the yrs engine's");
            assert_eq!(a.changed, b.changed, "changed differs from the yrs engine's");
            assert_eq!(normalized(&a.state), normalized(&b.state), "state differs");
            if a.changed {
                assert_eq!(normalized(&a.delta), normalized(&b.delta), "delta differs");
            }
        }
        (Err(a), Err(b)) => assert_eq!(a.code, b.code, "error {a} vs the yrs engine's {b}"),
        (a, b) => panic!("row CRDT {a:?} vs the yrs engine {b:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, payload)) = data.split_first() else { return };
    let mut format = if mode & 1 == 0 { UpdateFormat::V1 } else { UpdateFormat::V2 };
    let seeds = seeds();
    let state = (mode & 2 != 0).then_some(seeds.state.as_slice());
    let mutated;
    let built;
    // One input in eight: building documents costs ten times what decoding bytes does, and
    // the deterministic gate runs a fixed number of inputs.
    let update: &[u8] = if mode & 0xe0 == 0xe0 {
        let (bytes, label) = recipe(payload, state);
        built = bytes;
        format = label;
        &built
    } else if mode & 4 != 0 {
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
    let limits = Limits { max_update_bytes: 64 * 1024, ..Limits::default() };
    if mode & 0x10 != 0 {
        let reference = yrs_engine::diff(&seeds.state, update);
        match (&diff(&seeds.state, update), &reference) {
            (Ok(a), Ok(b)) => assert_eq!(normalized(a), normalized(b), "diff differs"),
            (Err(a), Err(b)) => assert_eq!(a.code, b.code, "diff error {a} vs {b}"),
            (a, b) => panic!("diff: row CRDT {a:?} vs the yrs engine {b:?}"),
        }
        if let Ok(missing) = diff(&seeds.state, update) {
            // The answer is a part of the state: the state takes it back as a no-op.
            let back = ingest(Some(&seeds.state), &missing, UpdateFormat::V2, Some(DOC_ID), &limits)
                .expect("a diff must ingest into its own state");
            assert!(!back.changed, "a diff of the state changed the state");
        }
    }
    if std::env::var("FUZZ_DUMP").is_ok() { eprintln!("DUMP state={:?} format={format:?}\n{}", state.map(|s| s.len()), dink_core::codec::row_crdt::dump(update, format)); }
    let result = ingest(state, update, format, Some(DOC_ID), &limits);
    assert_same_ingest(&result, &yrs_engine::ingest(state, update, format, Some(DOC_ID), &limits));
    if let Ok(out) = result {
        let row = materialize(&out.state, &limits).expect("accepted state must materialize");
        assert_eq!(row.fields, out.fields);
        if out.changed {
            assert_row_layout(&out.state);
        }
        if out.changed {
            let again = ingest(Some(&out.state), &out.delta, UpdateFormat::V2, Some(DOC_ID), &limits)
                .expect("own delta must re-ingest");
            assert!(!again.changed, "re-ingesting the normalized delta changed the row");
        }
    }
});
