#!/usr/bin/env bash
# Bounded fuzz runs, part of `make test`: the ingest decoder and row layout check
# (fuzz/fuzz_targets/ingest.rs, with a structure-aware mode that builds updates with yrs), then
# the engine's JSON reader against serde_json (fuzz/fuzz_targets/json.rs, with the tokens in
# fuzz/json.dict; FUZZ_JSON_RUNS inputs, default 200,000: about 15 seconds).
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
# Crashes and leaks fail the command and leave the reproducer under fuzz/artifacts/<target>/.
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
json_runs="${FUZZ_JSON_RUNS:-200000}"

# One bounded run of a target: prints the run's stats, fails with the log's tail on a crash.
run_target() {
  local target="$1" runs="$2"
  shift 2
  mkdir -p "fuzz/corpus/$target"
  local log status=0
  log="$(mktemp)"
  cargo fuzz run "$target" --fuzz-dir fuzz -- \
    -seed="$seed" -runs="$runs" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 "$@" >"$log" 2>&1 || status=$?
  grep -E "^INFO: Seed:|^stat::(number_of_executed_units|peak_rss_mb)|ERROR|panicked|SUMMARY" "$log" || true
  echo "corpus: $(find "fuzz/corpus/$target" -type f | wc -l) inputs in fuzz/corpus/$target"
  if [[ $status -ne 0 ]]; then
    tail -n 40 "$log"
    echo "fuzz smoke FAILED on $target (exit $status); reproducers in fuzz/artifacts/$target/"
    exit "$status"
  fi
  rm -f "$log"
  echo "fuzz smoke: $target: no crash or leak (seed ${seed}, runs ${runs}, cap ${seconds}s)"
}

# -max_len keeps inputs small enough that yrs' recursive value decoder cannot exhaust the
# native stack even before the engine's pre-scan; the pre-scan has its own bomb tests.
run_target ingest "$runs" -max_len=4096
run_target json "$json_runs" -max_len=512 -dict=fuzz/json.dict
