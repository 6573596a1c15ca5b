//! Comparing the two engines' outputs, and a failure report that is enough to reproduce the
//! mismatch: the seed and step to replay, the operation, and every input in hex.
//!
//! Everything is compared exactly except the two kinds of bytes an encoder may legitimately
//! write in more than one way (unless `ROW_CRDT_STRICT=1`, which demands equal bytes throughout):
//!
//! * a state vector's entries come in any order: yjs writes them by client descending, yrs in
//!   its hash map's order. Equal when they hold the same (client, clock) pairs.
//! * an update (stored state, delta, diff, merge) may cut runs into structs differently (yjs and
//!   yrs merge neighbouring structs in different cases) and order its delete set differently.
//!   Equal when yrs decodes both to the same state vector, inserted clock ranges and deleted
//!   ranges, and the row CRDT's `normalized` form (one struct per clock unit, delete set
//!   sorted) is the same bytes. The first three are judged by yrs, independently of the row
//!   CRDT's decoder; the last checks what each clock unit holds and where it was placed.
//!
//! Each comparison that needed an equivalence is counted, so a run shows how often bytes
//! differed.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::{self, Debug, Write as _};
use std::sync::OnceLock;

use yrs::updates::decoder::Decode;
use yrs::{IdSet, StateVector, Update};

use crate::codec::row_crdt;
use crate::codec::yrs_engine as reference;
use crate::codec::{ChangeOutcome, IngestOutcome, Materialized, UpdateFormat};
use crate::error::EngineError;

/// Bytes shown as hex (outcomes' `Debug` would print decimal lists).
#[derive(PartialEq)]
pub(super) struct Hex<'a>(pub &'a [u8]);

impl Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    format!("{:?}", Hex(bytes))
}

/// `ROW_CRDT_STRICT=1`: every byte must be equal, no equivalences.
pub(super) fn strict() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT
        .get_or_init(|| std::env::var("ROW_CRDT_STRICT").is_ok_and(|v| !v.is_empty() && v != "0"))
}

/// Where a comparison happens: the scenario's seed, its step and operation, and the inputs of
/// the call being compared (name, bytes).
pub(super) struct Ctx<'a> {
    pub test: &'static str,
    pub seed: u64,
    pub step: usize,
    pub op: &'a str,
    pub inputs: &'a [(&'a str, &'a [u8])],
    /// Where comparisons that needed an equivalence are counted, if anywhere.
    pub tally: Option<&'a RefCell<BTreeMap<String, usize>>>,
}

impl Ctx<'_> {
    pub(super) fn fail(&self, what: &str, reference: &dyn Debug, row_crdt: &dyn Debug) -> ! {
        let mut msg = format!(
            "row CRDT differs from the yrs engine: {what}\n  seed {:#018x}, step {}, op: {}\n",
            self.seed, self.step, self.op
        );
        for (name, bytes) in self.inputs {
            let _ = writeln!(
                msg,
                "  input {name} ({} bytes): {:?}",
                bytes.len(),
                Hex(bytes)
            );
        }
        let _ = writeln!(
            msg,
            "  yrs engine: {reference:?}\n  row CRDT:   {row_crdt:?}"
        );
        let _ = write!(
            msg,
            "  replay: ROW_CRDT_SEED={:#x} cargo test -p dink-core {}",
            self.seed, self.test
        );
        panic!("{msg}")
    }

    pub(super) fn same<T: PartialEq + Debug>(&self, what: &str, reference: T, row_crdt: T) {
        if reference != row_crdt {
            self.fail(what, &reference, &row_crdt);
        }
    }

    fn count(&self, what: String) {
        if let Some(tally) = self.tally {
            *tally.borrow_mut().entry(what).or_default() += 1;
        }
    }

    /// Two state vectors (standard encoding): equal bytes, or the same entries.
    pub(super) fn same_state_vector(&self, what: &str, reference: &[u8], row_crdt: &[u8]) {
        if reference == row_crdt {
            return;
        }
        if !strict() {
            if let (Some(r), Some(c)) = (sv_entries(reference), sv_entries(row_crdt)) {
                if r == c {
                    return self.count(format!("equivalent: {what} (entry order)"));
                }
            }
        }
        self.fail(what, &Hex(reference), &Hex(row_crdt));
    }

    /// Two deltas of one call: as [`Ctx::same_update`], except that their delete sets may
    /// differ in clocks the state before the call had deleted already. yrs forwards an update's
    /// delete ranges whole; the row CRDT, as yjs, forwards what the call newly deleted.
    pub(super) fn same_delta(&self, what: &str, reference: &[u8], row_crdt: &[u8]) {
        if reference == row_crdt || strict() {
            return self.same_update(what, reference, row_crdt);
        }
        let prior = self
            .inputs
            .iter()
            .find(|(name, _)| *name == "state" || *name == "state before")
            .map(|(_, bytes)| *bytes)
            .filter(|bytes| !bytes.is_empty());
        let split = |bytes| row_crdt::normalized_split(bytes, UpdateFormat::V2);
        if let (Ok((r, r_ds)), Ok((c, c_ds))) = (split(reference), split(row_crdt)) {
            if r == c {
                // GC ranges count as deleted in the normalized delete sets, so a GC struct the
                // update carried (yrs lists it in the delta's delete set, yjs does not) matches.
                let known = prior
                    .and_then(|prior| split(prior).ok())
                    .map(|(_, ds)| ds)
                    .unwrap_or_default();
                if subtract(&r_ds, &known) == subtract(&c_ds, &known) {
                    return self.count(format!(
                        "equivalent: {what} (already deleted clocks left out)"
                    ));
                }
            }
        }
        self.same_update(what, reference, row_crdt)
    }

    /// Two v2 updates: equal bytes, or the same content (see the module docs).
    pub(super) fn same_update(&self, what: &str, reference: &[u8], row_crdt: &[u8]) {
        if reference == row_crdt {
            return;
        }
        if strict() {
            self.fail(what, &Hex(reference), &Hex(row_crdt));
        }
        match equivalent_updates(reference, row_crdt) {
            Ok(()) => self.count(format!(
                "equivalent: {what} (struct runs, delete set order)"
            )),
            Err(why) => self.fail(&format!("{what}: {why}"), &Hex(reference), &Hex(row_crdt)),
        }
    }
}

