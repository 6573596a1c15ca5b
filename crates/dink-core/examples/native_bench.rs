//! Native limit for the engine benchmark (`scripts/bench.sh`, `bench/engine-bench.mjs`).
//!
//! Runs the same operations on the same dataset as the JavaScript benchmark, natively, doing
//! the same work as the wasm boundary functions (including the Convex JSON encoding of fields),
//! and prints JSON with the median of the rounds to stdout. Progress goes to stderr.
//!
//! ```text
//! node bench/engine-bench.mjs --dataset-only bench/results/tmp/dataset.bin
//! cargo run --release -p dink-core --example native_bench -- bench/results/tmp/dataset.bin
//! ```
//!
//! Env: `BENCH_ROUNDS` (default 5, at least 5); `BENCH_OPS` (comma-separated subset of ingest,
//! change, diff, merge); `DINK_ENGINE=yrs` (the yrs engine instead of the row CRDT).

use std::hint::black_box;
use std::time::Instant;

use dink_core::value::{fields_from_convex_json, fields_to_convex_json};
use dink_core::{change, diff, ingest, merge, Limits, UpdateFormat, SERVER_CLIENT_ID};

/// One row of the dataset (see `writeDataset` in bench/engine-bench.mjs).
struct Row {
    state: Vec<u8>,
    update: Vec<u8>,
    old_json: String,
    new_json: String,
    diff_state: Vec<u8>,
    diff_sv: Vec<u8>,
    merge: Vec<Vec<u8>>,
}

struct Reader<'a> {
    buf: &'a [u8],
    off: usize,
}

impl Reader<'_> {
    fn u32(&mut self) -> Result<usize, String> {
        let bytes = self
            .buf
            .get(self.off..self.off + 4)
            .ok_or("dataset truncated")?;
        self.off += 4;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
    }

    fn blob(&mut self) -> Result<Vec<u8>, String> {
        let n = self.u32()?;
        let bytes = self
            .buf
            .get(self.off..self.off + n)
            .ok_or("dataset truncated")?;
        self.off += n;
        Ok(bytes.to_vec())
    }

    fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.blob()?).map_err(|e| format!("dataset: bad UTF-8: {e}"))
    }
}

fn read_dataset(path: &str) -> Result<Vec<Row>, String> {
    let buf = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if buf.get(..8) != Some(b"DINKBEN1".as_slice()) {
        return Err(format!("{path} is not a bench dataset"));
    }
    let mut r = Reader { buf: &buf, off: 8 };
    let rows = r.u32()?;
    let merge_n = r.u32()?;
    let mut out = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut row = Row {
            state: r.blob()?,
            update: r.blob()?,
            old_json: r.string()?,
            new_json: r.string()?,
            diff_state: r.blob()?,
            diff_sv: r.blob()?,
            merge: Vec::with_capacity(merge_n),
        };
        for _ in 0..merge_n {
            row.merge.push(r.blob()?);
        }
        out.push(row);
    }
    Ok(out)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// The engine's operations: the shipped engine (the row CRDT), or with `DINK_ENGINE=yrs` (and
/// the `yrs-oracle` feature) the yrs engine it replaced (`codec::yrs_engine`), to compare the
/// two on the same data.
struct Ops {
    ingest: IngestFn,
    change: ChangeFn,
    diff: DiffFn,
    merge: MergeFn,
}

type Res<T> = Result<T, dink_core::EngineError>;
type IngestFn =
    fn(Option<&[u8]>, &[u8], UpdateFormat, Option<&str>, &Limits) -> Res<dink_core::IngestOutcome>;
type ChangeFn = fn(
    Option<&[u8]>,
    Option<&dink_core::Fields>,
    Option<&dink_core::Fields>,
    Option<&str>,
    u64,
    f64,
    &Limits,
) -> Res<dink_core::ChangeOutcome>;
type DiffFn = fn(&[u8], &[u8]) -> Res<Vec<u8>>;
type MergeFn = fn(&[&[u8]], UpdateFormat) -> Res<Vec<u8>>;

