#!/usr/bin/env bash
# Bounded fuzz run of the ingest decoder (fuzz/fuzz_targets/ingest.rs), part of `make test`.
#
# cargo-fuzz drives libFuzzer with sanitizer instrumentation, which needs rustc's -Z flags;
# RUSTC_BOOTSTRAP=1 enables them on the stable toolchain this project pins.
# FUZZ_SECONDS (default 60) bounds the run; crashes fail the test command and leave the
# reproducer under fuzz/artifacts/ingest/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (once)"
  cargo install cargo-fuzz --quiet
fi

export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-60}"
mkdir -p fuzz/corpus/ingest
# -max_len keeps inputs small enough that yrs' recursive value decoder cannot exhaust the
# native stack even before the engine's pre-scan; the pre-scan has its own bomb tests.
log="$(mktemp)"
status=0
cargo fuzz run ingest --fuzz-dir fuzz -- \
  -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 >"$log" 2>&1 || status=$?
grep -E "^stat::(number_of_executed_units|peak_rss_mb)|ERROR|panicked|SUMMARY" "$log" || true
if [[ $status -ne 0 ]]; then
  tail -n 40 "$log"
  echo "fuzz smoke FAILED (exit $status); reproducers in fuzz/artifacts/ingest/"
  exit "$status"
fi
rm -f "$log"
echo "fuzz smoke: no crash in ${seconds}s"