/// The clock units of `ranges` (client, clock, length) that `minus` does not hold, one entry
/// per unit (test-sized inputs).
fn subtract(ranges: &[(u64, u32, u32)], minus: &[(u64, u32, u32)]) -> Vec<(u64, u32)> {
    let held = |client: u64, clock: u32| {
        minus
            .iter()
            .any(|&(c, start, len)| c == client && start <= clock && clock - start < len)
    };
    ranges
        .iter()
        .flat_map(|&(client, start, len)| (start..start + len).map(move |clock| (client, clock)))
        .filter(|&(client, clock)| !held(client, clock))
        .collect()
}

fn sv_entries(bytes: &[u8]) -> Option<BTreeMap<u64, u32>> {
    let sv = StateVector::decode_v1(bytes).ok()?;
    Some(
        sv.iter()
            .map(|(client, &clock)| (client.get(), clock))
            .collect(),
    )
}

/// An id set as sorted, merged clock ranges per client, so equal sets compare equal however
/// their ranges were cut.
fn ranges(set: &IdSet) -> BTreeMap<u64, Vec<(u32, u32)>> {
    let mut out = BTreeMap::new();
    for (client, ranges) in set.iter() {
        let mut sorted: Vec<(u32, u32)> = ranges.iter().map(|r| (r.start, r.end)).collect();
        sorted.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(sorted.len());
        for (start, end) in sorted {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        if !merged.is_empty() {
            out.insert(client.get(), merged);
        }
    }
    out
}

fn decode(bytes: &[u8]) -> Result<Update, String> {
    // The engine's own pre-scan first: yrs' decoder can panic on malformed bytes.
    reference::state_vector(bytes, UpdateFormat::V2)
        .map_err(|e| format!("not a well-formed update v2 ({e})"))?;
    Update::decode_v2(bytes).map_err(|e| format!("yrs cannot decode it ({e})"))
}

fn equivalent_updates(reference: &[u8], row_crdt: &[u8]) -> Result<(), String> {
    let r = decode(reference).map_err(|e| format!("yrs engine's update: {e}"))?;
    let c = decode(row_crdt).map_err(|e| format!("row CRDT's update: {e}"))?;
    if r.state_vector() != c.state_vector() {
        return Err("the updates' state vectors differ".into());
    }
    if ranges(&r.insertions(true)) != ranges(&c.insertions(true)) {
        return Err("the updates insert different clock ranges".into());
    }
    if ranges(r.delete_set()) != ranges(c.delete_set()) {
        return Err(format!(
            "the updates delete different ranges: {:?} vs {:?}",
            ranges(r.delete_set()),
            ranges(c.delete_set())
        ));
    }
    let normalized = |bytes| row_crdt::normalized(bytes, UpdateFormat::V2);
    match (normalized(reference), normalized(row_crdt)) {
        (Ok(r), Ok(c)) if r == c => Ok(()),
        (Ok(r), Ok(c)) => Err(format!(
            "the updates hold different structs (normalized: {:?} vs {:?})",
            Hex(&r),
            Hex(&c)
        )),
        (r, c) => Err(format!("normalizing failed: {r:?} vs {c:?}")),
    }
}

/// An engine output compared field by field, so a report names the first field that differs.
pub(super) trait Outcome: Debug {
    fn compare(ctx: &Ctx<'_>, what: &str, reference: &Self, row_crdt: &Self);

    /// How the call went, for the coverage tally.
    fn kind(&self) -> &'static str {
        "ok"
    }
}

impl Outcome for IngestOutcome {
    fn compare(ctx: &Ctx<'_>, what: &str, r: &Self, c: &Self) {
        ctx.same(&format!("{what}: fields"), &r.fields, &c.fields);
        ctx.same(&format!("{what}: deleted"), r.deleted, c.deleted);
        ctx.same(&format!("{what}: changed"), r.changed, c.changed);
        ctx.same_delta(&format!("{what}: delta"), &r.delta, &c.delta);
        ctx.same_state_vector(
            &format!("{what}: state vector"),
            &r.state_vector,
            &c.state_vector,
        );
        ctx.same_update(&format!("{what}: state"), &r.state, &c.state);
    }

    fn kind(&self) -> &'static str {
        if self.changed {
            "changed"
        } else {
            "unchanged"
        }
    }
}

