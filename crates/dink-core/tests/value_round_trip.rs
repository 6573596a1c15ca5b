//! Property: every Convex value a synced field can hold survives Convex -> CRDT -> Convex
//! (through `change`, the stored state, the forwarded delta and the JSON boundary format).

use std::collections::BTreeMap;

use dink_core::value::{fields_from_convex_json, fields_to_convex_json, stored_form};
use dink_core::{
    change, ingest, materialize, Fields, Limits, UpdateFormat, Value, SERVER_CLIENT_ID,
};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_]{0,8}"
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Boolean),
        any::<f64>().prop_map(Value::Float64),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(0.0)
        ]
        .prop_map(Value::Float64),
        any::<i64>().prop_map(Value::Int64),
        ".{0,20}".prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6).prop_map(Value::Object),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn values_round_trip_through_the_crdt(fields in prop::collection::btree_map(key(), value(), 1..8)) {
        let mut fields: Fields = fields.into_iter().filter(|(k, _)| !k.starts_with('_')).collect();
        prop_assume!(!fields.is_empty());
        // Every row carries its document id (codec/layout.rs).
        fields.insert("id".to_string(), Value::String("row".to_string()));
        let limits = Limits::default();
        let out = change(None, None, Some(&fields), Some("row"), SERVER_CLIENT_ID, 1.0, &limits).unwrap();
        let expected: BTreeMap<String, Value> =
            fields.iter().map(|(k, v)| (k.clone(), stored_form(v))).collect();
        prop_assert_eq!(&materialize(&out.state, &limits).unwrap().fields, &expected);
        // The forwarded delta carries the same row to a replica that starts empty.
        let replica = ingest(None, &out.delta.unwrap(), UpdateFormat::V2, Some("row"), &limits).unwrap();
        prop_assert_eq!(&replica.fields, &expected);
    }

    #[test]
    fn values_round_trip_through_the_json_boundary_exactly(fields in prop::collection::btree_map(key(), value(), 0..8)) {
        let text = fields_to_convex_json(&fields);
        prop_assert_eq!(fields_from_convex_json(&text).unwrap(), fields);
    }
}
