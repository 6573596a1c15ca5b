#!/usr/bin/env bash
# The engine benchmark (not a test): wasm engine vs yjs JS in the same V8 process, native
# dink-core as the limit. Writes bench/results/engine.json and bench/results/engine.md.
#
#   1. node bench/engine-bench.mjs --dataset-only   the shared dataset (10,000 rows, seeded)
#   2. native_bench (cargo --release example)       the same operations natively -> JSON
#   3. node bench/engine-bench.mjs                  wasm vs yjs, cold start, sizes, memory; merges 2.
#
# Env: BENCH_ROWS, BENCH_ROUNDS, BENCH_SEED, BENCH_COLD_SAMPLES, BENCH_MEMORY_INGESTS
#      (see bench/engine-bench.mjs). Needs the built package (`make build`); builds it if absent.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

TMP="bench/results/tmp"
DATASET="$TMP/dataset.bin"
NATIVE="$TMP/native.json"
mkdir -p "$TMP"

if [[ ! -f npm/dist/engine/index.js ]]; then
  echo "bench: npm/dist/engine is missing, running make build"
  make --no-print-directory build
fi

echo "bench: [1/3] dataset"
node bench/engine-bench.mjs --dataset-only "$DATASET"

echo "bench: [2/3] native dink-core (cargo build --release --example native_bench)"
cargo build --quiet --release -p dink-core --example native_bench
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
"$TARGET_DIR/release/examples/native_bench" "$DATASET" >"$NATIVE"

echo "bench: [3/3] wasm engine vs yjs"
node --expose-gc bench/engine-bench.mjs --dataset "$DATASET" --native "$NATIVE"

echo "bench: [4/4] Convex side in convex-test (local sandbox)"; node bench/convex-bench.mjs  # -> bench/results/convex.{json,md}
echo "bench: [5/5] edge RPC through dink-gateway vs direct NATS, auth-callout connects"; node bench/gateway-bench.mjs  # -> bench/results/gateway.{json,md}
echo "bench: [6/6] the whole sync loop, edge <-> Convex, with 1, 10 and 100 edges"; node bench/sync-bench.mjs  # -> bench/results/sync.{json,md}
echo "bench: results in bench/results/{engine,convex,gateway,sync}.{md,json}"