impl Outcome for ChangeOutcome {
    fn compare(ctx: &Ctx<'_>, what: &str, r: &Self, c: &Self) {
        ctx.same(
            &format!("{what}: changed_keys"),
            &r.changed_keys,
            &c.changed_keys,
        );
        ctx.same(&format!("{what}: deleted"), r.deleted, c.deleted);
        ctx.same(&format!("{what}: drifted"), r.drifted, c.drifted);
        match (&r.delta, &c.delta) {
            (Some(r), Some(c)) => ctx.same_delta(&format!("{what}: delta"), r, c),
            (r, c) => ctx.same(
                &format!("{what}: delta"),
                r.as_deref().map(Hex),
                c.as_deref().map(Hex),
            ),
        }
        ctx.same_state_vector(
            &format!("{what}: state vector"),
            &r.state_vector,
            &c.state_vector,
        );
        ctx.same_update(&format!("{what}: state"), &r.state, &c.state);
    }

    fn kind(&self) -> &'static str {
        if self.delta.is_some() {
            "delta"
        } else {
            "no delta"
        }
    }
}

impl Outcome for Materialized {
    fn compare(ctx: &Ctx<'_>, what: &str, r: &Self, c: &Self) {
        ctx.same(&format!("{what}: fields"), &r.fields, &c.fields);
        ctx.same(&format!("{what}: deleted"), r.deleted, c.deleted);
    }
}

/// A diff or a merge: a v2 update.
impl Outcome for Vec<u8> {
    fn compare(ctx: &Ctx<'_>, what: &str, r: &Self, c: &Self) {
        ctx.same_update(&format!("{what}: update"), r, c);
    }
}

/// Compares two results: both Ok with equal outcomes, or both Err with the same code and the
/// same state vector (what a MISSING_DEPENDENCIES answer hands the edge). Messages are prose
/// and may be worded differently.
pub(super) fn compare<T: Outcome>(
    ctx: &Ctx<'_>,
    what: &str,
    reference: &Result<T, EngineError>,
    row_crdt: &Result<T, EngineError>,
) {
    match (reference, row_crdt) {
        (Ok(r), Ok(c)) => T::compare(ctx, what, r, c),
        (Err(r), Err(c)) => {
            ctx.same(&format!("{what}: error code ({r})"), r.code, c.code);
            match (&r.state_vector, &c.state_vector) {
                (Some(r), Some(c)) => {
                    ctx.same_state_vector(&format!("{what}: error state vector"), r, c)
                }
                (r, c) => ctx.same(
                    &format!("{what}: error state vector"),
                    r.as_deref().map(Hex),
                    c.as_deref().map(Hex),
                ),
            }
        }
        _ => ctx.fail(&format!("{what}: Ok/Err"), reference, row_crdt),
    }
}
