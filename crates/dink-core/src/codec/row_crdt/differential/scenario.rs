//! The scenario driver: one row, its edge writers and the server, stepping through a random
//! history while both engines run every server-side call.

use std::cell::RefCell;
use std::collections::BTreeMap;

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::StateVector;

use super::compare::{compare, hex, Ctx, Outcome};
use super::edge::{self, Edge, EdgeOp, Style};
use super::gen::{self, Rng};
use super::{DOC_ID, NOW_MS};
use crate::codec::row_crdt;
use crate::codec::yrs_engine as reference;
use crate::codec::{IngestOutcome, Materialized, UpdateFormat, SERVER_CLIENT_ID};
use crate::error::{EngineError, ErrorCode};
use crate::limits::Limits;
use crate::value::{Fields, Value};

/// Whether the row CRDT runs beside the reference at every step, or the scenario only
/// records the states the reference wrote (for the reader test).
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Mode {
    Differential,
    ReferenceOnly,
}

/// A state the reference engine stored, with the delta that produced it.
pub(super) struct Stored {
    pub seed: u64,
    pub step: usize,
    /// The call that stored it, as a failure report names it.
    pub origin: String,
    pub before: Option<Vec<u8>>,
    pub delta: Vec<u8>,
    pub after: Vec<u8>,
}

/// An update on its way to the server.
#[derive(Clone)]
struct Delivery {
    /// The edge that sent it (it resends a diff when told MISSING_DEPENDENCIES).
    from: Option<usize>,
    bytes: Vec<u8>,
    format: UpdateFormat,
    what: String,
}

/// One row's history: its edges, the updates in flight to the server, and each engine's
/// stored state.
pub(super) struct Scenario {
    test: &'static str,
    seed: u64,
    mode: Mode,
    rng: Rng,
    step: usize,
    /// What the current step does, for failure reports.
    op: String,
    edges: Vec<Edge>,
    inbox: Vec<Delivery>,
    /// Recent updates (edge transactions and diffs, server deltas), for merge.
    captured: Vec<(UpdateFormat, Vec<u8>)>,
    /// Each engine's stored state (equal at all times, but each engine is fed its own).
    reference: Option<Vec<u8>>,
    row_crdt: Option<Vec<u8>>,
    /// The reference's state vector, from its last outcome (decoding the state for it at every
    /// step would double the cost of a hot row).
    pub server_sv: StateVector,
    /// The states (reference, row CRDT) last materialized: materialize is a function of the
    /// state alone, so a step that left both states as they were needs no new comparison.
    materialized: Option<(Vec<u8>, Vec<u8>)>,
    /// How often each call ended each way ("ingest: MISSING_DEPENDENCIES"): the main test
    /// checks the histories reach every path worth comparing.
    pub tally: RefCell<BTreeMap<String, usize>>,
    /// Mode::ReferenceOnly: every state the reference stored.
    pub stored: Vec<Stored>,
}

fn format_of(rng: &mut Rng) -> UpdateFormat {
    if rng.chance(50) {
        UpdateFormat::V1
    } else {
        UpdateFormat::V2
    }
}

impl Scenario {
    /// A scenario of `writers` edges (2-5, drawn from the seed, when `None`).
    pub(super) fn new(test: &'static str, seed: u64, mode: Mode, writers: Option<usize>) -> Self {
        let mut rng = Rng::new(seed);
        let writers = writers.unwrap_or_else(|| rng.range(2, 5));
        let mut clients: Vec<u64> = Vec::new();
        while clients.len() < writers {
            // Mostly 32-bit ids as yjs draws them (both below and above the server's id, which
            // decides concurrent conflicts), sometimes a 53-bit one as yrs may draw.
            let client = if rng.chance(90) {
                1 + rng.next() % u64::from(u32::MAX)
            } else {
                1 + rng.next() % ((1 << 53) - 1)
            };
            if client != SERVER_CLIENT_ID && !clients.contains(&client) {
                clients.push(client);
            }
        }
        Scenario {
            test,
            seed,
            mode,
            rng,
            step: 0,
            op: String::new(),
            edges: clients.into_iter().map(Edge::new).collect(),
            inbox: Vec::new(),
            captured: Vec::new(),
            reference: None,
            row_crdt: None,
            server_sv: StateVector::default(),
            materialized: None,
            tally: RefCell::default(),
            stored: Vec::new(),
        }
    }

