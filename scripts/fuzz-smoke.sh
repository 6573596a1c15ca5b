#!/usr/bin/env bash
# Bounded fuzz run of the ingest decoder and row layout check (fuzz/fuzz_targets/ingest.rs, with
# a structure-aware mode that builds updates with yrs), part of `make test`.
#
# cargo-fuzz drives libFuzzer with sanitizer instrumentation, which needs rustc's -Z flags;
# RUSTC_BOOTSTRAP=1 enables them on the stable toolchain this project pins.
#
# In the test command the run is a deterministic gate: a fixed seed (FUZZ_SEED, default 1) and a
# fixed number of inputs (FUZZ_RUNS, default 100,000: about 3-4 minutes on the 2-core CI machine
# from an empty corpus, since every input runs through both engines, the row CRDT and the yrs
# engine, and their outputs are compared; the structure-aware mode builds real Yjs updates per
# input) from the corpus in fuzz/corpus/ingest (empty on a fresh clone), so the same commit
# explores the same inputs on every machine. FUZZ_SECONDS (default 300) caps the time. For a
# bug-hunting campaign vary the seed and lift the caps, e.g. FUZZ_SEED=0 (random) FUZZ_RUNS=-1
# FUZZ_SECONDS=1800.
# Crashes and leaks fail the command and leave the reproducer under fuzz/artifacts/ingest/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (once)"
  cargo install cargo-fuzz --quiet
fi

export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-300}"
seed="${FUZZ_SEED:-1}"
runs="${FUZZ_RUNS:-100000}"
mkdir -p fuzz/corpus/ingest
# -max_len keeps inputs small enough that yrs' recursive value decoder cannot exhaust the
# native stack even before the engine's pre-scan; the pre-scan has its own bomb tests.
log="$(mktemp)"
status=0
cargo fuzz run ingest --fuzz-dir fuzz -- \
  -seed="$seed" -runs="$runs" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 >"$log" 2>&1 || status=$?
grep -E "^INFO: Seed:|^stat::(number_of_executed_units|peak_rss_mb)|ERROR|panicked|SUMMARY" "$log" || true
echo "corpus: $(find fuzz/corpus/ingest -type f | wc -l) inputs in fuzz/corpus/ingest"
if [[ $status -ne 0 ]]; then
  tail -n 40 "$log"
  echo "fuzz smoke FAILED (exit $status); reproducers in fuzz/artifacts/ingest/"
  exit "$status"
fi
rm -f "$log"
echo "fuzz smoke: no crash or leak (seed ${seed}, runs ${runs}, cap ${seconds}s)"
