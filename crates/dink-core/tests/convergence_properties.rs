//! Property: whatever order, duplication and interleaving the updates of several writers are
//! delivered in, every replica that ingests them all materializes the same row.

mod support;

use dink_core::{change, ingest, ErrorCode, Fields, Limits, UpdateFormat, Value};
use proptest::prelude::*;
use support::{s, Edge};

#[derive(Debug, Clone)]
enum Op {
    Set(u8, i8),
    Remove(u8),
    Delete,
    /// The writer first catches up with another edge, so its next writes build on that
    /// edge's structs (cross-writer causal dependencies).
    Pull(u8),
}

/// Keys the writers edit. `fields.id` is not among them: every row carries its document id
/// (codec/layout.rs), so all writers start from a base row holding it (`base_state`).
const KEYS: [&str; 4] = ["title", "a", "b", "c"];
const DOC_ID: &str = "row";

/// The row every writer and replica starts from: created once, carrying its id.
fn base_state() -> Vec<u8> {
    let mut row = Fields::new();
    row.insert("id".to_string(), s(DOC_ID));
    change(
        None,
        None,
        Some(&row),
        Some(DOC_ID),
        99,
        0.0,
        &Limits::default(),
    )
    .expect("base row")
    .state
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..4, any::<i8>()).prop_map(|(k, v)| Op::Set(k, v)),
        2 => (0u8..4).prop_map(Op::Remove),
        1 => Just(Op::Delete),
        2 => (0u8..3).prop_map(Op::Pull),
    ]
}

fn value_for(v: i8) -> Value {
    match v.rem_euclid(4) {
        0 => Value::Float64(f64::from(v)),
        1 => Value::Int64(i64::from(v)),
        2 => s(&format!("s{v}")),
        _ => Value::Array(vec![Value::Boolean(v > 0), Value::Null]),
    }
}

/// A writer on the engine itself (state bytes + `change`), as Convex is.
struct EngineWriter {
    client_id: u64,
    state: Option<Vec<u8>>,
    row: Option<Fields>,
}

impl EngineWriter {
    fn apply(&mut self, op: &Op) -> Option<Vec<u8>> {
        let current = self.row.clone().unwrap_or_default();
        let next = match op {
            Op::Set(k, v) => {
                let mut next = current.clone();
                next.insert(KEYS[*k as usize].to_string(), value_for(*v));
                Some(next)
            }
            Op::Remove(k) => {
                let mut next = current.clone();
                next.remove(KEYS[*k as usize]);
                Some(next)
            }
            Op::Delete => None,
            Op::Pull(_) => return None,
        };
        let out = change(
            self.state.as_deref(),
            Some(&current),
            next.as_ref(),
            Some(DOC_ID),
            self.client_id,
            1000.0,
            &Limits::default(),
        )
        .expect("engine writer change");
        self.state = Some(out.state);
        self.row = next.or(Some(current));
        out.delta
    }
}

/// A tiny deterministic shuffle (the engine has no randomness; neither do its tests).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// Ingests every update in the given order, re-queueing the ones whose dependencies have not
/// arrived yet, until all are in. Returns the final state.
fn replica(updates: &[(Vec<u8>, UpdateFormat)]) -> Vec<u8> {
    let mut state: Option<Vec<u8>> = Some(base_state());
    let mut queue: Vec<&(Vec<u8>, UpdateFormat)> = updates.iter().collect();
    let mut stalled_rounds = 0;
    while !queue.is_empty() {
        let mut waiting = Vec::new();
        for item in queue {
            match ingest(
                state.as_deref(),
                &item.0,
                item.1,
                Some(DOC_ID),
                &Limits::default(),
            ) {
                Ok(out) => state = Some(out.state),
                Err(e) if e.code == ErrorCode::MissingDependencies => waiting.push(item),
                Err(e) => panic!("unexpected rejection: {e}"),
            }
        }
        stalled_rounds += 1;
        assert!(stalled_rounds < 1000, "updates never became applicable");
        queue = waiting;
    }
    state.expect("at least one update")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_under_any_delivery_order(
        script in prop::collection::vec((0u8..4, op(), any::<bool>()), 1..40),
        seed_a in any::<u64>(),
        seed_b in any::<u64>(),
        duplicates in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        // Three yrs edges and one engine writer, all editing the same row offline.
        let base = base_state();
        let mut edges = [Edge::new(101), Edge::new(102), Edge::new(103)];
        for edge in &edges {
            edge.apply_v2(&base);
        }
        let base_row = dink_core::materialize(&base, &Limits::default()).unwrap().fields;
        let mut engine = EngineWriter { client_id: 104, state: Some(base.clone()), row: Some(base_row) };
        let mut updates: Vec<(Vec<u8>, UpdateFormat)> = Vec::new();
        for (writer, op, v1) in &script {
            if *writer == 3 {
                if let Some(delta) = engine.apply(op) {
                    updates.push((delta, UpdateFormat::V2));
                }
                continue;
            }
            if let Op::Pull(from) = op {
                if *from != *writer {
                    let state = edges[*from as usize].full_state_v2();
                    edges[*writer as usize].apply_v2(&state);
                }
                continue;
            }
            let edge = &mut edges[*writer as usize];
            match op {
                Op::Set(k, v) => edge.set(KEYS[*k as usize], &value_for(*v)),
                Op::Remove(k) => edge.remove(KEYS[*k as usize]),
                Op::Delete => edge.delete_row(1000.0),
                Op::Pull(_) => unreachable!("handled above"),
            }
            let update = edge.take_update(*v1);
            let format = if *v1 { UpdateFormat::V1 } else { UpdateFormat::V2 };
            updates.push((update, format));
        }
        prop_assume!(!updates.is_empty());
        for index in &duplicates {
            let dup = updates[index.index(updates.len())].clone();
            updates.push(dup);
        }

        let mut order_a = updates.clone();
        shuffle(&mut order_a, seed_a | 1);
        let mut order_b = updates.clone();
        shuffle(&mut order_b, seed_b | 1);
        let limits = Limits::default();
        let row_a = dink_core::materialize(&replica(&order_a), &limits).unwrap();
        let row_b = dink_core::materialize(&replica(&order_b), &limits).unwrap();
        prop_assert_eq!(&row_a, &row_b);

        // A plain yrs document that received everything agrees too.
        let reference = Edge::new(999);
        reference.apply_v2(&base);
        for (bytes, format) in &updates {
            let v2 = match format {
                UpdateFormat::V1 => dink_core::convert_v1_to_v2(bytes).unwrap(),
                UpdateFormat::V2 => bytes.clone(),
            };
            reference.apply_v2(&v2);
        }
        prop_assert_eq!(&reference.materialize(), &row_a);
    }
}
