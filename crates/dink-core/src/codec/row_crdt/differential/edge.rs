//! Edge writers: yrs documents writing the row layout the way `yjs` edges do, and an update
//! encoder whose bytes are reproducible from the seed yet vary the way real edges' bytes vary.

use yrs::block::{ItemContent, Prelim, Unused};
use yrs::branch::BranchPtr;
use yrs::encoding::write::Write;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::{Encoder, EncoderV1, EncoderV2};
use yrs::{
    Any, Doc, Map, Options, ReadTxn, StateVector, TextPrelim, Transact, TransactionMut, Update,
    WriteTxn,
};

use super::gen::{self, Rng, BAD_KEYS};
use crate::codec::yrs_engine::{delegate_encoder, value_to_any};
use crate::codec::UpdateFormat;
use crate::value::Value;

/// How an edge's encoder writes what the update format leaves open. yrs writes object keys in
/// `HashMap` order (random per process), which would make a seed's bytes irreproducible; yjs
/// writes them in insertion order. Both are legal, so the harness picks a seeded order.
#[derive(Debug, Clone, Copy)]
pub(super) struct Style {
    /// Orders object keys (by a hash of the key mixed with this).
    pub key_seed: u64,
    /// Write numbers as lib0 (yjs) does rather than as yrs does: varints only up to 2^31 - 1
    /// (yrs: up to 2^53), and -0 as older lib0 versions write it, a varint zero with its sign
    /// bit set (yrs and current lib0: a plain 0).
    pub lib0_numbers: bool,
}

impl Style {
    pub(super) fn random(rng: &mut Rng) -> Self {
        Style {
            key_seed: rng.next(),
            lib0_numbers: rng.chance(50),
        }
    }
}

/// An update encoder (v1 or v2) that writes values in a [`Style`], and writes raw bytes
/// correctly in v2: yrs' own v2 encoder length-prefixes `ContentBinary` twice (see
/// codec/encoder_v2.rs), which no `yjs` edge sends.
struct EdgeEncoder<E>(E, Style);

impl<E: Encoder> Write for EdgeEncoder<E> {
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

impl<E: Encoder> Encoder for EdgeEncoder<E> {
    delegate_encoder!();

    fn write_any(&mut self, any: &Any) {
        // Values are lib0 `Any` in both formats, written into the encoder's main buffer (in v2
        // its strings are length-prefixed there, not put in the string column).
        let mut bytes = Vec::new();
        write_any_styled(any, self.1, &mut bytes);
        self.write_all(&bytes)
    }