    fn differential(&self) -> bool {
        self.mode == Mode::Differential
    }

    fn now(&self) -> f64 {
        NOW_MS + 1000.0 * self.step as f64
    }

    /// The inputs of a call on the stored state, for a failure report: the reference's state,
    /// the row CRDT's when its bytes differ (an equivalent encoding), then `rest`.
    fn inputs<'a>(
        &'a self,
        state: &'a [u8],
        rest: &[(&'a str, &'a [u8])],
    ) -> Vec<(&'a str, &'a [u8])> {
        let mut inputs = vec![("state", state)];
        if let Some(mine) = self.row_crdt.as_deref().filter(|mine| *mine != state) {
            inputs.push(("row CRDT's state", mine));
        }
        inputs.extend_from_slice(rest);
        inputs
    }

    /// Compares two outputs of the current step.
    fn check<T: Outcome>(
        &self,
        inputs: &[(&str, &[u8])],
        what: &str,
        reference: &Result<T, EngineError>,
        row_crdt: &Result<T, EngineError>,
    ) {
        let ctx = Ctx {
            test: self.test,
            seed: self.seed,
            step: self.step,
            op: &self.op,
            inputs,
            tally: Some(&self.tally),
        };
        compare(&ctx, what, reference, row_crdt);
        let kind = match reference {
            Ok(outcome) => outcome.kind(),
            Err(err) => err.code.as_str(),
        };
        *self
            .tally
            .borrow_mut()
            .entry(format!("{what}: {kind}"))
            .or_default() += 1;
    }

    /// Mostly the default limits; sometimes one of them tight enough to be hit, so the engines
    /// must agree on which check fires first.
    fn limits(&mut self) -> Limits {
        let mut limits = Limits::default();
        if self.rng.chance(3) {
            match self.rng.below(6) {
                0 => limits.max_update_bytes = self.rng.range(8, 200),
                1 => limits.max_state_bytes = self.rng.range(50, 600),
                2 => limits.max_row_bytes = self.rng.range(40, 400),
                3 => limits.max_depth = self.rng.range(1, 3),
                4 => limits.max_fields = self.rng.range(1, 4),
                _ => limits.max_pending_structs = self.rng.below(3),
            }
        }
        limits
    }

    /// Mostly the document id; sometimes `None`, as the older wasm signature passes.
    fn doc_id(&mut self) -> Option<&'static str> {
        (!self.rng.chance(5)).then_some(DOC_ID)
    }

    /// Keeps an update for later merges: at most 40, a random one evicted when full, so
    /// merges mix recent and older updates.
    fn capture(&mut self, format: UpdateFormat, bytes: &[u8]) {
        if self.captured.len() >= 40 {
            let evicted = self.rng.below(self.captured.len());
            self.captured.swap_remove(evicted);
        }
        self.captured.push((format, bytes.to_vec()));
    }

    fn server_sv(&self) -> StateVector {
        self.server_sv.clone()
    }

    /// Keeps what the reference stored, and its state vector.
    fn store(&mut self, state: Vec<u8>, state_vector: &[u8]) {
        self.server_sv =
            StateVector::decode_v1(state_vector).expect("the engine writes valid state vectors");
        self.reference = Some(state);
    }

    /// Ingests into the stored states on both engines, compares, and stores what each returned.
    fn ingest(&mut self, what: &str, update: &[u8], format: UpdateFormat) -> IngestResult {
        let doc_id = self.doc_id();
        let limits = self.limits();
        self.op = format!("{what}: ingest {format:?}, doc id {doc_id:?}, {limits:?}");
        let before = self.reference.clone();
        let reference = reference::ingest(before.as_deref(), update, format, doc_id, &limits);
        if self.differential() {
            let row_crdt =
                row_crdt::ingest(self.row_crdt.as_deref(), update, format, doc_id, &limits);
            let state = before.as_deref().unwrap_or_default();
            let inputs = self.inputs(state, &[("update", update)]);
            self.check(&inputs, "ingest", &reference, &row_crdt);
            if let Ok(outcome) = &row_crdt {
                self.row_crdt = Some(outcome.state.clone());
            }
        }
        if let Ok(outcome) = &reference {
            if outcome.changed {
                self.capture(UpdateFormat::V2, &outcome.delta);
                self.record(before, &outcome.delta, &outcome.state);
            }
            self.store(outcome.state.clone(), &outcome.state_vector);
        }
        reference
    }

    /// Applies a Convex-side write on both engines, compares, stores.
    fn change(&mut self, what: &str, old: Option<&Fields>, new: Option<&Fields>, client: u64) {
        let doc_id = self.doc_id();
        let limits = self.limits();
        let now = self.now();
        self.op = format!(
            "{what}: change, doc id {doc_id:?}, client {client}, now {now}, {limits:?}\n  old: {old:?}\n  new: {new:?}"
        );
        let before = self.reference.clone();
        let reference =
            reference::change(before.as_deref(), old, new, doc_id, client, now, &limits);
        if self.differential() {
            let row_crdt = row_crdt::change(
                self.row_crdt.as_deref(),
                old,
                new,
                doc_id,
                client,
                now,
                &limits,
            );
            let state = before.as_deref().unwrap_or_default();
            let inputs = self.inputs(state, &[]);
            self.check(&inputs, "change", &reference, &row_crdt);
            if let Ok(outcome) = &row_crdt {
                self.row_crdt = Some(outcome.state.clone());
            }
        }
        if let Ok(outcome) = reference {
            if let Some(delta) = &outcome.delta {
                self.capture(UpdateFormat::V2, delta);
                self.record(before, delta, &outcome.state);
            }
            self.store(outcome.state, &outcome.state_vector);
        }
    }

    fn record(&mut self, before: Option<Vec<u8>>, delta: &[u8], after: &[u8]) {
        if self.mode == Mode::ReferenceOnly {
            self.stored.push(Stored {
                seed: self.seed,
                step: self.step,
                origin: self.op.clone(),
                before,
                delta: delta.to_vec(),
                after: after.to_vec(),
            });
        }
    }

    /// The server's diff for a peer at `sv` (standard encoding), compared across engines.
    /// Returns the reference's diff, or half the time the row CRDT's (equal content, but maybe
    /// other bytes), so edges also integrate what the row CRDT writes.
    fn diff(&mut self, sv: &[u8]) -> Result<Vec<u8>, EngineError> {
        let state = self.reference.clone().unwrap_or_default();
        let reference = reference::diff(&state, sv);
        if self.differential() {
            let mine = self.row_crdt.clone().unwrap_or_default();
            let row_crdt = row_crdt::diff(&mine, sv);
            let inputs = self.inputs(&state, &[("state vector", sv)]);
            self.check(&inputs, "diff", &reference, &row_crdt);
            if self.rng.chance(50) {
                return row_crdt;
            }
        }
        reference
    }

    /// The reads that follow every step: the materialized row (when the state changed), and a
    /// diff against the state vector of a random edge (or an empty, the server's own, or a
    /// malformed one).
    fn check_reads(&mut self) {
        if !self.differential() {
            return;
        }
        let (Some(reference_state), Some(crdt_state)) = (&self.reference, &self.row_crdt) else {
            return;
        };
        let states = (reference_state.clone(), crdt_state.clone());
        if self.materialized.as_ref() != Some(&states) {
            let limits = Limits::default();
            let reference = reference::materialize(&states.0, &limits);
            let row_crdt = row_crdt::materialize(&states.1, &limits);
            let inputs = self.inputs(&states.0, &[]);
            self.check(&inputs, "materialize", &reference, &row_crdt);
            self.materialized = Some(states);
        }
        let sv = match self.rng.below(20) {
            0 => Vec::new(),
            1 => vec![0],
            2 => self.server_sv().encode_v1(),
            // Truncated or trailing bytes: both must refuse it the same way.
            3 => {
                let mut sv = self.edges[0].state_vector().encode_v1();
                if self.rng.chance(50) {
                    sv.pop();
                } else {
                    sv.push(self.rng.next() as u8);
                }
                sv
            }
            _ => {
                let e = self.rng.below(self.edges.len());
                self.edges[e].state_vector().encode_v1()
            }
        };
        self.op = format!("{} (then the reads)", self.op);
        let _ = self.diff(&sv);
    }

    /// Creates the row, runs `ops` random steps, then lets every edge catch up.
    pub(super) fn run(&mut self, ops: usize) {
        self.create_row();
        for step in 1..=ops {
            self.step = step;
            match self.rng.below(100) {
                0..=27 => self.edge_write(),
                28..=57 => self.deliver(),
                58..=62 => self.edge_resend(),
                63..=69 => self.edge_sync(),
                70..=79 => self.edge_pull(),
                80..=91 => self.server_change(),
                92..=96 => self.merge(),
                _ => self.ingest_fresh(),
            }
            self.check_reads();
        }
        // Everyone catches up: each edge sends what the server lacks and pulls the rest.
        self.step = ops + 1;
        for e in 0..self.edges.len() {
            self.push_diff(e, &self.server_sv(), false);
            self.pull(e);
        }
        self.check_reads();
    }

    /// The server creates the row; some edges start from its snapshot, others from nothing.
    fn create_row(&mut self) {
        let mut row = Fields::new();
        row.insert("id".into(), Value::String(DOC_ID.into()));
        for _ in 0..self.rng.below(4) {
            row.insert(gen::key(&mut self.rng).into(), gen::value(&mut self.rng, 3));
        }
        // The creation itself always uses the default limits and the document id, so every
        // scenario gets a row to work on.
        self.op = format!("create: change(None, None, {row:?})");
        let limits = Limits::default();
        let now = self.now();
        let reference = reference::change(
            None,
            None,
            Some(&row),
            Some(DOC_ID),
            SERVER_CLIENT_ID,
            now,
            &limits,
        );
        if self.differential() {
            let row_crdt = row_crdt::change(
                None,
                None,
                Some(&row),
                Some(DOC_ID),
                SERVER_CLIENT_ID,
                now,
                &limits,
            );
            self.check(&[], "create", &reference, &row_crdt);
            self.row_crdt = row_crdt.ok().map(|o| o.state);
        }
        let created = reference.expect("the initial row is valid");
        let delta = created.delta.expect("creating a row writes");
        self.record(None, &delta, &created.state);
        self.store(created.state, &created.state_vector);
        for e in 0..self.edges.len() {
            if self.rng.chance(70) {
                self.pull(e);
            }
        }
        self.check_reads();
    }

    /// An edge transaction of 1-4 writes; its update is queued for the server (once, twice, in
    /// both formats) or dropped, to be resent later as a diff.
    fn edge_write(&mut self) {
        let e = self.rng.below(self.edges.len());
        let now = self.now();
        let ops: Vec<EdgeOp> = (0..self.rng.range(1, 4))
            .map(|_| edge::random_op(&mut self.rng, DOC_ID, now))
            .collect();
        let style = Style::random(&mut self.rng);
        self.op = format!("edge {e} (client {}) writes {ops:?}", self.edges[e].client);
        let written = self.edges[e].write(&ops, style);
        self.capture(UpdateFormat::V1, &written.v1);
        self.capture(UpdateFormat::V2, &written.v2);
        let what = format!("edge {e} transaction at step {}", self.step);
        let v1 = Delivery {
            from: Some(e),
            bytes: written.v1,
            format: UpdateFormat::V1,
            what: format!("{what} (v1)"),
        };
        let v2 = Delivery {
            bytes: written.v2,
            format: UpdateFormat::V2,
            what: format!("{what} (v2)"),
            ..v1.clone()
        };
        match self.rng.below(10) {
            0 => {}
            1 => self.inbox.extend([v1, v2]),
            2 => self.inbox.extend([v1.clone(), v1]),
            _ => self.inbox.push(if self.rng.chance(50) { v1 } else { v2 }),
        }
    }

    /// Delivers a random queued update (sometimes leaving a copy queued, sometimes corrupted).
    /// An edge told MISSING_DEPENDENCIES usually resends a diff against the returned vector.
    fn deliver(&mut self) {
        if self.inbox.is_empty() {
            return self.edge_resend();
        }
        let i = self.rng.below(self.inbox.len());
        let mut delivery = if self.rng.chance(15) {
            self.inbox[i].clone()
        } else {
            self.inbox.swap_remove(i)
        };
        if self.rng.chance(4) {
            self.corrupt(&mut delivery);
        }
        let result = self.ingest(
            &format!("deliver {}", delivery.what),
            &delivery.bytes,
            delivery.format,
        );
        if let (Err(err), Some(e)) = (&result, delivery.from) {
            if err.code == ErrorCode::MissingDependencies && self.rng.chance(60) {
                let sv = err
                    .state_vector
                    .as_deref()
                    .map(|sv| StateVector::decode_v1(sv).expect("the engine's state vector"))
                    .expect("MISSING_DEPENDENCIES carries the server's state vector");
                self.push_diff(e, &sv, true);
            }
        }
    }

    /// Damages a delivery: truncated, a byte flipped, a byte appended, or labelled with the
    /// other format. Whatever the engines make of it, they must make the same.
    fn corrupt(&mut self, delivery: &mut Delivery) {
        let bytes = &mut delivery.bytes;
        let at = self.rng.below(bytes.len());
        let how = match self.rng.below(4) {
            0 => {
                bytes.truncate(at);
                "truncated"
            }
            1 => {
                bytes[at] ^= 1 << self.rng.below(8);
                "a bit flipped"
            }
            2 => {
                bytes.push(self.rng.next() as u8);
                "a byte appended"
            }
            _ => {
                delivery.format = match delivery.format {
                    UpdateFormat::V1 => UpdateFormat::V2,
                    UpdateFormat::V2 => UpdateFormat::V1,
                };
                "mislabelled"
            }
        };
        delivery.what = format!("{}, {how} at {at}", delivery.what);
        delivery.from = None;
    }

    /// Edge `e` sends the server everything it has beyond `sv`: delivered now or, when
    /// `may_queue`, sometimes queued behind other deliveries.
    fn push_diff(&mut self, e: usize, sv: &StateVector, may_queue: bool) {
        let format = format_of(&mut self.rng);
        let style = Style::random(&mut self.rng);
        let bytes = self.edges[e].diff(sv, format, style);
        self.capture(format, &bytes);
        let delivery = Delivery {
            from: Some(e),
            bytes,
            format,
            what: format!(
                "edge {e} diff against {} (made at step {})",
                hex(&sv.encode_v1()),
                self.step
            ),
        };
        if may_queue && self.rng.chance(30) {
            self.inbox.push(delivery);
        } else {
            let _ = self.ingest(&delivery.what, &delivery.bytes, delivery.format);
        }
    }

    /// An edge resends a diff against an older state of its own, an empty one (its whole
    /// state), or the server's current state vector.
    fn edge_resend(&mut self) {
        let e = self.rng.below(self.edges.len());
        let sv = match self.rng.below(4) {
            0 => StateVector::default(),
            1 => self.server_sv(),
            _ => {
                let history = &self.edges[e].history;
                history[self.rng.below(history.len())].clone()
            }
        };
        self.push_diff(e, &sv, true);
    }

    /// Edge `b` receives edge `a`'s diff: `b`'s later writes depend on structs of `a` the
    /// server may not have yet.
    fn edge_sync(&mut self) {
        let a = self.rng.below(self.edges.len());
        let b = self.rng.below(self.edges.len());
        self.op = format!("edge {b} syncs from edge {a}");
        let format = format_of(&mut self.rng);
        let style = Style::random(&mut self.rng);
        let update = self.edges[a].diff(&self.edges[b].state_vector(), format, style);
        self.edges[b].apply(&update, format);
    }

    /// Edge `e` pulls the server's diff against its state vector.
    fn pull(&mut self, e: usize) {
        let sv = self.edges[e].state_vector().encode_v1();
        self.op = format!("edge {e} pulls the server's diff against {}", hex(&sv));
        if let Ok(update) = self.diff(&sv) {
            self.edges[e].apply(&update, UpdateFormat::V2);
        }
    }

    fn edge_pull(&mut self) {
        let e = self.rng.below(self.edges.len());
        self.pull(e);
    }

    /// A Convex-side write: field edits, a delete or a restore, with `old` mostly the row as
    /// the CRDT has it, sometimes stale (drift) or absent.
    fn server_change(&mut self) {
        let current = self
            .reference
            .as_deref()
            .map(|state| reference::materialize(state, &Limits::default()))
            .and_then(Result::ok)
            .unwrap_or(Materialized {
                fields: Fields::new(),
                deleted: false,
            });
        let new = if !current.deleted && self.rng.chance(12) {
            None
        } else {
            Some(gen::server_write(&mut self.rng, &current.fields, DOC_ID))
        };
        let old = match self.rng.below(10) {
            0 => None,
            1 => Some(gen::server_write(&mut self.rng, &current.fields, DOC_ID)),
            _ => Some(current.fields.clone()),
        };
        let client = if self.rng.chance(1) {
            0
        } else {
            SERVER_CLIENT_ID
        };
        let what = match (&new, current.deleted) {
            (None, _) => "server deletes the row",
            (Some(_), true) => "server restores the row",
            (Some(_), false) => "server writes fields",
        };
        self.change(what, old.as_ref(), new.as_ref(), client);
    }

    /// Merges 1-4 recent updates of one format (rarely none) on both engines; the result is
    /// sometimes sent to the server, as an edge batching offline updates would.
    fn merge(&mut self) {
        let format = format_of(&mut self.rng);
        let pool: Vec<&Vec<u8>> = self
            .captured
            .iter()
            .filter(|(f, _)| *f == format)
            .map(|(_, bytes)| bytes)
            .collect();
        let count = if pool.is_empty() || self.rng.chance(2) {
            0
        } else {
            self.rng.range(1, 4)
        };
        let updates: Vec<&[u8]> = (0..count)
            .map(|_| pool[self.rng.below(pool.len())].as_slice())
            .collect();
        self.op = format!("merge {count} {format:?} updates");
        let reference = reference::merge(&updates, format);
        if self.differential() {
            let row_crdt = row_crdt::merge(&updates, format);
            let names: Vec<String> = (0..count).map(|i| format!("update {i}")).collect();
            let inputs: Vec<(&str, &[u8])> = names
                .iter()
                .map(String::as_str)
                .zip(updates.iter().copied())
                .collect();
            self.check(&inputs, "merge", &reference, &row_crdt);
        }
        if let Ok(merged) = reference {
            if self.rng.chance(50) {
                self.inbox.push(Delivery {
                    from: None,
                    bytes: merged,
                    format: UpdateFormat::V2,
                    what: format!("merge of {count} {format:?} updates at step {}", self.step),
                });
            }
        }
    }

    /// Ingests an edge's whole state as if the server had never seen the row (`state` None):
    /// compared, not stored.
    fn ingest_fresh(&mut self) {
        if !self.differential() {
            return;
        }
        let e = self.rng.below(self.edges.len());
        let format = format_of(&mut self.rng);
        let style = Style::random(&mut self.rng);
        let update = self.edges[e].diff(&StateVector::default(), format, style);
        let doc_id = self.doc_id();
        self.op = format!("edge {e} whole state into no state: ingest {format:?}, {doc_id:?}");
        let limits = Limits::default();
        let reference = reference::ingest(None, &update, format, doc_id, &limits);
        let row_crdt = row_crdt::ingest(None, &update, format, doc_id, &limits);
        self.check(&[("update", &update)], "ingest", &reference, &row_crdt);
    }

    /// The hot row: many writers editing one key, interleaved through the server. Each writer
    /// mostly builds on what it last pulled, so every value it overwrites is some other
    /// client's struct, and the state fills with overwritten (garbage-collected) values.
    pub(super) fn hot_row(&mut self, edits_per_writer: usize) {
        self.create_row();
        for e in 0..self.edges.len() {
            self.pull(e);
        }
        let mut edits = vec![0; self.edges.len()];
        while edits.iter().any(|&n| n < edits_per_writer) {
            self.step += 1;
            let e = self.rng.below(self.edges.len());
            if self.rng.chance(15) {
                self.push_diff(e, &self.server_sv(), false);
                self.pull(e);
            } else if self.rng.chance(4) {
                let mut row = self
                    .reference
                    .as_deref()
                    .map(|s| reference::materialize(s, &Limits::default()))
                    .and_then(Result::ok)
                    .map(|row| row.fields)
                    .unwrap_or_default();
                let old = row.clone();
                row.insert("hot".into(), gen::value(&mut self.rng, 0));
                self.change(
                    "server writes the hot key",
                    Some(&old),
                    Some(&row),
                    SERVER_CLIENT_ID,
                );
            } else {
                let mut ops = vec![EdgeOp::Set("hot".into(), gen::value(&mut self.rng, 0))];
                if self.rng.chance(10) {
                    ops.push(EdgeOp::Set(gen::key(&mut self.rng).into(), Value::Null));
                }
                self.op = format!("hot row: edge {e} writes {ops:?}");
                let style = Style::random(&mut self.rng);
                self.edges[e].write(&ops, style);
                edits[e] += 1;
            }
            // Reads are compared now and then: the row is large and the steps are many.
            if self.step % 16 == 0 {
                self.check_reads();
            }
        }
        for e in 0..self.edges.len() {
            self.push_diff(e, &self.server_sv(), false);
        }
        self.check_reads();
    }
}

type IngestResult = Result<IngestOutcome, EngineError>;
