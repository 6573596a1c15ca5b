//! Test support: a simulated edge replica built directly on yrs (the same library family a
//! Rust edge would use), writing the row layout the way a `yjs` edge does.
#![allow(dead_code)]

use std::collections::BTreeMap;

use dink_core::{Fields, Value};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Any, Doc, Map, Options, ReadTxn, StateVector, Transact, Update, WriteTxn};

/// A Convex value as the yrs `Any` a yjs edge writes for it (float64 as a number, int64 as a
/// bigint, bytes as a Uint8Array).
pub fn value_to_any(value: &Value) -> Any {
    match value {
        Value::Null => Any::Null,
        Value::Boolean(b) => Any::Bool(*b),
        Value::Float64(f) => Any::Number(*f),
        Value::Int64(i) => Any::BigInt(*i),
        Value::String(s) => Any::from(s.as_str()),
        Value::Bytes(b) => Any::from(b.as_slice()),
        Value::Array(items) => Any::from(items.iter().map(value_to_any).collect::<Vec<_>>()),
        Value::Object(map) => Any::from(
            map.iter()
                .map(|(k, v)| (k.clone(), value_to_any(v)))
                .collect::<std::collections::HashMap<_, _>>(),
        ),
    }
}

pub struct Edge {
    pub doc: Doc,
    synced: StateVector,
}

impl Edge {
    pub fn new(client_id: u64) -> Self {
        let doc = Doc::with_options(Options::with_guid_and_client_id(
            "edge".into(),
            yrs::ClientID::new(client_id),
        ));
        Edge {
            doc,
            synced: StateVector::default(),
        }
    }

    pub fn set(&self, key: &str, value: &Value) {
        let mut txn = self.doc.transact_mut();
        let fields = txn.get_or_insert_map("fields");
        fields.insert(&mut txn, key, value_to_any(value));
    }

    pub fn remove(&self, key: &str) {
        let mut txn = self.doc.transact_mut();
        let fields = txn.get_or_insert_map("fields");
        fields.remove(&mut txn, key);
    }

    pub fn delete_row(&self, now: f64) {
        let mut txn = self.doc.transact_mut();
        let meta = txn.get_or_insert_map("_meta");
        meta.insert(&mut txn, "_deleted", Any::Bool(true));
        meta.insert(&mut txn, "_deletedAt", Any::Number(now));
    }

    /// Everything written since the last call, as a v2 (or v1) update.
    pub fn take_update(&mut self, v1: bool) -> Vec<u8> {
        let txn = self.doc.transact();
        // v2 goes through the engine's converter: yrs' own v2 encoder mangles binary content
        // (see src/codec/encoder_v2.rs), and an edge running yjs writes correct v2.
        let v1_update = txn.encode_state_as_update_v1(&self.synced);
        let update = if v1 {
            v1_update
        } else {
            dink_core::convert_v1_to_v2(&v1_update).expect("v1 converts")
        };
        self.synced = txn.state_vector();
        update
    }

    pub fn full_state_v2(&self) -> Vec<u8> {
        let v1 = self
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        dink_core::convert_v1_to_v2(&v1).expect("v1 converts")
    }

    pub fn apply_v2(&self, update: &[u8]) {
        let update = Update::decode_v2(update).expect("valid v2 update");
        self.doc
            .transact_mut()
            .apply_update(update)
            .expect("update applies");
    }

    pub fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }

    pub fn materialize(&self) -> dink_core::Materialized {
        dink_core::materialize(&self.full_state_v2(), &dink_core::Limits::default())
            .expect("edge state materializes")
    }
}

pub fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect::<BTreeMap<_, _>>()
}

pub fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

/// A map value stored the way yjs stores a top-level `Uint8Array`: as `ContentBinary`, not
/// as an `Any` buffer.
pub struct BinaryContent(pub Vec<u8>);

impl yrs::block::Prelim for BinaryContent {
    type Return = yrs::block::Unused;

    fn into_content(
        self,
        _txn: &mut yrs::TransactionMut,
    ) -> (yrs::block::ItemContent, Option<Self>) {
        (yrs::block::ItemContent::Binary(self.0), None)
    }

    fn integrate(self, _txn: &mut yrs::TransactionMut, _inner_ref: yrs::branch::BranchPtr) {}
}

impl Edge {
    pub fn set_binary(&self, key: &str, bytes: &[u8]) {
        let mut txn = self.doc.transact_mut();
        let fields = txn.get_or_insert_map("fields");
        fields.insert(&mut txn, key, BinaryContent(bytes.to_vec()));
    }
}
