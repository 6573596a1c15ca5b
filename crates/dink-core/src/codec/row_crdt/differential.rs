//! Differential test: the row CRDT (`codec::row_crdt::*`) against the engine on yrs
//! (`codec::yrs_engine::*`, the reference) on random concurrent histories. Every output must be
//! identical: equal bytes, except where an encoder may write the same thing in more than one
//! way (state vector entry order, how runs are cut into structs, delete set order), which
//! `differential/compare.rs` checks for equal content instead; `ROW_CRDT_STRICT=1` demands equal
//! bytes there too. Both engines are named explicitly: `codec::*` itself re-exports one of the
//! two (by the `yrs-engine` feature), and comparing it with itself would pass silently.
//!
//! A scenario is one row: the server creates it with `change`, 2-5 edge writers (yrs documents,
//! as a Rust or `yjs` edge would run) write fields and tombstones in transactions, sync with each
//! other and pull the server's diffs, and their updates reach the server out of order,
//! duplicated, dropped and resent as diffs, in v1 or v2; the server interleaves its own writes.
//! Each engine keeps its own stored state; after every step the states, every output of the
//! call, the materialized row and a diff against a random edge's state vector must be equal.
//!
//! Seeds: scenario `i` runs seed `BASE_SEED + i`. `ROW_CRDT_SCENARIOS=N` runs more scenarios,
//! `ROW_CRDT_SEED=0x..` replays the one a failure names.

mod compare;
mod edge;
mod gen;
mod scenario;

use std::collections::BTreeMap;

use crate::codec::row_crdt;
use crate::codec::yrs_engine as reference;
use crate::codec::{ChangeOutcome, UpdateFormat, SERVER_CLIENT_ID};
use crate::error::EngineError;
use crate::limits::Limits;
use crate::value::{Fields, Value};
use compare::{compare, hex, Ctx};
use scenario::{Mode, Scenario, Stored};

/// A Convex-style document id.
const DOC_ID: &str = "jh7cs5aqwtk4y0r0xw3kfz9q8n7m2v1a";
const BASE_SEED: u64 = 0xd1ff_0000_0000;
/// Scenarios per run of the main test (and a quarter of that for the reader test). Measured in
/// the debug profile while the row CRDT still delegated to yrs: about 50 ms per scenario, and
/// this file's tests take some 13 s of CPU; `ROW_CRDT_SCENARIOS=N` runs more.
const DEFAULT_SCENARIOS: usize = 160;
const OPS_PER_SCENARIO: usize = 40;
/// The hot row: this many writers, each making at least `HOT_EDITS` edits of one key (the
/// reader test). The main test compares every step of a smaller one, `HOT_EDITS_COMPARED`.
const HOT_WRITERS: usize = 10;
const HOT_EDITS: usize = 100;
const HOT_EDITS_COMPARED: usize = 50;
const NOW_MS: f64 = 1.7e12;

const MAIN_TEST: &str = "row_crdt_matches_yrs_on_random_histories";
const READER_TEST: &str = "row_crdt_reads_every_state_the_engine_wrote";

/// Scenario count from `ROW_CRDT_SCENARIOS`, or the default.
fn scenario_count() -> usize {
    std::env::var("ROW_CRDT_SCENARIOS")
        .ok()
        .map(|n| n.trim().parse().expect("ROW_CRDT_SCENARIOS is a number"))
        .unwrap_or(DEFAULT_SCENARIOS)
}

/// The seeds to run: the one `ROW_CRDT_SEED` names, or `count` consecutive ones.
fn seeds(count: usize) -> Vec<u64> {
    match std::env::var("ROW_CRDT_SEED") {
        Ok(seed) => {
            let seed = seed.trim();
            let parsed = match seed.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => seed.parse(),
            };
            vec![parsed.expect("ROW_CRDT_SEED is a number (decimal or 0x hex)")]
        }
        Err(_) => (0..count as u64).map(|i| BASE_SEED + i).collect(),
    }
}

/// Checks the row CRDT against one state the reference stored: it materializes the same,
/// re-ingesting the delta that produced it (v2 and v1) and replaying it onto the state before
/// give the same outcomes, and so do diffs of it.
fn check_stored(stored: &Stored) {
    let limits = Limits::default();
    let before = stored.before.as_deref();
    let v1 = reference::convert_v2_to_v1(&stored.delta).expect("the engine's delta converts to v1");
    let sv_before = match before {
        Some(state) => reference::state_vector(state, UpdateFormat::V2).expect("stored state"),
        None => Vec::new(),
    };
    let op = format!("state stored by: {}", stored.origin);
    let inputs: [(&str, &[u8]); 4] = [
        ("stored state", &stored.after),
        ("delta", &stored.delta),
        ("state before", before.unwrap_or_default()),
        ("delta as v1", &v1),
    ];
    let ctx = Ctx {
        test: READER_TEST,
        seed: stored.seed,
        step: stored.step,
        op: &op,
        inputs: &inputs,
        tally: None,
    };
    compare(
        &ctx,
        "materialize",
        &reference::materialize(&stored.after, &limits),
        &row_crdt::materialize(&stored.after, &limits),
    );
    for (what, update, format) in [
        (
            "re-ingest delta v2",
            stored.delta.as_slice(),
            UpdateFormat::V2,
        ),
        ("re-ingest delta v1", v1.as_slice(), UpdateFormat::V1),
    ] {
        compare(
            &ctx,
            what,
            &reference::ingest(Some(&stored.after), update, format, Some(DOC_ID), &limits),
            &row_crdt::ingest(Some(&stored.after), update, format, Some(DOC_ID), &limits),
        );
    }
    compare(
        &ctx,
        "ingest delta into state before",
        &reference::ingest(
            before,
            &stored.delta,
            UpdateFormat::V2,
            Some(DOC_ID),
            &limits,
        ),
        &row_crdt::ingest(
            before,
            &stored.delta,
            UpdateFormat::V2,
            Some(DOC_ID),
            &limits,
        ),
    );
    for (what, sv) in [
        ("diff against nothing", &[][..]),
        ("diff against before", &sv_before),
    ] {
        compare(
            &ctx,
            what,
            &reference::diff(&stored.after, sv),
            &row_crdt::diff(&stored.after, sv),
        );
    }
}