    fn write_json(&mut self, any: &Any) {
        self.0.write_json(any)
    }
}

fn key_rank(key: &str, seed: u64) -> u64 {
    key.bytes().fold(seed | 1, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn write_any_styled(any: &Any, style: Style, out: &mut Vec<u8>) {
    match any {
        Any::Array(items) => {
            out.write_u8(117);
            out.write_var(items.len() as u64);
            for item in items.iter() {
                write_any_styled(item, style, out);
            }
        }
        Any::Map(map) => {
            out.write_u8(118);
            out.write_var(map.len() as u64);
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by_key(|(key, _)| (key_rank(key, style.key_seed), key.as_str()));
            for (key, value) in entries {
                out.write_string(key);
                write_any_styled(value, style, out);
            }
        }
        Any::Number(n) if style.lib0_numbers => write_lib0_number(*n, out),
        leaf => leaf.encode(out),
    }
}

/// lib0's `writeAny` for a number.
fn write_lib0_number(n: f64, out: &mut Vec<u8>) {
    const BITS31: f64 = 2_147_483_647.0;
    if n == 0.0 && n.is_sign_negative() {
        // Older lib0 `writeVarInt` (`isNegativeZero`) kept the sign of -0 in the varint's sign
        // bit; decoders read it as a (negative) zero.
        out.write_u8(125);
        out.write_u8(0x40);
    } else if n.fract() == 0.0 && n.abs() <= BITS31 {
        out.write_u8(125);
        out.write_var(n as i64);
    } else if f64::from(n as f32).to_bits() == n.to_bits() {
        out.write_u8(124);
        out.write_f32(n as f32);
    } else {
        out.write_u8(123);
        out.write_f64(n);
    }
}

pub(super) fn encode_update(txn: &TransactionMut, format: UpdateFormat, style: Style) -> Vec<u8> {
    match format {
        UpdateFormat::V1 => {
            let mut encoder = EdgeEncoder(EncoderV1::new(), style);
            txn.encode_update(&mut encoder);
            encoder.to_vec()
        }
        UpdateFormat::V2 => {
            let mut encoder = EdgeEncoder(EncoderV2::new(), style);
            txn.encode_update(&mut encoder);
            encoder.to_vec()
        }
    }
}

fn encode_diff<T: ReadTxn>(
    txn: &T,
    sv: &StateVector,
    format: UpdateFormat,
    style: Style,
) -> Vec<u8> {
    match format {
        UpdateFormat::V1 => {
            let mut encoder = EdgeEncoder(EncoderV1::new(), style);
            txn.encode_state_as_update(sv, &mut encoder);
            encoder.to_vec()
        }
        UpdateFormat::V2 => {
            let mut encoder = EdgeEncoder(EncoderV2::new(), style);
            txn.encode_state_as_update(sv, &mut encoder);
            encoder.to_vec()
        }
    }
}

/// A map value stored as yjs stores a top-level `Uint8Array`: `ContentBinary`, not `ContentAny`.
struct Binary(Vec<u8>);

impl Prelim for Binary {
    type Return = Unused;

    fn into_content(self, _txn: &mut TransactionMut) -> (ItemContent, Option<Self>) {
        (ItemContent::Binary(self.0), None)
    }

    fn integrate(self, _txn: &mut TransactionMut, _inner_ref: BranchPtr) {}
}

/// One write inside an edge transaction.
#[derive(Debug, Clone)]
pub(super) enum EdgeOp {
    /// `fields[key] = value` as `ContentAny` (what yrs writes for any value).
    Set(String, Value),
    /// `fields[key] = bytes` as `ContentBinary` (what yjs writes for a top-level Uint8Array).
    SetBinary(String, Vec<u8>),
    /// `fields[key] = undefined` (yjs can write it; the row omits the field).
    SetUndefined(String),
    Remove(String),
    /// `_meta._deleted = true`, with `_deletedAt` when given.
    Tombstone(Option<f64>),
    /// `_meta._deleted = false` (or the key removed) and `_deletedAt` removed.
    Restore {
        remove_flag: bool,
    },
    /// Writes the row layout refuses: a `Y.Text` as a field, a reserved field name, another
    /// root, a non-boolean `_deleted`.
    SetText(String),
    BadKey(String),
    ForeignRoot,
    BadTombstone,
}

pub(super) fn random_op(rng: &mut Rng, doc_id: &str, now: f64) -> EdgeOp {
    let key = gen::key(rng).to_string();
    match rng.below(100) {
        0..=54 => EdgeOp::Set(key, gen::value(rng, 3)),
        55..=62 => EdgeOp::SetBinary(key, (0..rng.below(12)).map(|_| rng.next() as u8).collect()),
        63..=64 => EdgeOp::SetUndefined(key),
        65..=76 => EdgeOp::Remove(key),
        77..=81 => EdgeOp::Tombstone(rng.chance(80).then_some(now)),
        82..=86 => EdgeOp::Restore {
            remove_flag: rng.chance(30),
        },
        // Rewriting the id with its own value (an overwrite the layout allows), removing it
        // or changing it (refused on a live row).
        87..=89 => EdgeOp::Set("id".into(), Value::String(doc_id.into())),
        90 => EdgeOp::Remove("id".into()),
        91 => EdgeOp::Set("id".into(), Value::String("another-row".into())),
        92 => EdgeOp::SetText(key),
        93 => EdgeOp::BadKey(rng.pick(&BAD_KEYS).to_string()),
        94 => EdgeOp::ForeignRoot,
        95 => EdgeOp::BadTombstone,
        _ => EdgeOp::Set(key, Value::Null),
    }
}

/// One edge transaction's update, in both formats.
pub(super) struct Written {
    pub v1: Vec<u8>,
    pub v2: Vec<u8>,
}

pub(super) struct Edge {
    doc: Doc,
    pub client: u64,
    /// The state vector before each of this edge's writes: the "older states" a diff may be
    /// computed against (what the edge believed the server had).
    pub history: Vec<StateVector>,
}

impl Edge {
    pub(super) fn new(client: u64) -> Self {
        Edge {
            doc: Doc::with_options(Options::with_guid_and_client_id(
                "edge".into(),
                yrs::ClientID::new(client),
            )),
            client,
            history: vec![StateVector::default()],
        }
    }

    /// Runs `ops` in one transaction and returns its update in both formats.
    pub(super) fn write(&mut self, ops: &[EdgeOp], style: Style) -> Written {
        self.history.push(self.state_vector());
        let mut txn = self.doc.transact_mut();
        let fields = txn.get_or_insert_map("fields");
        let meta = txn.get_or_insert_map("_meta");
        for op in ops {
            match op {
                EdgeOp::Set(key, value) => {
                    fields.insert(&mut txn, key.as_str(), value_to_any(value));
                }
                EdgeOp::SetBinary(key, bytes) => {
                    fields.insert(&mut txn, key.as_str(), Binary(bytes.clone()));
                }
                EdgeOp::SetUndefined(key) => {
                    fields.insert(&mut txn, key.as_str(), Any::Undefined);
                }
                EdgeOp::Remove(key) => {
                    fields.remove(&mut txn, key);
                }
                EdgeOp::Tombstone(at) => {
                    meta.insert(&mut txn, "_deleted", Any::Bool(true));
                    if let Some(at) = at {
                        meta.insert(&mut txn, "_deletedAt", Any::Number(*at));
                    }
                }
                EdgeOp::Restore { remove_flag } => {
                    if *remove_flag {
                        meta.remove(&mut txn, "_deleted");
                    } else {
                        meta.insert(&mut txn, "_deleted", Any::Bool(false));
                    }
                    meta.remove(&mut txn, "_deletedAt");
                }
                EdgeOp::SetText(key) => {
                    fields.insert(&mut txn, key.as_str(), TextPrelim::new("rich text"));
                }
                EdgeOp::BadKey(key) => {
                    fields.insert(&mut txn, key.as_str(), Any::Bool(true));
                }
                EdgeOp::ForeignRoot => {
                    let notes = txn.get_or_insert_map("notes");
                    notes.insert(&mut txn, "note", Any::Null);
                }
                EdgeOp::BadTombstone => {
                    meta.insert(&mut txn, "_deleted", Any::String("yes".into()));
                }
            }
        }
        // Encoded before the commit: the transaction's own update is what an edge sends from
        // its `update` event.
        Written {
            v1: encode_update(&txn, UpdateFormat::V1, style),
            v2: encode_update(&txn, UpdateFormat::V2, style),
        }
    }

    /// Everything this edge has that a peer at `sv` lacks.
    pub(super) fn diff(&self, sv: &StateVector, format: UpdateFormat, style: Style) -> Vec<u8> {
        encode_diff(&self.doc.transact(), sv, format, style)
    }

    pub(super) fn state_vector(&self) -> StateVector {
        self.doc.transact().state_vector()
    }

    /// Applies an update from a peer (another edge or the server). Peers send whole diffs, so
    /// nothing is ever left pending.
    pub(super) fn apply(&self, update: &[u8], format: UpdateFormat) {
        let update = match format {
            UpdateFormat::V1 => Update::decode_v1(update),
            UpdateFormat::V2 => Update::decode_v2(update),
        }
        .expect("a peer's diff decodes");
        let mut txn = self.doc.transact_mut();
        txn.apply_update(update).expect("a peer's diff applies");
        assert!(
            !txn.has_missing_updates(),
            "a peer's diff left structs pending"
        );
    }
}