fn ops() -> Ops {
    let shipped = Ops {
        ingest,
        change,
        diff,
        merge,
    };
    match std::env::var("DINK_ENGINE").as_deref() {
        Ok("yrs") => yrs_ops(),
        _ => shipped,
    }
}

#[cfg(feature = "yrs-oracle")]
fn yrs_ops() -> Ops {
    use dink_core::codec::yrs_engine;
    Ops {
        ingest: yrs_engine::ingest,
        change: yrs_engine::change,
        diff: yrs_engine::diff,
        merge: yrs_engine::merge,
    }
}

#[cfg(not(feature = "yrs-oracle"))]
fn yrs_ops() -> Ops {
    eprintln!("DINK_ENGINE=yrs needs the yrs engine: build with --features yrs-oracle");
    std::process::exit(2);
}

/// One pass of `op` over all rows; returns milliseconds.
fn run(op: &str, rows: &[Row], limits: &Limits) -> Result<f64, String> {
    let Ops {
        ingest,
        change,
        diff,
        merge,
    } = ops();
    let start = Instant::now();
    for row in rows {
        let bytes = match op {
            // As the wasm `ingest`: decode, apply, encode, materialize, fields to Convex JSON.
            "ingest" => {
                let out = ingest(
                    Some(&row.state),
                    &row.update,
                    UpdateFormat::V2,
                    None,
                    limits,
                )
                .map_err(|e| e.to_string())?;
                black_box(fields_to_convex_json(&out.fields)).len() + out.state.len()
            }
            // As the wasm `change`: parse both rows from Convex JSON, then change.
            "change" => {
                let old = fields_from_convex_json(&row.old_json).map_err(|e| e.to_string())?;
                let new = fields_from_convex_json(&row.new_json).map_err(|e| e.to_string())?;
                let out = change(
                    Some(&row.state),
                    Some(&old),
                    Some(&new),
                    None,
                    SERVER_CLIENT_ID,
                    1_700_000_000_000.0,
                    limits,
                )
                .map_err(|e| e.to_string())?;
                out.state.len()
            }
            "diff" => diff(&row.diff_state, &row.diff_sv)
                .map_err(|e| e.to_string())?
                .len(),
            "merge" => {
                let updates: Vec<&[u8]> = row.merge.iter().map(Vec::as_slice).collect();
                merge(&updates, UpdateFormat::V2)
                    .map_err(|e| e.to_string())?
                    .len()
            }
            other => return Err(format!("unknown op {other}")),
        };
        black_box(bytes);
    }
    Ok(start.elapsed().as_secs_f64() * 1000.0)
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("native_bench: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<(), String> {
    let path = std::env::args().nth(1).ok_or(
        "usage: native_bench <dataset.bin> (write one with bench/engine-bench.mjs --dataset-only)",
    )?;
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(5);
    let rows = read_dataset(&path)?;
    let limits = Limits::default();
    eprintln!("native: {} rows, {rounds} rounds", rows.len());

    let mut parts = Vec::new();
    let only = std::env::var("BENCH_OPS").unwrap_or_default();
    for op in ["ingest", "change", "diff", "merge"] {
        if !only.is_empty() && !only.split(',').any(|o| o == op) {
            continue;
        }
        // Warm-up pass (caches, allocator).
        run(op, &rows[..rows.len().min(2000)], &limits)?;
        let mut times = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let ms = run(op, &rows, &limits)?;
            eprintln!("native: {op:<6} round {}/{rounds}: {ms:.1} ms", round + 1);
            times.push(ms);
        }
        let list: Vec<String> = times.iter().map(|t| format!("{t:.3}")).collect();
        parts.push(format!(
            "\"{op}\": {{\"median_ms\": {:.3}, \"rounds_ms\": [{}]}}",
            median(&times),
            list.join(", ")
        ));
    }
    println!(
        "{{\"rows\": {}, \"rounds\": {rounds}, \"profile\": \"release\", \"ops\": {{{}}}}}",
        rows.len(),
        parts.join(", ")
    );
    Ok(())
}