#[test]
fn row_crdt_matches_yrs_on_random_histories() {
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut add = |scenario: Scenario| {
        for (kind, n) in scenario.tally.into_inner() {
            *tally.entry(kind).or_default() += n;
        }
    };
    for seed in seeds(scenario_count()) {
        let mut scenario = Scenario::new(MAIN_TEST, seed, Mode::Differential, None);
        scenario.run(OPS_PER_SCENARIO);
        add(scenario);
    }
    // One hot row, compared step by step. It runs whatever the seeds, so a failure it reports
    // replays with any ROW_CRDT_SEED.
    let mut hot = Scenario::new(
        MAIN_TEST,
        BASE_SEED - 1,
        Mode::Differential,
        Some(HOT_WRITERS),
    );
    hot.hot_row(HOT_EDITS_COMPARED);
    add(hot);
    eprintln!("{MAIN_TEST}: outcomes compared: {tally:#?}");
    if std::env::var("ROW_CRDT_SEED").is_err() {
        // The generators must keep reaching every path worth comparing; a change that made,
        // say, every delivery fail would otherwise pass silently.
        for kind in [
            "ingest: changed",
            "ingest: unchanged",
            "ingest: MISSING_DEPENDENCIES",
            "ingest: INVALID_DELTA",
            "ingest: TOO_LARGE",
            "change: delta",
            "change: no delta",
            "change: INVALID_ARGUMENT",
            "merge: ok",
            "merge: INVALID_DELTA",
            "diff: ok",
            "diff: INVALID_ARGUMENT",
            "materialize: ok",
        ] {
            let seen = tally.get(kind).copied().unwrap_or(0);
            assert!(seen >= 3, "only {seen} outcomes {kind:?} in {tally:#?}");
        }
    }
}

#[test]
fn row_crdt_reads_every_state_the_engine_wrote() {
    let mut stored = Vec::new();
    for seed in seeds(scenario_count().div_ceil(4)) {
        let mut scenario = Scenario::new(READER_TEST, seed, Mode::ReferenceOnly, None);
        scenario.run(OPS_PER_SCENARIO);
        stored.append(&mut scenario.stored);
    }
    let mut hot = Scenario::new(
        READER_TEST,
        BASE_SEED - 2,
        Mode::ReferenceOnly,
        Some(HOT_WRITERS),
    );
    hot.hot_row(HOT_EDITS);
    // The last state holds every writer's edits: at least HOT_EDITS clock units (one per
    // overwritten value) from each of HOT_WRITERS clients.
    let heavy = hot
        .server_sv
        .iter()
        .filter(|(_, &clock)| clock as usize >= HOT_EDITS)
        .count();
    assert!(
        heavy >= HOT_WRITERS,
        "only {heavy} clients made {HOT_EDITS} edits"
    );
    // The hot row's consecutive states differ by a few structs and each check costs some 20 ms
    // in the debug profile: every fourth is checked, and the last ones (the hottest) all.
    let last = hot.stored.len().saturating_sub(4);
    let hot_sample = hot
        .stored
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 4 == 0 || *i >= last)
        .map(|(_, state)| state);
    stored.extend(hot_sample);
    for state in &stored {
        check_stored(state);
    }
}

/// The comparison itself can fail, and its report carries what a replay needs.
#[test]
fn harness_reports_a_perturbed_outcome() {
    let create = |title: &str| {
        let mut row = Fields::new();
        row.insert("id".into(), Value::String(DOC_ID.into()));
        row.insert("title".into(), Value::String(title.into()));
        reference::change(
            None,
            None,
            Some(&row),
            Some(DOC_ID),
            SERVER_CLIENT_ID,
            1.0,
            &Limits::default(),
        )
        .expect("a valid row")
    };
    // Same ids, same structs, one value different: only the content check can tell them apart.
    let honest = create("a");
    let perturbed = create("b");
    let state = honest.state.clone();
    let inputs: [(&str, &[u8]); 1] = [("state", &state)];
    let ctx = Ctx {
        test: MAIN_TEST,
        seed: 0xabc,
        step: 7,
        op: "perturbed delta",
        inputs: &inputs,
        tally: None,
    };
    let honest: Result<ChangeOutcome, EngineError> = Ok(honest);
    compare(&ctx, "honest", &honest, &honest.clone());
    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        compare(&ctx, "change", &honest, &Ok(perturbed))
    }))
    .expect_err("a perturbed delta is reported");
    let message = report
        .downcast_ref::<String>()
        .expect("the report is a formatted message");
    let why = if compare::strict() {
        "change: delta"
    } else {
        "change: delta: the updates hold different structs"
    };
    for needle in [
        why,
        "seed 0x0000000000000abc",
        "step 7",
        "perturbed delta",
        &hex(&state),
    ] {
        assert!(
            message.contains(needle),
            "report lacks {needle:?}: {message}"
        );
    }
    // The same state vector entries in another order are the same state vector (yjs writes
    // them by client descending, yrs in its hash map's order).
    if !compare::strict() {
        ctx.same_state_vector("entry order", &[2, 1, 5, 3, 9], &[2, 3, 9, 1, 5]);
    }
}
