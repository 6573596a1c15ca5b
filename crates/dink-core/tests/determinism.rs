//! The same inputs give the same bytes (issue 11, goal 4).
//!
//! yrs keeps nested object values in a `HashMap` whose iteration order depends on random hasher
//! keys; before codec/canonical.rs the same row could be stored as different byte strings. Each
//! repetition below builds its maps afresh, so every run draws new hasher keys.

use std::collections::BTreeMap;

use dink_core::{
    change, convert_v1_to_v2, convert_v2_to_v1, diff, ingest, merge, Fields, Limits, UpdateFormat,
    Value,
};

const RUNS: usize = 50;

/// A row with objects nested two deep, with enough keys that a HashMap's order varies.
fn row() -> Fields {
    let inner: BTreeMap<String, Value> = (0..12)
        .map(|i| (format!("k{i:02}"), Value::Float64(f64::from(i) + 0.5)))
        .collect();
    let outer: BTreeMap<String, Value> = (0..12)
        .map(|i| (format!("o{i:02}"), Value::Object(inner.clone())))
        .chain([(
            "list".to_string(),
            Value::Array(vec![Value::Object(inner.clone()), Value::Null]),
        )])
        .collect();
    let mut fields = Fields::new();
    fields.insert("id".into(), Value::String("row-1".into()));
    fields.insert("meta".into(), Value::Object(outer));
    fields.insert("title".into(), Value::String("deterministic".into()));
    fields
}

fn all_equal(label: &str, outputs: &[Vec<u8>]) {
    for (i, o) in outputs.iter().enumerate() {
        assert_eq!(
            o, &outputs[0],
            "{label}: run {i} wrote different bytes than run 0"
        );
    }
}

#[test]
fn change_ingest_diff_merge_and_convert_write_the_same_bytes_every_time() {
    let limits = Limits::default();
    let mut states = Vec::new();
    let mut deltas = Vec::new();
    let mut ingested = Vec::new();
    let mut diffs = Vec::new();
    let mut merged = Vec::new();
    let mut v1 = Vec::new();
    let mut back = Vec::new();
    for _ in 0..RUNS {
        let r = row();
        let made = change(None, None, Some(&r), Some("row-1"), 7, 1.0, &limits).expect("change");
        let delta = made.delta.clone().expect("a delta");
        let into = ingest(None, &delta, UpdateFormat::V2, Some("row-1"), &limits).expect("ingest");
        diffs.push(diff(&into.state, &[0]).expect("diff"));
        merged.push(merge(&[&delta, &into.state], UpdateFormat::V2).expect("merge"));
        let as_v1 = convert_v2_to_v1(&delta).expect("v2 -> v1");
        back.push(convert_v1_to_v2(&as_v1).expect("v1 -> v2"));
        v1.push(as_v1);
        states.push(made.state);
        deltas.push(delta);
        ingested.push(into.state);
    }
    all_equal("change state", &states);
    all_equal("change delta", &deltas);
    all_equal("ingest state", &ingested);
    all_equal("diff", &diffs);
    all_equal("merge", &merged);
    all_equal("v1", &v1);
    all_equal("v1 back to v2", &back);
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// Changing and ingesting into an existing state (not only creating one): the paths that load
/// the stored document and write its new state and the delta.
#[test]
fn updates_of_a_stored_row_write_the_same_bytes_every_time() {
    let limits = Limits::default();
    let mut base_fields = Fields::new();
    base_fields.insert("id".into(), Value::String("d".into()));
    base_fields.insert(
        "owner".into(),
        obj(&[
            ("name", Value::String("x".into())),
            (
                "meta",
                obj(&[
                    ("a", Value::Float64(1.0)),
                    ("b", Value::Boolean(true)),
                    ("c", Value::String("z".into())),
                ]),
            ),
        ]),
    );
    let base = change(None, None, Some(&base_fields), Some("d"), 7, 1.0, &limits)
        .expect("base")
        .state;
    let mut next = base_fields.clone();
    next.insert(
        "owner".into(),
        obj(&[
            ("q", Value::Float64(1.0)),
            (
                "p",
                obj(&[
                    ("d", Value::Float64(4.0)),
                    ("c", Value::Float64(3.0)),
                    ("e", Value::Float64(5.0)),
                    ("f", Value::Float64(6.0)),
                ]),
            ),
        ]),
    );
    let mut states = Vec::new();
    let mut deltas = Vec::new();
    let mut ingested = Vec::new();
    let mut ingested_deltas = Vec::new();
    for _ in 0..RUNS {
        let made = change(
            Some(&base),
            Some(&base_fields),
            Some(&next),
            Some("d"),
            7,
            2.0,
            &limits,
        )
        .expect("change");
        let delta = made.delta.clone().expect("a delta");
        let into =
            ingest(Some(&base), &delta, UpdateFormat::V2, Some("d"), &limits).expect("ingest");
        states.push(made.state);
        deltas.push(delta);
        ingested.push(into.state);
        ingested_deltas.push(into.delta);
    }
    all_equal("change state", &states);
    all_equal("change delta", &deltas);
    all_equal("ingest state", &ingested);
    all_equal("ingest delta", &ingested_deltas);
}
